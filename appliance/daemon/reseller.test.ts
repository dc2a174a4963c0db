/**
 * Reseller deployment mode, end to end: the lab appliance heals drift and the reseller's REAL rsyslog (started
 * on a loopback port) and a real HTTP webhook receiver get the scrubbed event, the webhook body signed with
 * HMAC-SHA256 under the secret from the configured file.
 */
import { createHmac, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseConfig } from "../config/index.ts";
import { startRsyslog } from "../../node/syslog/_rsyslog.ts";
import { Appliance } from "./appliance.ts";

const LAB = new URL("../../fixtures/lab/riverside-family-clinic", import.meta.url).pathname;
const SECRET = "reseller-webhook-secret-0123456789";
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

test("in reseller mode a healed drift reaches the reseller's rsyslog and signed webhook, without secrets", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-reseller-"));
  const rsyslog = await startRsyslog({ tcp: true });
  const hooks: { body: string; signature: string | undefined }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      hooks.push({ body, signature: req.headers["x-osiris-signature"] as string | undefined });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  let a: Appliance | null = null;
  try {
    await writeFile(join(dir, "hook.secret"), SECRET + "\n", { mode: 0o600 });
    const port = (server.address() as AddressInfo).port;
    const config = parseConfig(
      [
        `state_dir: ${dir}/state`,
        "site:",
        "  id: site_riverside01",
        "  timezone: America/Chicago",
        "  healing_mode: enforce",
        "  deployment_mode: reseller",
        "  reseller_id: rsl_demo00001",
        "lab:",
        `  site_dir: ${LAB}`,
        "reseller:",
        "  syslog:",
        "    host: 127.0.0.1",
        `    port: ${rsyslog.ports.tcp}`,
        "    transport: tcp",
        "  webhook:",
        `    url: http://127.0.0.1:${port}/osiris`,
        `    secret_file: ${join(dir, "hook.secret")}`,
      ].join("\n"),
      "appliance.yaml",
    );
    let now = Date.UTC(2026, 10, 2, 15);
    a = await Appliance.open(config, { clock: { now: () => now }, random: (n) => new Uint8Array(randomBytes(n)), log: quiet });
    await a.runCycle({ all: true });
    now += 1.5 * 3600_000; // Defender real-time protection goes off on rfc-ws01
    const r = await a.runCycle({ all: true });
    assert.ok(r.healing.some((h) => h.host_id === "rfc-ws01" && h.outcome === "success"), JSON.stringify(r.healing));

    const lines = await rsyslog.received(1, 10_000);
    assert.ok(lines.some((l) => l.sd.includes('outcome="success"') && l.sd.includes("rfc-ws01")), lines.map((l) => l.sd).join("\n"));
    for (let i = 0; i < 50 && hooks.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(hooks.length >= 1, "the webhook was called");
    const hook = hooks.find((h) => h.body.includes("rfc-ws01"))!;
    assert.ok(hook, hooks.map((h) => h.body).join("\n"));
    assert.is(hook.signature, `sha256=${createHmac("sha256", SECRET).update(hook.body).digest("hex")}`);
    for (const text of [...lines.map((l) => l.raw), ...hooks.map((h) => h.body)]) assert.not.ok(text.includes(SECRET), "the secret never leaves in an event");
  } finally {
    await a?.stop();
    await rsyslog.stop();
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
