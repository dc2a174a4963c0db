/**
 * The MCP endpoint end to end: a real relay on loopback (testRelay's app behind the Node adapter, real
 * libSQL file), simulated appliances pushing signed evidence, incidents and healing attempts over HTTP, two MSPs,
 * and the SDK's own Client + StreamableHTTPClientTransport authenticating with MSP API keys made through the
 * dashboard's route, the way a technician's assistant would.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSigner } from "../../protocol/crypto.ts";
import { buildBundle, signBundle } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { parsePullResponse } from "../../protocol/sync.ts";
import { asUser, count, enrolledAppliance, errorOf, overHttp, random, T0, testRelay, userInit, type TestAppliance, type TestRelay, type TestUser } from "../_testing.ts";
import { createApiKey } from "../auth/api-keys.ts";
import { openEscalation } from "../escalations/index.ts";
import { resultsFromBundleLines, scoreSite } from "../scores/mod.ts";
import { startServer, type RunningServer } from "../serve/node.ts";
import { attempt, incident, pushCycles, pushEntries } from "../sites/_fixtures.ts";
import { createMsp, createOrganisation, createSite } from "../tenants/tenants.ts";
import { runbookCatalogue } from "./catalogue-tool.ts";
import { MAX_OPEN_PROPOSALS } from "./approval-request.ts";
import type { ProposalResult } from "./propose-tools.ts";
import { evidenceStatus, listSites, siteCheckResults, siteIncidents } from "./read-tools.ts";
import { MCP_PATH } from "./routes.ts";

const HOUR = 3_600_000;
const READ_TOOLS = ["evidence_status", "list_sites", "runbook_catalogue", "site_check_results", "site_incidents"];
const PROPOSE_TOOLS = ["propose_order", "propose_runbook"];

interface World {
  relay: TestRelay;
  server: RunningServer;
  /** MSP A's clinic (relay.siteId) with appliance `a` and data; a second site of MSP A without any data. */
  a: TestAppliance;
  emptySite: string;
  /** MSP B's site with appliance `b`. */
  siteB: string;
  b: TestAppliance;
  adminA: TestUser;
  adminB: TestUser;
  keyA: { id: string; key: string };
  keyB: { id: string; key: string };
  close(): Promise<void>;
}

async function createKeyOverHttp(server: RunningServer, admin: TestUser, name: string): Promise<{ id: string; key: string }> {
  const res = await fetch(new URL("/api/api-keys", server.url), userInit(admin, "POST", { name, scope: "assistant" }));
  assert.is(res.status, 201, `POST /api/api-keys: ${res.status}`);
  return (await res.json()) as { id: string; key: string };
}

async function world(): Promise<World> {
  const relay = await testRelay();
  const server = await startServer({ app: relay.app, host: "127.0.0.1", port: 0 });
  const http = overHttp(server.url);
  const env = { clock: relay.clock, random };

  // MSP A: check cycles of two hosts, an incident with a failed L1 attempt, an escalation, a checkpoint…
  const a = await enrolledAppliance(relay, http);
  await pushCycles(a, [
    { host: "srv-a", at: T0 - 2 * HOUR, results: [{ check: "linux.failed_services", status: "fail", actual: ["nginx.service"] }, { check: "linux.firewall_active", status: "pass" }] },
    { host: "ws-1", at: T0 - HOUR, results: [{ check: "windows.bitlocker", status: "pass" }] },
  ]);
  const inc = incident({ check: "linux.failed_services", host_id: "srv-a", at: T0 - 2 * HOUR });
  await pushEntries(a, [
    { type: "incident", body: inc },
    { type: "healing_attempt", body: attempt({ check: "linux.failed_services", host_id: "srv-a", at: T0 - 90 * 60_000, incident_id: inc.incident_id, runbook: "linux.restart_failed_units", outcome: "failed", detail: "nginx.service failed again after restart" }) },
  ]);
  // An L3 ticket, opened the way the relay's escalation module opens one (appliance escalation entries are
  // not yet routed into it by ingest/push.ts).
  await relay.db.transaction((tx) =>
    openEscalation(tx, { site_id: relay.siteId, source: "appliance", source_key: `${a.id}|esc_1`, appliance_id: a.id, incident_id: inc.incident_id, host_id: "srv-a", check: "linux.failed_services", severity: "high", reason: "nginx keeps failing after restart", attempts: 1, reported_at: isoTime(T0 - HOUR) }, env),
  );
  // … and last, a bundle signed with a key that is not the appliance's: an integrity incident (bad_signature).
  const t = isoTime(T0 - 30 * 60_000);
  const forged = await signBundle(
    buildBundle({ appliance_id: a.id, site_id: a.siteId, seq: a.chain.length + 1, prev_hash: a.chain.at(-1)!.hash, kind: "system", outcome: "success", timestamps: { started_at: t, finished_at: t }, policy_version: "2026.11.0" }),
    createSigner(random(32)),
  );
  const bad = await a.push([{ outbox_seq: a.outboxSeq + 1, type: "evidence", body: forged.line }]);
  assert.is(bad.status, 422, "the forged bundle is refused");
  const emptySite = (await createSite(relay.db, { org_id: relay.orgId, name: "Annex", timezone: "UTC" }, env)).id;

  // MSP B: its own clinic and appliance.
  const mspB = await createMsp(relay.db, { name: "Other MSP" }, env);
  const orgB = await createOrganisation(relay.db, { msp_id: mspB.id, name: "Elm Clinic" }, env);
  const siteB = (await createSite(relay.db, { org_id: orgB.id, name: "Elm Street", timezone: "UTC" }, env)).id;
  const b = await enrolledAppliance(relay, http, siteB);
  await pushCycles(b, [{ host: "srv-b", at: T0 - HOUR, results: [{ check: "linux.firewall_active", status: "fail" }] }]);

  const adminA = await asUser(relay, "msp_admin");
  const adminB = await asUser(relay, "msp_admin", { msp_id: mspB.id });
  const keyA = await createKeyOverHttp(server, adminA, "A's assistant");
  const keyB = await createKeyOverHttp(server, adminB, "B's assistant");
  return {
    relay,
    server,
    a,
    emptySite,
    siteB,
    b,
    adminA,
    adminB,
    keyA,
    keyB,
    close: async () => {
      await server.close();
      await relay.close();
    },
  };
}

async function connect(w: World, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: "test-assistant", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(MCP_PATH, w.server.url), { requestInit: { headers } }));
  return client;
}

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** What each tool answers: the JSON of the plain functions behind it. */
interface ToolOutputs {
  list_sites: Awaited<ReturnType<typeof listSites>>;
  site_check_results: Awaited<ReturnType<typeof siteCheckResults>>;
  site_incidents: Awaited<ReturnType<typeof siteIncidents>>;
  evidence_status: Awaited<ReturnType<typeof evidenceStatus>>;
  runbook_catalogue: ReturnType<typeof runbookCatalogue>;
  propose_runbook: ProposalResult;
  propose_order: ProposalResult;
}
type ToolName = keyof ToolOutputs;

/** Calls a tool; the text of its answer and whether it is a tool error. */
async function call(client: Client, name: ToolName, args: Record<string, unknown> = {}): Promise<{ isError: boolean; text: string }> {
  const r = await client.callTool({ name, arguments: args });
  const content = r.content as { type: string; text: string }[];
  assert.is(content.length, 1);
  assert.is(content[0]!.type, "text");
  return { isError: r.isError === true, text: content[0]!.text };
}

/** Calls a tool that must succeed; its JSON answer. */
async function ok<N extends ToolName>(client: Client, name: N, args: Record<string, unknown> = {}): Promise<ToolOutputs[N]> {
  const r = await call(client, name, args);
  assert.not.ok(r.isError, `${name}: ${r.text}`);
  return JSON.parse(r.text) as ToolOutputs[N];
}

async function rejectsWith(p: Promise<unknown>, status: number): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof StreamableHTTPError && e.code === status, `expected HTTP ${status}, got ${String(e)}`);
    return;
  }
  assert.unreachable(`expected HTTP ${status}`);
}

test("an MSP technician's assistant lists the tools and reads sites, check results, incidents, evidence and the catalogue", async () => {
  const w = await world();
  try {
    const client = await connect(w, bearer(w.keyA.key));
    const { tools } = await client.listTools();
    assert.equal(tools.map((t) => t.name).sort(), [...PROPOSE_TOOLS, ...READ_TOOLS].sort());
    for (const t of tools) assert.is(t.annotations?.readOnlyHint, READ_TOOLS.includes(t.name), `${t.name} readOnlyHint`);
    const propose = tools.find((t) => t.name === "propose_runbook")!;
    assert.equal([...(propose.inputSchema.required ?? [])].sort(), ["host_id", "reason", "runbook_id", "site_id"]);

    // list_sites: both of MSP A's sites, the empty one with "no data" (never 100), none of MSP B's.
    const sites = (await ok(client, "list_sites")).sites;
    assert.equal(sites.map((s) => s.id).sort(), [w.relay.siteId, w.emptySite].sort());
    const main = sites.find((s) => s.id === w.relay.siteId)!;
    assert.is(main.name, "Main Street");
    assert.is(main.org, "Test Clinic");
    assert.is(main.open_incidents, 1);
    assert.is(main.integrity_incidents, 1);
    assert.ok(main.last_sync !== null && main.last_sync.startsWith("2026-11-27"), `last sync ${main.last_sync}`);
    assert.is(sites.find((s) => s.id === w.emptySite)!.score, "no data");

    // The score is THE scoring function over the stored evidence, not a second one.
    const lines = (await w.relay.db.execute({ sql: "SELECT line FROM evidence WHERE appliance_id = ? ORDER BY seq", args: [w.a.id] })).rows.map((r) => String(r["line"]));
    const expected = scoreSite(resultsFromBundleLines(lines), { now: new Date(T0) }).overall!;
    assert.type(main.score, "number");
    assert.is(main.score, Math.round(expected * 10) / 10);
    assert.ok((main.score as number) > 0 && (main.score as number) < 100, `score ${main.score}`);

    // site_check_results: the latest result per check and host, with the actual value.
    const results = await ok(client, "site_check_results", { site_id: w.relay.siteId });
    assert.is(results.score, main.score);
    const srv = results.hosts.find((h) => h.host_id === "srv-a")!;
    assert.equal(
      srv.results.map((r) => [r.check, r.status]),
      [["linux.failed_services", "fail"], ["linux.firewall_active", "pass"]],
    );
    assert.is(srv.results[0]!.actual, JSON.stringify(["nginx.service"]));
    assert.ok(results.hosts.some((h) => h.host_id === "ws-1"));
    const failing = await ok(client, "site_check_results", { site_id: w.relay.siteId, only_failing: true });
    assert.equal(failing.hosts.map((h) => [h.host_id, h.results.map((r) => r.check)]), [["srv-a", ["linux.failed_services"]]]);

    // site_incidents: the incident with its L1 attempt, the integrity incident, the escalation ticket.
    const incidents = await ok(client, "site_incidents", { site_id: w.relay.siteId });
    const first = incidents.incidents[0]!;
    assert.is(incidents.incidents.length, 1);
    assert.is(first.check, "linux.failed_services");
    assert.is(first.tier, "L1");
    assert.is(first.last_outcome, "failed");
    assert.is(first.attempts[0]!.runbook, "linux.restart_failed_units");
    assert.equal(incidents.integrity_incidents.map((i) => [i.kind, i.appliance_id]), [["bad_signature", w.a.id]]);
    assert.is(incidents.escalations.length, 1);
    assert.is(incidents.escalations[0]!.reason, "nginx keeps failing after restart");

    // evidence_status: the verified chain (not the forged bundle), the countersigned checkpoint, the incident.
    const evidence = await ok(client, "evidence_status", { site_id: w.relay.siteId });
    assert.is(evidence.appliances.length, 1);
    const ap = evidence.appliances[0]!;
    assert.is(ap.appliance_id, w.a.id);
    assert.is(ap.verified_size, w.a.chain.length);
    assert.is(ap.last_countersigned_checkpoint?.size, w.a.chain.length);
    assert.is(ap.not_yet_checkpointed, 0);
    assert.equal(ap.integrity_incidents.map((i) => [i.kind, i.code]), [["bad_signature", "unknown_key"]]);

    // runbook_catalogue: the fix for the failing check, with its parameter schema, and the order types.
    const cat = await ok(client, "runbook_catalogue", { check_id: "linux.failed_services" });
    assert.equal(cat.runbooks.map((r) => r.id), ["linux.restart_failed_units"]);
    // Parameter schemas are JSON Schema (2020-12), not the catalogue's own format (min/max).
    const maxUnits = cat.runbooks[0]!.params_schema as { $schema: string; properties: Record<string, unknown>; additionalProperties: boolean };
    assert.is(maxUnits.$schema, "https://json-schema.org/draft/2020-12/schema");
    assert.equal(maxUnits.properties["max_units"], { type: "integer", description: "most units restarted in one attempt", minimum: 1, maximum: 20, default: 5 });
    assert.is(maxUnits.additionalProperties, false);
    assert.equal(cat.order_types.find((o) => o.type === "run_runbook")!.params_schema["required"], ["runbook", "host_id"]);
    assert.is(cat.order_types.find((o) => o.type === "force_scan")!.propose_with, "propose_order");
    assert.is(cat.order_types.find((o) => o.type === "run_runbook")!.propose_with, "propose_runbook");
    const unknown = await call(client, "runbook_catalogue", { check_id: "linux.no_such_check" });
    assert.ok(unknown.isError && unknown.text.startsWith("not_found:"), unknown.text);
    await client.close();
  } finally {
    await w.close();
  }
});

test("propose_runbook and propose_order only file pending approval requests: no order is issued until a person approves it in the dashboard", async () => {
  const w = await world();
  try {
    const client = await connect(w, bearer(w.keyA.key));
    const orders = await count(w.relay.db, "orders");
    const audits = await count(w.relay.db, "audit_log", "action = 'approval.propose'");

    const proposed = await ok(client, "propose_runbook", { site_id: w.relay.siteId, host_id: "srv-a", runbook_id: "linux.restart_failed_units", params: { max_units: 3 }, reason: "nginx.service is down on srv-a; restart failed units" });
    assert.is(proposed.state, "pending");
    assert.is(proposed.appliance_id, w.a.id);
    assert.is(proposed.needs_msp_admin, true);
    const scan = await ok(client, "propose_order", { site_id: w.relay.siteId, order_type: "force_scan", params: { host_id: "srv-a" }, reason: "re-check srv-a after the restart" });

    // The dashboard's approvals queue shows both, pending, proposed by the assistant's key through MCP.
    const queue = await fetch(new URL(`/api/sites/${w.relay.siteId}/approvals?state=pending`, w.server.url), userInit(w.adminA));
    const approvals = ((await queue.json()) as { approvals: { id: string; order_type: string; source: string; requested_by: string; state: string; params: Record<string, unknown>; reason: string }[] }).approvals;
    const run = approvals.find((x) => x.id === proposed.approval_id)!;
    assert.is(run.order_type, "run_runbook");
    assert.is(run.source, `mcp:${w.keyA.id}`);
    assert.is(run.requested_by, "AI assistant “A's assistant” (API key)");
    assert.equal(run.params, { runbook: "linux.restart_failed_units", host_id: "srv-a", runbook_params: { max_units: 3 }, dry_run: false, ignore_window: false });
    assert.is(run.reason, "nginx.service is down on srv-a; restart failed units");
    assert.is(approvals.find((x) => x.id === scan.approval_id)!.order_type, "force_scan");

    // Nothing was signed: the orders table is unchanged and the appliance pulls no order.
    assert.is(await count(w.relay.db, "orders"), orders, "no order issued by a proposal");
    const pull = parsePullResponse(await (await w.a.request("GET", "/api/sync/pull")).json());
    assert.is(pull.orders.length, 0);
    // Each proposal is audited, naming the API key that made it.
    assert.is(await count(w.relay.db, "audit_log", "action = 'approval.propose'"), audits + 2);
    assert.is(await count(w.relay.db, "audit_log", "action = 'approval.propose' AND actor_id = ? AND target = ?", [w.keyA.id, proposed.approval_id]), 1);

    // Refused proposals name what was wrong and file nothing.
    const pending = await count(w.relay.db, "approval_requests");
    const tooMany = await call(client, "propose_runbook", { site_id: w.relay.siteId, host_id: "srv-a", runbook_id: "linux.restart_failed_units", params: { max_units: 99 }, reason: "restart everything" });
    assert.ok(tooMany.isError && tooMany.text.startsWith("schema:") && tooMany.text.includes("max_units") && tooMany.text.includes("99"), tooMany.text);
    const wrongPlatform = await call(client, "propose_runbook", { site_id: w.relay.siteId, host_id: "srv-a", runbook_id: "windows.enable_firewall_profiles", reason: "firewall" });
    assert.ok(wrongPlatform.isError && wrongPlatform.text.includes("windows runbook"), wrongPlatform.text);
    const noHost = await call(client, "propose_runbook", { site_id: w.relay.siteId, host_id: "srv-zz", runbook_id: "linux.restart_failed_units", reason: "restart" });
    assert.ok(noHost.isError && noHost.text.startsWith("not_found:"), noHost.text);
    const unknownRunbook = await call(client, "propose_runbook", { site_id: w.relay.siteId, host_id: "srv-a", runbook_id: "linux.format_disk", reason: "nope" });
    assert.ok(unknownRunbook.isError && unknownRunbook.text.includes("not a catalogue runbook"), unknownRunbook.text);
    const sneaky = await call(client, "propose_order", { site_id: w.relay.siteId, order_type: "run_runbook", params: { runbook: "linux.restart_failed_units", host_id: "srv-a" }, reason: "bypass" });
    assert.ok(sneaky.isError && sneaky.text.includes("propose_runbook"), sneaky.text);
    const noReason = await call(client, "propose_order", { site_id: w.relay.siteId, order_type: "force_scan", reason: "  " });
    assert.ok(noReason.isError, noReason.text);
    assert.is(await count(w.relay.db, "approval_requests"), pending, "refused proposals file nothing");

    // A person approves it in the dashboard: only now is an order signed, and the appliance gets it.
    const approve = await fetch(new URL(`/api/approvals/${proposed.approval_id}/approve`, w.server.url), userInit(w.adminA, "POST", {}));
    assert.is(approve.status, 200, await approve.clone().text());
    assert.is(await count(w.relay.db, "orders"), orders + 1);
    const after = parsePullResponse(await (await w.a.request("GET", "/api/sync/pull")).json());
    assert.is(after.orders.length, 1);
    await client.close();
  } finally {
    await w.close();
  }
});

test("an assistant that proposes the same thing again gets the pending request back, and one key may have at most MAX_OPEN_PROPOSALS pending", async () => {
  const w = await world();
  try {
    const client = await connect(w, bearer(w.keyA.key));
    const restart = (max_units: number, reason = "nginx.service is down") => ({ site_id: w.relay.siteId, host_id: "srv-a", runbook_id: "linux.restart_failed_units", params: { max_units }, reason });
    const first = await ok(client, "propose_runbook", restart(3));
    assert.is(first.duplicate, false);
    const audits = await count(w.relay.db, "audit_log", "action = 'approval.propose'");
    const filed = await count(w.relay.db, "approval_requests");

    // The same runbook, host, appliance and parameters (defaults spelt out or not), another reason: the same request.
    const again = await ok(client, "propose_runbook", { ...restart(3, "still down"), dry_run: false });
    assert.is(again.approval_id, first.approval_id);
    assert.is(again.duplicate, true);
    assert.match(again.next, "already pending");
    // From another key of the same MSP too: one pending request for one action.
    const otherKey = await createKeyOverHttp(w.server, w.adminA, "A's second assistant");
    const other = await connect(w, bearer(otherKey.key));
    assert.is((await ok(other, "propose_runbook", restart(3))).approval_id, first.approval_id);
    assert.is(await count(w.relay.db, "approval_requests"), filed, "duplicates file nothing");
    assert.is(await count(w.relay.db, "audit_log", "action = 'approval.propose'"), audits, "nor audit a proposal that was not made");
    // Other parameters are another proposal.
    const dry = await ok(client, "propose_runbook", { ...restart(3), dry_run: true });
    assert.is(dry.duplicate, false);
    assert.is.not(dry.approval_id, first.approval_id);

    // Up to the cap (two pending so far), then a clear refusal that files nothing; a duplicate is still answered.
    const more = Array.from({ length: 20 }, (_, i) => i + 1).filter((n) => n !== 3).slice(0, MAX_OPEN_PROPOSALS - 2);
    for (const n of more) assert.is((await ok(client, "propose_runbook", restart(n))).duplicate, false);
    assert.is(await count(w.relay.db, "approval_requests", "source = ? AND state = 'pending'", [`mcp:${w.keyA.id}`]), MAX_OPEN_PROPOSALS);
    const refused = await call(client, "propose_order", { site_id: w.relay.siteId, order_type: "force_scan", reason: "one more" });
    assert.ok(refused.isError, refused.text);
    assert.is(refused.text, `proposal_limit: This API key already has ${MAX_OPEN_PROPOSALS} pending proposals, the most it may have open: a person must approve or reject some (site → Approvals) before it proposes more`);
    assert.is((await ok(client, "propose_runbook", restart(3))).approval_id, first.approval_id);
    // The other key has its own allowance.
    assert.is((await ok(other, "propose_order", { site_id: w.relay.siteId, order_type: "force_scan", reason: "one more" })).duplicate, false);

    // A person rejects one: the key may propose again.
    const reject = await fetch(new URL(`/api/approvals/${dry.approval_id}/reject`, w.server.url), userInit(w.adminA, "POST", { note: "no dry runs" }));
    assert.is(reject.status, 200, await reject.clone().text());
    assert.is((await ok(client, "propose_order", { site_id: w.relay.siteId, order_type: "discovery_scan", params: { cidr: "192.168.1.0/24" }, reason: "after the reject" })).duplicate, false);
    await client.close();
    await other.close();
  } finally {
    await w.close();
  }
});

test("another MSP's key sees none of the first MSP's sites and gets not_found for its site id from every tool", async () => {
  const w = await world();
  try {
    const client = await connect(w, bearer(w.keyB.key));
    const listed = await call(client, "list_sites");
    assert.equal((JSON.parse(listed.text) as ToolOutputs["list_sites"]).sites.map((s) => s.id), [w.siteB]);
    for (const id of [w.relay.siteId, w.emptySite, w.a.id, w.relay.orgId]) assert.not.ok(listed.text.includes(id), `list_sites leaks ${id}`);
    const before = await count(w.relay.db, "approval_requests");
    const calls: [ToolName, Record<string, unknown>][] = [
      ["site_check_results", { site_id: w.relay.siteId }],
      ["site_incidents", { site_id: w.relay.siteId, include_resolved: true }],
      ["evidence_status", { site_id: w.relay.siteId }],
      ["propose_runbook", { site_id: w.relay.siteId, host_id: "srv-a", runbook_id: "linux.restart_failed_units", reason: "x" }],
      ["propose_order", { site_id: w.relay.siteId, order_type: "force_scan", reason: "x" }],
      // Its own site, but MSP A's appliance: not_found too.
      ["propose_order", { site_id: w.siteB, appliance_id: w.a.id, order_type: "force_scan", reason: "x" }],
    ];
    for (const [name, args] of calls) {
      const r = await call(client, name, args);
      assert.ok(r.isError && r.text.startsWith("not_found:"), `${name}: ${r.text}`);
      for (const secret of ["Main Street", "Test Clinic", "nginx"]) assert.not.ok(r.text.includes(secret), `${name} leaks MSP A's data: ${r.text}`);
    }
    // The same not_found as for an id that does not exist.
    const ghost = await call(client, "site_check_results", { site_id: "site_doesnotexist" });
    assert.is(ghost.text, "not_found: No site \"site_doesnotexist\" here");
    assert.is(await count(w.relay.db, "approval_requests"), before);
    // B's own site works for B.
    const own = await ok(client, "site_check_results", { site_id: w.siteB });
    assert.is(own.hosts[0]!.host_id, "srv-b");
    await client.close();
  } finally {
    await w.close();
  }
});

test("only MSP staff get in: partner and client users are refused with 403; no key, an unknown key and a revoked key with 401", async () => {
  const w = await world();
  try {
    const env = { clock: w.relay.clock, random };
    const partner = await asUser(w.relay, "partner_admin");
    const partnerKey = await createApiKey(w.relay.db, partner.principal, partner.principal.partner_id, { name: "partner assistant" }, env);
    await rejectsWith(connect(w, bearer(partnerKey.key)), 403);
    await rejectsWith(connect(w, (await asUser(w.relay, "client_owner")).headers), 403);
    await rejectsWith(connect(w, (await asUser(w.relay, "partner_tech")).headers), 403);
    await rejectsWith(connect(w, {}), 401);
    await rejectsWith(connect(w, bearer(`osk_${"A".repeat(43)}`)), 401);

    const revoked = await createKeyOverHttp(w.server, w.adminA, "to revoke");
    const before = await connect(w, bearer(revoked.key));
    assert.not.ok((await call(before, "list_sites")).isError);
    const rv = await fetch(new URL(`/api/api-keys/${revoked.id}/revoke`, w.server.url), userInit(w.adminA, "POST"));
    assert.is(rv.status, 204);
    await rejectsWith(before.callTool({ name: "list_sites", arguments: {} }), 401);
    await rejectsWith(connect(w, bearer(revoked.key)), 401);

    // The raw answers: the relay's error envelope with its code, and the Bearer challenge.
    const raw = await fetch(new URL(MCP_PATH, w.server.url), { method: "POST", headers: { ...bearer(revoked.key), "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
    assert.is(raw.status, 401);
    assert.is(raw.headers.get("www-authenticate"), 'Bearer realm="osiris-relay"');
    assert.is((await errorOf(raw)).code, "api_key_revoked");
    const partnerRaw = await fetch(new URL(MCP_PATH, w.server.url), { method: "POST", headers: { ...bearer(partnerKey.key), "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
    assert.is((await errorOf(partnerRaw)).code, "forbidden");
  } finally {
    await w.close();
  }
});

/** One raw JSON-RPC POST (no SDK client, so nothing is checked before it leaves); the parsed answer. */
async function rawRpc(w: World, key: string, message: unknown): Promise<{ id?: unknown; result?: { isError?: boolean; content: { text: string }[] }; error?: { code: number; message: string } }> {
  const res = await fetch(new URL(MCP_PATH, w.server.url), { method: "POST", headers: { ...bearer(key), "content-type": "application/json", accept: "application/json, text/event-stream" }, body: JSON.stringify(message) });
  assert.is(res.status, 200, await res.clone().text());
  return (await res.json()) as Awaited<ReturnType<typeof rawRpc>>;
}

test("malformed requests and unknown tools answer JSON-RPC -32602 naming what was wrong; a tool's bad arguments come back as a tool error naming the argument", async () => {
  const w = await world();
  try {
    const call = (id: number, params: unknown) => rawRpc(w, w.keyA.key, { jsonrpc: "2.0", id, method: "tools/call", params });
    const noName = await call(1, { arguments: {} });
    assert.equal(noName.error, { code: -32602, message: "Invalid params for tools/call: params.name: Invalid input: expected string, received undefined" });
    const notObject = await call(2, { name: "list_sites", arguments: "all" });
    assert.is(notObject.error?.code, -32602);
    assert.ok(notObject.error!.message.includes("params.arguments"), notObject.error!.message);
    const unknown = await call(3, { name: "delete_site", arguments: {} });
    assert.is(unknown.error?.code, -32602);
    assert.ok(unknown.error!.message.startsWith('Unknown tool: "delete_site" (tools: evidence_status, list_sites,'), unknown.error!.message);
    const init = await rawRpc(w, w.keyA.key, { jsonrpc: "2.0", id: 4, method: "initialize", params: { protocolVersion: 2025 } });
    assert.is(init.error?.code, -32602);
    assert.ok(init.error!.message.includes("params.protocolVersion"), init.error!.message);
    // Neither zod's issue dump nor "internal error" reaches the caller.
    for (const r of [noName, notObject, unknown, init]) assert.not.ok(r.error!.message.includes('"code"'), r.error!.message);

    // A tool's own arguments (MCP 2025-11-25): a tool error the assistant can read and correct, naming the argument.
    for (const [args, field] of [[{}, "site_id"], [{ site_id: 5 }, "site_id"]] as const) {
      const r = await call(5, { name: "site_check_results", arguments: args });
      assert.ok(r.result?.isError === true, JSON.stringify(r));
      assert.match(r.result.content[0]!.text, new RegExp(`-32602.*expected string, received (undefined|number) at ${field}`));
    }
  } finally {
    await w.close();
  }
});

test("a signed-in MSP technician's session works too (with its CSRF token); GET and DELETE answer 405 (stateless endpoint)", async () => {
  const w = await world();
  try {
    const tech = await asUser(w.relay, "msp_tech");
    const client = await connect(w, tech.headers);
    assert.is((await ok(client, "list_sites")).sites.length, 2);
    await client.close();
    const { "X-CSRF-Token": _csrf, ...cookieOnly } = tech.headers;
    await rejectsWith(connect(w, cookieOnly), 403);
    for (const method of ["GET", "DELETE"]) {
      const res = await fetch(new URL(MCP_PATH, w.server.url), { method, headers: bearer(w.keyA.key) });
      assert.is(res.status, 405, method);
      assert.is(res.headers.get("allow"), "POST");
    }
  } finally {
    await w.close();
  }
});

test.run();
