import { test } from "uvu";
import * as assert from "uvu/assert";
import { sha256Hex } from "../../protocol/hash.ts";
import { verifyKit } from "../../protocol/kit.ts";
import { readKitZip } from "../../protocol/kit-files.ts";
import { listAudit } from "../auth/audit.ts";
import { createOrganisation, createSite } from "../tenants/tenants.ts";
import { asUser, errorOf, random, userInit } from "../_testing.ts";
import { SEPTEMBER, septemberRelay } from "./_month-fixture.ts";

const { relay } = await septemberRelay();
relay.clock.t = Date.UTC(2026, 9, 3, 9);
const app = relay.app;
const tech = await asUser(relay, "msp_tech");
const viewer = await asUser(relay, "client_viewer");
const other = await asUser(relay, "client_owner", { org_id: (await createOrganisation(relay.db, { msp_id: relay.mspId, name: "Other Clinic" }, { clock: relay.clock, random })).id });
const partner = await asUser(relay, "partner_admin");
const site = relay.siteId;
let packetId = "";

test("POST /api/sites/:site_id/packets generates the month's packet (201), then returns the stored one (200), audited", async () => {
  const res = await app.request(`/api/sites/${site}/packets`, userInit(tech, "POST", { month: SEPTEMBER.month }));
  assert.is(res.status, 201, await res.clone().text());
  const body = (await res.json()) as { id: string; framework: string; sha256: string; pdf_url: string; kit_url: string; summary: { overall: number } };
  assert.equal([body.framework, body.summary.overall, body.pdf_url, body.kit_url], ["hipaa", 74, `/api/packets/${body.id}/pdf`, `/api/packets/${body.id}/kit`]);
  packetId = body.id;
  const again = await app.request(`/api/sites/${site}/packets`, userInit(tech, "POST", { month: SEPTEMBER.month, framework: "hipaa" }));
  assert.is(again.status, 200);
  assert.is(((await again.json()) as { id: string }).id, packetId);
  const entries = (await listAudit(relay.db, tech.principal, { site_id: site })).filter((e) => e.action === "packet.generate");
  assert.equal(entries.map((e) => [e.target, e.details["created"]]), [[packetId, false], [packetId, true]]);
});

test("POST refuses a month that has not ended (409), a malformed body (400), and clinic users (403)", async () => {
  const open = await app.request(`/api/sites/${site}/packets`, userInit(tech, "POST", { month: "2026-10" }));
  assert.is(open.status, 409);
  assert.is((await errorOf(open)).code, "month_open");
  const bad = await app.request(`/api/sites/${site}/packets`, userInit(tech, "POST", { month: "September", framework: "pci" }));
  assert.is(bad.status, 400);
  assert.match((await errorOf(bad)).message, /month/);
  const client = await app.request(`/api/sites/${site}/packets`, userInit(viewer, "POST", { month: SEPTEMBER.month }));
  assert.is(client.status, 403);
});

test("POST refuses a future month (409) and a month before the site existed (400, naming its first month), storing nothing", async () => {
  const future = await app.request(`/api/sites/${site}/packets`, userInit(tech, "POST", { month: "2027-02" }));
  assert.is(future.status, 409);
  assert.match((await errorOf(future)).message, /^month 2027-02 is in the future: a packet covers a month that has ended \(the latest is 2026-09\)$/);
  const early = await app.request(`/api/sites/${site}/packets`, userInit(tech, "POST", { month: "2025-01" }));
  assert.is(early.status, 400, await early.clone().text());
  const e = await errorOf(early);
  assert.is(e.code, "bad_request");
  assert.is(e.message, `month 2025-01 is before site ${site} existed: its first month is 2026-08, so packets cover 2026-08 to 2026-09`);
  const list = await app.request(`/api/sites/${site}/packets`, userInit(tech));
  assert.equal(((await list.json()) as { packets: { month: string }[] }).packets.map((p) => p.month), [SEPTEMBER.month]);

  // A site created this month has no month that can have a packet yet: the answer says when its first can.
  const org = await createOrganisation(relay.db, { msp_id: relay.mspId, name: "New Clinic" }, { clock: relay.clock, random });
  const fresh = await createSite(relay.db, { org_id: org.id, name: "New Clinic" }, { clock: relay.clock, random });
  const none = await app.request(`/api/sites/${fresh.id}/packets`, userInit(tech, "POST", { month: "2026-09" }));
  assert.is(none.status, 400);
  assert.is((await errorOf(none)).message, `month 2026-09 is before site ${fresh.id} existed: its first month is 2026-10, no month has ended since, so its first packet can be made once 2026-10 has ended`);
  // Asking for its own (open) month offers no month from before it existed.
  const current = await app.request(`/api/sites/${fresh.id}/packets`, userInit(tech, "POST", { month: "2026-10" }));
  assert.is(current.status, 409);
  assert.match((await errorOf(current)).message, /^month 2026-10 has not ended yet .*: a packet covers a closed month \(no month has ended since the site was created: its first packet, for 2026-10, can be made once that month has ended\)$/);
});

test("the clinic's users list packets and download the PDF and the kit, whose SHA-256 match what the list says", async () => {
  const list = await app.request(`/api/sites/${site}/packets`, userInit(viewer));
  assert.is(list.status, 200);
  const [p] = ((await list.json()) as { packets: { id: string; sha256: string; kit_sha256: string }[] }).packets;
  assert.is(p?.id, packetId);
  const pdf = await app.request(`/api/packets/${packetId}/pdf`, userInit(viewer));
  assert.is(pdf.status, 200);
  assert.is(pdf.headers.get("content-type"), "application/pdf");
  assert.match(pdf.headers.get("content-disposition") ?? "", /attachment; filename="osiriscare-hipaa-site_.*-2026-09\.pdf"/);
  const bytes = new Uint8Array(await pdf.arrayBuffer());
  assert.is(sha256Hex(bytes), p!.sha256);
  assert.is(pdf.headers.get("x-content-sha256"), p!.sha256);

  const kit = await app.request(`/api/packets/${packetId}/kit`, userInit(viewer));
  assert.is(kit.status, 200);
  assert.is(kit.headers.get("content-type"), "application/zip");
  const zip = new Uint8Array(await kit.arrayBuffer());
  assert.is(sha256Hex(zip), p!.kit_sha256);
  const report = await verifyKit(readKitZip(zip));
  assert.ok(report.ok, JSON.stringify(report));
});

test("another clinic's users and another partner's staff get 404 for this site's packets; no login is 401", async () => {
  for (const user of [other, partner]) {
    assert.is((await app.request(`/api/sites/${site}/packets`, userInit(user))).status, 404);
    assert.is((await app.request(`/api/packets/${packetId}/pdf`, userInit(user))).status, 404);
    assert.is((await app.request(`/api/packets/${packetId}/kit`, userInit(user))).status, 404);
  }
  assert.is((await app.request(`/api/packets/pkt_doesnotexist0000/pdf`, userInit(tech))).status, 404);
  assert.is((await app.request(`/api/packets/${packetId}/pdf`)).status, 401);
});

test.after(() => relay.close());
test.run();
