/**
 * The appliance's own L2 client (appliance/heal/l2-client.ts `planWithL2`, appliance/sync/l2-planner.ts, the
 * appliance's loopback transport and request signing) against the relay's gateway served over real HTTP on
 * loopback. The model behind the gateway is a STAND-IN for a hosted LLM (`_llm-standin.ts`, a loopback
 * chat-completions server with scripted answers).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { planWithL2 } from "../../appliance/heal/l2-client.ts";
import { createRelayFetch, RelayHttp, relayPlanner } from "../../appliance/sync/index.ts";
import { catalogue } from "../../protocol/catalogue/mod.ts";
import { newId } from "../../protocol/ids.ts";
import { enrolledAppliance, overHttp, random, testRelay } from "../_testing.ts";
import { startServer } from "../serve/node.ts";
import { startChatStandin } from "./_llm-standin.ts";

test("the appliance's L2 client gets a plan from the relay over HTTP, and an escalation when the model's answer is refused", async () => {
  const replies = [
    JSON.stringify({ runbook_id: "linux.restart_failed_units", params: {}, confidence: 0.92, reasoning: "nginx failed; restart failed units." }),
    JSON.stringify({ runbook_id: "linux.restart_failed_units", params: { max_units: 99 }, confidence: 0.95, reasoning: "restart everything" }),
  ];
  const llm = await startChatStandin((_r, i) => ({ content: replies[i] ?? "" }));
  const relay = await testRelay();
  const server = await startServer({ app: relay.app, host: "127.0.0.1", port: 0 });
  try {
    await relay.db.execute({ sql: "UPDATE sites SET l2_enabled = 1 WHERE id = ?", args: [relay.siteId] });
    relay.deps.l2 = { endpoints: { "*": { url: llm.url, model: "standin", timeout_ms: 5_000, json_mode: true, max_tokens: 800 } }, fetch, readSecret: async () => "" };
    const sim = await enrolledAppliance(relay, overHttp(server.url));
    const http = new RelayHttp({ url: server.url, fetch: createRelayFetch(), clock: relay.clock, random });
    const planner = relayPlanner(http, async () => ({ signer: sim.identity, token: sim.token }));
    const input = {
      catalogue,
      check: catalogue.getCheck("linux.failed_services"),
      platform: "linux",
      severity: "medium" as const,
      incident_id: newId("inc", random),
      facts: { services: { failed_units: ["nginx.service"] }, winrm: { password: "S3cret-not-sent" } },
      reason: "not met: services.failed_units is empty",
    };

    const ok = await planWithL2(input, { planner, random });
    assert.ok(ok.accepted, ok.accepted ? "" : `${ok.code}: ${ok.reason}`);
    if (ok.accepted) {
      assert.is(ok.runbook.id, "linux.restart_failed_units");
      assert.equal(ok.params, { max_units: 5 }, "the relay filled in the schema default");
    }
    assert.not.ok(llm.requests[0]!.raw.includes("S3cret-not-sent"), "facts the check does not read never leave the site");

    const refused = await planWithL2(input, { planner, random });
    assert.is(refused.accepted ? "accepted" : refused.code, "declined", "the relay's escalate answer reads as declined");
    if (!refused.accepted) assert.match(refused.reason, /proposed no runbook \(escalated to L3 \(invalid_params\)/, "the relay's reason reaches the appliance's escalation");
    const esc = await relay.db.execute({ sql: "SELECT source, status FROM escalations WHERE incident_id = ?", args: [input.incident_id] });
    assert.equal(esc.rows.map((r) => [r["source"], r["status"]]), [["l2", "open"]]);
  } finally {
    await server.close();
    await relay.close();
    await llm.close();
  }
});

test.run();
