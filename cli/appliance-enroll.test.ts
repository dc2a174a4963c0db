import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../protocol/hash.ts";
import { revokeClaimCode } from "../relay/enroll/claim-codes.ts";
import { acceptPending, listPending } from "../relay/enroll/provision.ts";
import { openStore } from "../appliance/store/index.ts";
import { loopbackRelay, type LoopbackRelay } from "../appliance/sync/_testing.ts";
import { EXIT, runWith, type EnrollIo } from "./appliance-enroll.ts";

const MAC = "02:00:5e:10:20:30";

function capture(): EnrollIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => void lines.push(l), err: (l) => void errors.push(l), macs: () => [MAC] };
}

interface Ctx {
  lr: LoopbackRelay;
  dir: string;
  config: string;
  enroll(...args: string[]): Promise<{ code: number; out: string; err: string }>;
}

async function withRelay(fn: (c: Ctx) => Promise<void>): Promise<void> {
  const lr = await loopbackRelay();
  const dir = await mkdtemp(join(tmpdir(), "osiris-enroll-cli-"));
  const config = join(dir, "appliance.yaml");
  await writeFile(config, `state_dir: ${join(dir, "state")}\nrelay:\n  url: ${lr.url}\n`);
  const ctx: Ctx = {
    lr,
    dir,
    config,
    enroll: async (...args) => {
      const io = capture();
      const code = await runWith(["--config", config, ...args], io);
      return { code, out: io.lines.join("\n"), err: io.errors.join("\n") };
    },
  };
  try {
    await fn(ctx);
  } finally {
    await lr.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function identityRow(dir: string): Promise<Record<string, unknown>> {
  const store = await openStore(join(dir, "state", "appliance.db"), { log: { info: () => undefined } });
  try {
    return { ...(await store.execute("SELECT * FROM identity WHERE id = 1")).rows[0] };
  } finally {
    store.close();
  }
}

test("enroll with a claim code prints the appliance, site and fingerprint, and keeps the token only in a 0600 file", async () => {
  await withRelay(async ({ lr, dir, enroll }) => {
    const code = await lr.relay.claimCode();
    const r = await enroll("--relay", lr.url, "--code", code);
    assert.is(r.code, EXIT.ok, r.err);
    assert.match(r.out, /^enrolled: app_[0-9a-z]+$/m);
    assert.match(r.out, new RegExp(`^site: ${lr.relay.siteId}$`, "m"));
    assert.match(r.out, /^fingerprint: \S+$/m);
    const tokenFile = join(dir, "state", "relay-token");
    assert.is((await stat(tokenFile)).mode & 0o777, 0o600);
    const token = (await readFile(tokenFile, "utf8")).trim();
    assert.not.match(r.out + r.err, new RegExp(token), "the token is never printed");
    const row = await identityRow(dir);
    assert.is(row["state"], "enrolled");
    assert.is(row["token_sha256"], sha256Hex(token), "the database keeps only its hash");
    const relayRow = await lr.relay.db.execute({ sql: "SELECT COUNT(*) AS n FROM appliances WHERE id = ?", args: [String(row["appliance_id"])] });
    assert.is(Number(relayRow.rows[0]?.["n"]), 1);

    const again = await enroll("--code", await lr.relay.claimCode());
    assert.is(again.code, EXIT.ok);
    assert.match(again.out, /^already enrolled: app_/m, "a second run changes nothing");
  });
});

test("--code-file reads the claim code from a file (relay.url from the config)", async () => {
  await withRelay(async ({ lr, dir, enroll }) => {
    const file = join(dir, "claim.txt");
    await writeFile(file, `  ${(await lr.relay.claimCode()).toLowerCase()}\n`);
    const r = await enroll("--code-file", file);
    assert.is(r.code, EXIT.ok, r.err);
    assert.match(r.out, /^enrolled: app_/m);
  });
});

test("with no code option the config's enrollment.claim_code_file is used (first boot)", async () => {
  await withRelay(async ({ lr, dir, config, enroll }) => {
    const file = join(dir, "claim.txt");
    await writeFile(file, await lr.relay.claimCode());
    await writeFile(config, `state_dir: ${join(dir, "state")}\nrelay:\n  url: ${lr.url}\nenrollment:\n  claim_code_file: ${file}\n`);
    const r = await enroll();
    assert.is(r.code, EXIT.ok, r.err);
    assert.match(r.out, /^enrolled: app_/m);
  });
});

test("used, expired, revoked and unknown claim codes are refused with plain reasons (exit 1)", async () => {
  await withRelay(async ({ lr, enroll }) => {
    const used = await lr.relay.claimCode();
    const other = await mkdtemp(join(tmpdir(), "osiris-enroll-cli-"));
    try {
      const otherConfig = join(other, "appliance.yaml");
      await writeFile(otherConfig, `state_dir: ${join(other, "state")}\nrelay:\n  url: ${lr.url}\n`);
      assert.is(await runWith(["--config", otherConfig, "--code", used], capture()), EXIT.ok);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
    const usedR = await enroll("--code", used);
    assert.is(usedR.code, EXIT.refused);
    assert.match(usedR.err, /already used by another appliance/);

    const expiring = await lr.relay.claimCode(undefined, 60_000);
    lr.relay.clock.t += 120_000;
    const expired = await enroll("--code", expiring);
    assert.is(expired.code, EXIT.refused);
    assert.match(expired.err, /has expired/);

    const revokedCode = await lr.relay.claimCode();
    await revokeClaimCode(lr.relay.db, { code: revokedCode }, lr.relay.deps);
    const revoked = await enroll("--code", revokedCode);
    assert.is(revoked.code, EXIT.refused);
    assert.match(revoked.err, /was revoked/);

    const unknown = await enroll("--code", "7KQ2M-XH3PD-0W9RT-ZB4NC");
    assert.is(unknown.code, EXIT.refused);
    assert.match(unknown.err, /does not know this claim code/);
  });
});

test("wrong usage exits 2: no config, two ways at once, a malformed code, plain http to a remote relay", async () => {
  await withRelay(async ({ lr, enroll }) => {
    assert.is(await runWith(["--code", "x"], capture()), EXIT.usage);
    assert.is((await enroll("--code", await lr.relay.claimCode(), "--pending")).code, EXIT.usage);
    const malformed = await enroll("--code", "not-a-code");
    assert.is(malformed.code, EXIT.usage);
    assert.match(malformed.err, /not well formed/);
    const remote = await enroll("--relay", "http://relay.example.com", "--code", await lr.relay.claimCode());
    assert.is(remote.code, EXIT.usage);
    assert.match(remote.err, /differs from relay.url|must use https/);
  });
});

test("plain http to a non-loopback relay is refused before anything is sent", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-enroll-cli-"));
  try {
    const config = join(dir, "appliance.yaml");
    await writeFile(config, `state_dir: ${join(dir, "state")}\n`);
    const io = capture();
    let fetched = 0;
    io.fetch = async () => (fetched++, new Response("{}"));
    assert.is(await runWith(["--config", config, "--relay", "http://10.20.30.40:8787", "--code", "7KQ2M-XH3PD-0W9RT-ZB4NC"], io), EXIT.usage);
    assert.match(io.errors.join("\n"), /must use https/);
    assert.is(fetched, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("an unreachable relay exits 75 (try again later) with the reason", async () => {
  await withRelay(async ({ lr, enroll }) => {
    const code = await lr.relay.claimCode();
    await lr.stop();
    const r = await enroll("--code", code);
    assert.is(r.code, EXIT.retry);
    assert.match(r.err, /Cannot reach the relay/);
  });
});

test("drop-ship: --pending registers and shows the fingerprint (exit 75); after the MSP accepts, --pending completes enrollment", async () => {
  await withRelay(async ({ lr, dir, enroll }) => {
    const first = await enroll("--pending");
    assert.is(first.code, EXIT.retry, first.err);
    assert.match(first.out, /as pending: pend_/);
    const fingerprint = /^fingerprint: (\S+)$/m.exec(first.out)?.[1];
    const [pending] = await listPending(lr.relay.db);
    assert.is(pending?.fingerprint, fingerprint, "what the appliance shows is what the MSP compares");
    assert.equal(pending?.macs, [MAC]);
    assert.is((await identityRow(dir))["state"], "pending");

    const waiting = await enroll("--pending");
    assert.is(waiting.code, EXIT.retry, "still waiting");
    assert.is((await listPending(lr.relay.db)).length, 1, "registering again is idempotent");

    await acceptPending(lr.relay.db, pending!.id, lr.relay.siteId, lr.relay.deps);
    const done = await enroll("--pending");
    assert.is(done.code, EXIT.ok, done.err);
    assert.match(done.out, /^enrolled: app_/m);
    assert.match(done.out, new RegExp(`^fingerprint: ${fingerprint}$`, "m"));
    const row = await identityRow(dir);
    assert.is(row["state"], "enrolled");
    assert.is(row["site_id"], lr.relay.siteId);
  });
});

test.run();
