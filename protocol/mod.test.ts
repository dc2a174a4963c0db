import { test } from "uvu";
import * as assert from "uvu/assert";
import * as protocol from "./mod.ts";

test("mod.ts exposes the wire contract from one import", async () => {
  const kp = protocol.generateKeyPair(new Uint8Array(32).fill(21));
  const unsigned = protocol.buildBundle({
    appliance_id: "app_aaaaaaaa",
    site_id: "site_ssssssss",
    seq: 1,
    prev_hash: protocol.GENESIS_PREV_HASH,
    kind: "system",
    outcome: "pass",
    timestamps: { started_at: protocol.isoTime(0), finished_at: protocol.isoTime(1) },
    policy_version: "1",
  });
  const { line } = await protocol.signBundle(unsigned, protocol.createSigner(kp.secretKey));
  const report = await protocol.verifyChain([line], new Map([["app_aaaaaaaa", { publicKey: kp.publicKey }]]));
  assert.ok(report.ok);
  for (const name of ["verifyOrder", "verifyRuleset", "selectRule", "verifyRotation", "parsePushRequest", "openEnvelope", "schemaError", "newId"] as const) {
    assert.type(protocol[name], "function", name);
  }
});

test.run();
