/** Billing routes on a real relay (in-process app, real sessions): plans, revenue shares, statements, CSV and PDF. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { asUser, errorOf, testRelay, userInit, type TestRelay } from "../_testing.ts";
import { billingFixture, DEC_2, type BillingFixture } from "./_fixture.ts";
import { statementPdf } from "./pdf.ts";
import { getStatement } from "./statements.ts";

async function setup(): Promise<{ relay: TestRelay; f: BillingFixture }> {
  const relay = await testRelay();
  const f = await billingFixture(relay);
  relay.clock.t = DEC_2;
  return { relay, f };
}

const auditActions = async (relay: TestRelay) => (await relay.db.execute("SELECT action, target FROM audit_log ORDER BY seq")).rows.map((r) => `${r["action"]} ${r["target"]}`);

test("a partner's billing user sets its clinic's plan (audited); another partner gets 404, the clinic itself 403", async () => {
  const { relay, f } = await setup();
  try {
    const billing = await asUser(relay, "partner_billing", { partner_id: f.partnerId });
    const plan = { monthly_price_cents: 45000, included_devices: 12, extra_device_cents: 1200, starts_on: "2026-01-01", ends_on: null };
    const put = await relay.app.request(`/api/orgs/${f.orgs.alder}/plan`, userInit(billing, "PUT", plan));
    assert.is(put.status, 200, await put.clone().text());
    assert.is(((await put.json()) as { monthly_price_cents: number }).monthly_price_cents, 45000);
    assert.ok((await auditActions(relay)).includes(`billing.plan.update ${f.orgs.alder}`));
    const get = await relay.app.request(`/api/orgs/${f.orgs.alder}/plan`, userInit(await asUser(relay, "partner_admin", { partner_id: f.partnerId })));
    assert.is(((await get.json()) as { plan: { included_devices: number } }).plan.included_devices, 12);

    const stranger = await relay.app.request(`/api/orgs/${f.orgs.alder}/plan`, userInit(await asUser(relay, "partner_admin"), "PUT", plan));
    assert.is(stranger.status, 404);
    const client = await relay.app.request(`/api/orgs/${f.orgs.alder}/plan`, userInit(await asUser(relay, "client_owner", { org_id: f.orgs.alder })));
    assert.is(client.status, 403);
    // Nor do prices reach them through the audit log: billing entries are for those who may read billing.
    const logOf = async (role: "partner_tech" | "partner_admin" | "client_owner") => {
      const user = await asUser(relay, role, role === "client_owner" ? { org_id: f.orgs.alder } : { partner_id: f.partnerId });
      const res = await relay.app.request("/api/audit-log", userInit(user));
      return ((await res.json()) as { entries: { action: string }[] }).entries.map((e) => e.action);
    };
    assert.ok((await logOf("partner_admin")).includes("billing.plan.update"), "the partner's admin sees it");
    assert.not.ok((await logOf("partner_tech")).includes("billing.plan.update"), "the partner's technician does not");
    assert.not.ok((await logOf("client_owner")).includes("billing.plan.update"), "nor does the clinic");
  } finally {
    await relay.close();
  }
});

test("an invalid plan is refused naming the field, and nothing changes", async () => {
  const { relay, f } = await setup();
  try {
    const tech = await asUser(relay, "msp_tech");
    const res = await relay.app.request(`/api/orgs/${f.orgs.birch}/plan`, userInit(tech, "PUT", { monthly_price_cents: 100, included_devices: 1, extra_device_cents: 1, starts_on: "2026-11-11", ends_on: "2026-11-01" }));
    assert.is(res.status, 400);
    assert.match((await errorOf(res)).message, /ends_on/);
    const neg = await relay.app.request(`/api/orgs/${f.orgs.birch}/plan`, userInit(tech, "PUT", { monthly_price_cents: -1, included_devices: 1, extra_device_cents: 1, starts_on: "2026-11-11" }));
    assert.match((await errorOf(neg)).message, /monthly_price_cents/);
    const currency = await relay.app.request(`/api/orgs/${f.orgs.birch}/plan`, userInit(tech, "PUT", { currency: "XYZ", monthly_price_cents: 100, included_devices: 1, extra_device_cents: 1, starts_on: "2026-11-11" }));
    assert.is(currency.status, 400);
    assert.match((await errorOf(currency)).message, /currency.*not an ISO 4217 currency/);
    const plan = (await (await relay.app.request(`/api/orgs/${f.orgs.birch}/plan`, userInit(tech))).json()) as { plan: { monthly_price_cents: number; starts_on: string } };
    assert.equal([plan.plan.monthly_price_cents, plan.plan.starts_on], [30000, "2026-11-11"]);
  } finally {
    await relay.close();
  }
});

test("only the MSP admin sets a partner's revenue share; the partner can read it", async () => {
  const { relay, f } = await setup();
  try {
    const body = { tiers: [{ min_clinics: 1, share_percent: 22.5 }] };
    const own = await relay.app.request(`/api/partners/${f.partnerId}/revenue-share`, userInit(await asUser(relay, "partner_admin", { partner_id: f.partnerId }), "PUT", body));
    assert.is(own.status, 403);
    const admin = await relay.app.request(`/api/partners/${f.partnerId}/revenue-share`, userInit(await asUser(relay, "msp_admin"), "PUT", body));
    assert.is(admin.status, 200);
    const read = await relay.app.request(`/api/partners/${f.partnerId}/revenue-share`, userInit(await asUser(relay, "partner_billing", { partner_id: f.partnerId })));
    assert.equal(((await read.json()) as { tiers: unknown }).tiers, [{ min_clinics: 1, share_percent: 22.5 }]);
    const bad = await relay.app.request(`/api/partners/${f.partnerId}/revenue-share`, userInit(await asUser(relay, "msp_admin"), "PUT", { tiers: [{ min_clinics: 3, share_percent: 10 }, { min_clinics: 2, share_percent: 20 }] }));
    assert.is(bad.status, 400);
    assert.match((await errorOf(bad)).message, /min_clinics must increase/);
  } finally {
    await relay.close();
  }
});

test("the MSP admin issues November's statement (audited, once); the partner lists it and downloads CSV and PDF", async () => {
  const { relay, f } = await setup();
  try {
    const tech = await relay.app.request(`/api/partners/${f.partnerId}/statements`, userInit(await asUser(relay, "msp_tech"), "POST", { month: "2026-11" }));
    assert.is(tech.status, 403);
    const admin = await asUser(relay, "msp_admin");
    const res = await relay.app.request(`/api/partners/${f.partnerId}/statements`, userInit(admin, "POST", { month: "2026-11" }));
    assert.is(res.status, 201, await res.clone().text());
    const s = (await res.json()) as { id: string; totals: { amount_cents: number; share_cents: number } };
    assert.equal(s.totals, { amount_cents: 103834, share_cents: 25959, msp_net_cents: 77875 });
    assert.ok((await auditActions(relay)).includes(`billing.statement.issue ${s.id}`));
    const again = await relay.app.request(`/api/partners/${f.partnerId}/statements`, userInit(admin, "POST", { month: "2026-11" }));
    assert.is(again.status, 409);
    assert.is((await errorOf(again)).code, "statement_exists");
    // Statements are permanent: a month in which no clinic had a plan (a typo) issues nothing.
    const typo = await relay.app.request(`/api/partners/${f.partnerId}/statements`, userInit(admin, "POST", { month: "1999-01" }));
    assert.is(typo.status, 422);
    assert.equal([(await errorOf(typo)).code, (await relay.db.execute({ sql: "SELECT COUNT(*) AS n FROM partner_statements WHERE month = '1999-01'" })).rows[0]!["n"]], ["statement_empty", 0]);
    const future = await relay.app.request(`/api/partners/${f.partnerId}/statements`, userInit(admin, "POST", { month: "2026-12" }));
    assert.is((await errorOf(future)).code, "month_not_ended");

    const billing = await asUser(relay, "partner_billing", { partner_id: f.partnerId });
    const list = (await (await relay.app.request(`/api/partners/${f.partnerId}/statements`, userInit(billing))).json()) as { statements: { id: string; month: string }[] };
    assert.equal(list.statements.map((x) => [x.id, x.month]), [[s.id, "2026-11"]]);
    const csv = await relay.app.request(`/api/statements/${s.id}/csv`, userInit(billing));
    assert.is(csv.status, 200);
    assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
    assert.ok((await csv.text()).includes(",total,,,,,,,,,,,,,1038.34,25.00%,259.59,"));
    const pdf = await relay.app.request(`/api/statements/${s.id}/pdf`, userInit(billing));
    assert.is(pdf.headers.get("content-type"), "application/pdf");
    const bytes = new Uint8Array(await pdf.arrayBuffer());
    assert.equal(Buffer.from(bytes).toString("hex"), Buffer.from(await statementPdf((await getStatement(relay.db, s.id))!)).toString("hex"));

    const other = await asUser(relay, "partner_billing");
    assert.is((await relay.app.request(`/api/statements/${s.id}/csv`, userInit(other))).status, 404, "another partner cannot see it");
    assert.is((await relay.app.request(`/api/partners/${f.partnerId}/statements`, userInit(other))).status, 404);
    assert.is((await relay.app.request(`/api/statements/${s.id}`, userInit(await asUser(relay, "client_owner", { org_id: f.orgs.alder })))).status, 403);
  } finally {
    await relay.close();
  }
});

test("a correction is added by the MSP admin only, and shows in the statement's totals", async () => {
  const { relay, f } = await setup();
  try {
    const admin = await asUser(relay, "msp_admin");
    const s = (await (await relay.app.request(`/api/partners/${f.partnerId}/statements`, userInit(admin, "POST", { month: "2026-11" }))).json()) as { id: string };
    const body = { org_id: f.orgs.birch, description: "Setup fee waived", amount_cents: -5000, share_cents: 0 };
    assert.is((await relay.app.request(`/api/statements/${s.id}/corrections`, userInit(await asUser(relay, "partner_admin", { partner_id: f.partnerId }), "POST", body))).status, 403);
    const res = await relay.app.request(`/api/statements/${s.id}/corrections`, userInit(admin, "POST", body));
    assert.is(res.status, 201);
    // 103834 − 5000 = 98834; the share is unchanged (share_cents 0): 25959.
    assert.equal(((await res.json()) as { totals: unknown }).totals, { amount_cents: 98834, share_cents: 25959, msp_net_cents: 72875 });
    assert.ok((await auditActions(relay)).includes(`billing.statement.correct ${s.id}`));
  } finally {
    await relay.close();
  }
});

test.run();
