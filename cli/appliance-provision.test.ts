/**
 * First-boot provisioning as iso/provisioning.nix runs it: real `osiris` CLI processes (enroll, status, run)
 * against the real relay on loopback. `--mac` stands in for the machine's interfaces; nothing else is faked.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { freePort } from "../node/_test-ports.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { asUser, userInit } from "../relay/_testing.ts";
import { loopbackRelay, relayCount, type LoopbackRelay } from "../appliance/sync/_testing.ts";

const OSIRIS = fileURLToPath(new URL("../bin/osiris.js", import.meta.url));
const LAB_SITE_DIR = fileURLToPath(new URL("../fixtures/lab/riverside-family-clinic", import.meta.url));
const MAC = "02:00:5e:10:20:31";

interface Run {
  code: number;
  out: string;
  err: string;
}

function osiris(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [OSIRIS, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, out: stdout, err: stderr });
    });
  });
}

interface Ctx {
  lr: LoopbackRelay;
  dir: string;
  config: string;
  usb: string;
  enroll(...args: string[]): Promise<Run>;
  status(...args: string[]): Promise<Run>;
}

/** A relay on loopback and an appliance config as the image writes it (usb_config_glob under `dir/usb`). */
async function withImage(fn: (c: Ctx) => Promise<void>, extra = ""): Promise<void> {
  const lr = await loopbackRelay();
  lr.relay.clock.t = Date.now();
  const dir = await mkdtemp(join(tmpdir(), "osiris-provision-"));
  const usb = join(dir, "usb");
  await mkdir(usb);
  const config = join(dir, "appliance.yaml");
  await writeFile(config, `state_dir: ${join(dir, "state")}\nrelay:\n  url: ${lr.url}\n  sync_interval_s: 10\nenrollment:\n  usb_config_glob: ${usb}/*/osiris.yaml\n${extra}`);
  try {
    await fn({ lr, dir, config, usb, enroll: (...a) => osiris("appliance", "enroll", "--config", config, "--mac", MAC, ...a), status: (...a) => osiris("appliance", "status", "--config", config, ...a) });
  } finally {
    await lr.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function stick(usb: string, text: string): Promise<string> {
  await mkdir(join(usb, "OSIRIS-CFG"), { recursive: true });
  const file = join(usb, "OSIRIS-CFG", "osiris.yaml");
  await writeFile(file, text);
  return file;
}

interface Status {
  enrollment: string;
  appliance_id: string | null;
  site_id: string | null;
  fingerprint: string | null;
  healing_mode: string;
  outbox_pending: number;
  last_ack_seq: number;
  last_sync_at: string | null;
}

test("a provisioning file on the stick enrolls the appliance (exit 0); again: 'already enrolled'; the claim code is never printed", async () => {
  await withImage(async ({ lr, usb, enroll, status }) => {
    const code = await lr.relay.claimCode();
    await stick(usb, `relay_url: ${lr.url}\nclaim_code: ${code.toLowerCase()}\n`);
    const r = await enroll();
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /^enrolled: app_[0-9a-z]+$/m);
    assert.match(r.out, new RegExp(`^site: ${lr.relay.siteId}$`, "m"));
    assert.match(r.err, /using the claim code in the provisioning file .*OSIRIS-CFG\/osiris\.yaml/);
    for (const form of [code, code.replaceAll("-", ""), code.toLowerCase()]) assert.not.ok((r.out + r.err).includes(form), "the claim code is never printed");

    const again = await enroll();
    assert.is(again.code, 0);
    assert.is(again.out.trim(), `already enrolled: ${/^enrolled: (\S+)$/m.exec(r.out)![1]}`);

    const s = JSON.parse((await status("--json")).out) as Status;
    assert.is(s.enrollment, "enrolled");
    assert.is(s.site_id, lr.relay.siteId);
  });
});

test("without a stick: pending (exit 75) with the fingerprint; the MSP accepts it by that fingerprint over the relay API; the next run enrolls", async () => {
  await withImage(async ({ lr, enroll, status }) => {
    const before = await status();
    assert.is(before.code, 0, before.err);
    assert.match(before.out, /^Enrollment: {4}unclaimed/m);

    const first = await enroll();
    assert.is(first.code, 75, first.err);
    assert.match(first.err, /registering this appliance as pending/);
    const fingerprint = /^fingerprint: (\S+)$/m.exec(first.out)?.[1];
    assert.ok(fingerprint, first.out);

    // What the console banner shows: the state and the same fingerprint.
    const text = await status();
    assert.match(text.out, /^Enrollment: {4}pending \(waiting for your IT provider/m);
    assert.ok(text.out.includes(`Fingerprint:   ${fingerprint}`), text.out);
    assert.not.match(text.out, /enrolled/, "nothing on the console says enrolled yet");
    const pendingJson = JSON.parse((await status("--json")).out) as Status;
    assert.equal([pendingJson.enrollment, pendingJson.fingerprint, pendingJson.appliance_id], ["pending", fingerprint, null]);

    assert.is((await enroll()).code, 75, "still waiting for the MSP");

    const msp = await asUser(lr.relay, "msp_admin");
    const list = (await (await fetch(new URL("/api/pending-appliances", lr.url), userInit(msp))).json()) as { pending: { id: string; macs: string[] }[] };
    const mine = list.pending.find((p) => p.macs.includes(MAC));
    assert.ok(mine, JSON.stringify(list));
    const accepted = await fetch(new URL(`/api/sites/${lr.relay.siteId}/pending-appliances/accept`, lr.url), userInit(msp, "POST", { pending_id: mine.id, fingerprint }));
    assert.is(accepted.status, 200, await accepted.clone().text());

    const done = await enroll();
    assert.is(done.code, 0, done.err);
    assert.match(done.out, /^enrolled: app_/m);
    const after = JSON.parse((await status("--json")).out) as Status;
    assert.is(after.enrollment, "enrolled");
    assert.is(after.site_id, lr.relay.siteId);
    assert.is(after.fingerprint, fingerprint);
    assert.equal([after.healing_mode, after.outbox_pending, after.last_ack_seq, after.last_sync_at], ["observe", 0, 0, null]);
    const afterText = await status();
    assert.match(afterText.out, /^Enrollment: {4}enrolled$/m);
    assert.match(afterText.out, new RegExp(`^Site: {10}${lr.relay.siteId}$`, "m"));
  });
});

test("a provisioning file naming another relay is refused (exit 2) with the reason, and nothing reaches any relay", async () => {
  await withImage(async ({ lr, usb, enroll, status }) => {
    await stick(usb, `relay_url: https://relay.elsewhere.example\nclaim_code: ${await lr.relay.claimCode()}\n`);
    const r = await enroll();
    assert.is(r.code, 2);
    assert.match(r.err, /relay_url https:\/\/relay\.elsewhere\.example is not this appliance's relay http:\/\/127\.0\.0\.1:\d+ \(relay\.url in its config\)/);
    assert.match(r.err, /can only reach the relay it was set up for/);
    const pending = await lr.relay.db.execute("SELECT COUNT(*) AS n FROM pending_appliances");
    assert.is(Number(pending.rows[0]?.["n"]), 0, "not registered as pending instead");
    assert.is((JSON.parse((await status("--json")).out) as Status).enrollment, "unclaimed");
  });
});

test("a malformed provisioning file is refused (exit 2) naming the file and the field, without quoting the code", async () => {
  await withImage(async ({ usb, enroll }) => {
    const file = await stick(usb, `relay_url: https://relay.example.com\nclaim_cod: 2KQ2M-XH3PD-0W9RT-ZB4NC\n`);
    const typo = await enroll();
    assert.is(typo.code, 2);
    assert.ok(typo.err.includes(`${file}: claim_cod: unknown field; a provisioning file has only relay_url and claim_code`), typo.err);
    assert.not.ok(typo.err.includes("2KQ2M"));

    await writeFile(file, `relay_url: https://relay.example.com\nclaim_code: ABCDE-FGHJK-MNPQR\n`);
    const short = await enroll();
    assert.is(short.code, 2);
    assert.match(short.err, /osiris\.yaml: claim_code: is not a claim code/);
    assert.not.ok(short.err.includes("FGHJK"), "a near-miss of a code is not quoted either");
  });
});

test("daemon started before enrollment keeps running, shows 'waiting for enrollment', and syncs once enrolled", async () => {
  const port = await freePort();
  await withImage(
    async ({ lr, usb, config, enroll }) => {
      const daemon = spawn(process.execPath, [OSIRIS, "appliance", "run", "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      daemon.stdout.on("data", (b: Buffer) => void (out += b.toString()));
      daemon.stderr.on("data", (b: Buffer) => void (out += b.toString()));
      let exited: number | null = null;
      daemon.on("exit", (c) => void (exited = c ?? -1));
      try {
        await eventually(async () => out.includes('"waiting_for_enrollment"'), "the waiting log line", () => out);
        const page = `http://127.0.0.1:${port}/api/status`;
        await eventually(async () => (await fetch(page).then((r) => r.json()).catch(() => null)) !== null, "the status page", () => out);
        const waiting = (await (await fetch(page)).json()) as { relay: { state: string; banner: string }; appliance: { fingerprint: string; enrollment: string } };
        assert.is(waiting.relay.state, "waiting_enrollment");
        assert.is(waiting.appliance.enrollment, "unclaimed");
        assert.ok(waiting.relay.banner.includes(waiting.appliance.fingerprint), waiting.relay.banner);
        // The checks still run before enrollment: the page shows devices checked.
        await eventually(async () => ((await (await fetch(page)).json()) as { last_check: unknown }).last_check !== null, "a check before enrollment", () => out);
        assert.is(exited, null, `the daemon must keep running: ${out.slice(-2000)}`);

        await stick(usb, `relay_url: ${lr.url}\nclaim_code: ${await lr.relay.claimCode()}\n`);
        const r = await enroll();
        assert.is(r.code, 0, r.err);
        const id = /^enrolled: (\S+)$/m.exec(r.out)![1]!;
        await eventually(async () => (await relayCount(lr, "evidence", id)) > 0, "evidence at the relay after enrollment", () => out, 40_000);
        const enrolled = (await (await fetch(page)).json()) as { relay: { state: string }; appliance: { id: string; enrollment: string } };
        assert.equal([enrolled.appliance.id, enrolled.appliance.enrollment], [id, "enrolled"]);
        assert.is(exited, null);
      } finally {
        daemon.kill("SIGTERM");
        await new Promise((resolve) => (exited !== null ? resolve(null) : daemon.once("exit", resolve)));
      }
      assert.is(exited, 0, out.slice(-2000));
    },
    `lab:\n  site_dir: ${LAB_SITE_DIR}\nstatus_page:\n  port: ${port}\n  bind: [127.0.0.1]\n  mdns: false\n`,
  );
});

async function eventually(cond: () => Promise<boolean>, what: string, context: () => string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.unreachable(`timed out after ${ms} ms waiting for ${what}: ${context().slice(-3000)}`);
}

test.run();
