/**
 * Child process of the order SIGKILL trials (crash.test.ts). Opens the appliance in <dir>, reports interrupted
 * orders (`recover()`), then processes every envelope in <dir>/envelopes.json in order. The handler appends
 * "exec <nonce>" to <dir>/executions.log (fsynced) before "working" for a few milliseconds, so the parent can
 * count how often each order really ran. Prints "ready" once the store is open.
 * Usage: node --import tsx _crash-child.ts <dir>
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { keyId } from "../../protocol/crypto.ts";
import { toHex } from "../../protocol/encoding.ts";
import { EvidenceLog } from "../evidence/index.ts";
import { createNodeSigner, loadOrCreateIdentity } from "../identity/index.ts";
import { openStore } from "../store/index.ts";
import { OrderProcessor } from "./processor.ts";
import { APP, RELAY_SEED, SITE } from "./_crash-shared.ts";

const [dir] = process.argv.slice(2);
if (!dir) throw new Error("usage: _crash-child.ts <dir>");
/** Longest a handler "works": long enough that kills land inside handlers too. */
const WORK_MS = 30;

const clock = { now: () => Date.now() };
const relay = createNodeSigner(RELAY_SEED);
const store = await openStore(join(dir, "appliance.db"), { log: { info: () => undefined } });
const identity = await loadOrCreateIdentity(join(dir, "state"), store, { random: (n) => new Uint8Array(randomBytes(n)), clock });
if (identity.state !== "enrolled") {
  await identity.enrollStandalone(SITE, { applianceId: APP, relayKeys: [{ key_id: keyId(relay.publicKey), public_key: toHex(relay.publicKey), name: "relay" }] });
}
const evidence = new EvidenceLog({ store, identity: identity.enrolled(), clock });
const executions = openSync(join(dir, "executions.log"), "a");
const processor = new OrderProcessor({
  evidence,
  identity: identity.enrolled(),
  clock,
  handlers: {
    force_scan: async (order) => {
      writeSync(executions, `exec ${order.nonce}\n`);
      fsyncSync(executions);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * WORK_MS)));
      return { outcome: "success", detail: "scanned" };
    },
  },
});
writeSync(1, "ready\n");
await processor.recover();
for (const envelope of JSON.parse(readFileSync(join(dir, "envelopes.json"), "utf8")) as unknown[]) await processor.process(envelope);
closeSync(executions);
writeSync(1, "done\n");
store.close();
