import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { normaliseClaimCode } from "../relay/enroll/claim-code.ts";
import { memoryLog } from "../relay/log.ts";
import { NEW_PASSWORD_ENV, runWith, type Io } from "./relay-admin.ts";
import { openRelayDb } from "../relay/db/index.ts";
import { secureRandom, systemClock } from "../relay/deps.ts";
import { asUser, inProcess, TestAppliance, testRelay, userInit } from "../relay/_testing.ts";
import { buildPendingRequest } from "../relay/enroll/enroll-message.ts";
import { registerPending } from "../relay/enroll/provision.ts";
import { Hono } from "hono";
import { storeCredential } from "../relay/credentials/credentials.ts";
import { createVaultKeyFile } from "../relay/credentials/vault-key-file.ts";
import { vaultFromKeys } from "../relay/credentials/vault.ts";
import { createCredentialVault } from "../relay/credentials/create-vault.ts";

function capture(): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => void lines.push(l), err: (l) => void errors.push(l), log: memoryLog().log };
}

async function admin(dir: string, ...args: string[]): Promise<{ code: number; json: Record<string, unknown>; io: ReturnType<typeof capture> }> {
  const io = capture();
  const code = await runWith([...args, "--db", join(dir, "relay.db"), "--json"], io);
  return { code, json: code === 0 ? (JSON.parse(io.lines[0]!) as Record<string, unknown>) : {}, io };
}

async function inTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-admin-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("admin creates an MSP, partner, organisation and site, and a claim code for the site", async () => {
  await inTemp(async (dir) => {
    const msp = await admin(dir, "create-msp", "--name", "Acme IT");
    assert.is(msp.code, 0);
    assert.match(String(msp.json["id"]), /^msp_/);
    const partner = await admin(dir, "create-partner", "--msp", String(msp.json["id"]), "--name", "Reseller");
    const org = await admin(dir, "create-org", "--msp", String(msp.json["id"]), "--partner", String(partner.json["id"]), "--name", "Riverside Family Clinic");
    const site = await admin(dir, "create-site", "--org", String(org.json["id"]), "--name", "Main", "--timezone", "America/Chicago");
    assert.match(String(site.json["id"]), /^site_/);
    const claim = await admin(dir, "claim-code", "--site", String(site.json["id"]), "--ttl-days", "7");
    assert.is(claim.code, 0);
    assert.ok(normaliseClaimCode(String(claim.json["code"])), "a well-formed code");
    assert.ok(Date.parse(String(claim.json["expires_at"])) - Date.now() > 6.9 * 86_400_000);
    const revoked = await admin(dir, "revoke-claim-code", "--code", String(claim.json["code"]));
    assert.is(revoked.json["id"], claim.json["id"]);
  });
});

test("admin prints key: value lines without --json", async () => {
  await inTemp(async (dir) => {
    const io = capture();
    assert.is(await runWith(["create-msp", "--name", "Acme", "--db", join(dir, "relay.db")], io), 0);
    assert.match(io.lines[0]!, /^id: msp_/);
  });
});

test("admin refusals exit 1 with the reason; wrong usage exits 2", async () => {
  await inTemp(async (dir) => {
    assert.is((await admin(dir, "create-msp", "--name", "Acme")).code, 0);
    const unknownSite = await admin(dir, "claim-code", "--site", "site_nope000000");
    assert.is(unknownSite.code, 1);
    assert.match(unknownSite.io.errors.join("\n"), /does not exist/);
    const accept = await admin(dir, "accept-pending", "--pending", "pend_nope00000", "--site", "site_nope000000", "--fingerprint", "0000");
    assert.is(accept.code, 1);
    const revoke = await admin(dir, "revoke-appliance", "--appliance", "app_nope0000000");
    assert.is(revoke.code, 1);
    process.env["OSIRIS_NEW_PASSWORD"] = "a long enough password";
    try {
      const noMsp = await admin(dir, "create-user", "--msp", "msp_nope0000000", "--email", "a@b.test", "--name", "A", "--role", "msp_tech");
      assert.is(noMsp.code, 1);
      assert.match(noMsp.io.errors.join("\n"), /MSP "msp_nope0000000" does not exist/);
      assert.not.match(noMsp.io.errors.join("\n"), /at |LibsqlBatchError|SQLITE_CONSTRAINT/, "a reason, not a stack trace");
    } finally {
      delete process.env["OSIRIS_NEW_PASSWORD"];
    }
    assert.is((await admin(dir, "create-site", "--org", "org_x0000000")).code, 2, "missing --name");
    assert.is((await admin(dir, "frobnicate")).code, 2);
    assert.is((await admin(dir, "create-msp", "--name", "x", "--bogus", "1")).code, 2);
  });
});

test("accept-pending needs the fingerprint read on the box: a wrong one is refused and accepts nothing, the right one (as typed) accepts", async () => {
  await inTemp(async (dir) => {
    const msp = (await admin(dir, "create-msp", "--name", "Acme")).json;
    const org = (await admin(dir, "create-org", "--msp", String(msp["id"]), "--name", "Clinic")).json;
    const site = (await admin(dir, "create-site", "--org", String(org["id"]), "--name", "Main")).json;
    const db = await openRelayDb(join(dir, "relay.db"), { log: memoryLog().log, clock: systemClock });
    let reg: { pending_id: string; fingerprint: string };
    try {
      const box = new TestAppliance(inProcess(new Hono()), systemClock);
      reg = await registerPending(db, await buildPendingRequest(box, box.macs), { clock: systemClock, random: secureRandom });
    } finally {
      db.close();
    }
    const base = ["accept-pending", "--pending", reg.pending_id, "--site", String(site["id"])];
    assert.is((await admin(dir, ...base)).code, 2, "--fingerprint is required");
    const wrong = await admin(dir, ...base, "--fingerprint", "0000:0000:0000:0000:0000:0000:0000:0000");
    assert.is(wrong.code, 1);
    assert.match(wrong.io.errors.join("\n"), /fingerprint: does not match the one this appliance registered/);
    assert.equal(((await admin(dir, "list-pending")).json["pending"] as { state: string }[]).map((p) => p.state), ["pending"], "nothing was accepted");
    const ok = await admin(dir, ...base, "--fingerprint", reg.fingerprint.toUpperCase().replaceAll(":", " "));
    assert.is(ok.code, 0, ok.io.errors.join("\n"));
    assert.equal([ok.json["state"], ok.json["site_id"]], ["accepted", site["id"]]);
    // list-pending lists the waiting ones (now none), --all every registration; its lines are for people.
    const io = capture();
    assert.is(await runWith(["list-pending", "--db", join(dir, "relay.db")], io), 0);
    assert.equal(io.lines, ["no drop-shipped appliance is waiting"]);
    const all = capture();
    assert.is(await runWith(["list-pending", "--all", "--db", join(dir, "relay.db")], all), 0);
    assert.equal(all.lines.length, 1);
    assert.match(all.lines[0]!, new RegExp(`^${reg.pending_id}  accepted \\(site ${String(site["id"])}\\)  MAC .*  fingerprint ${reg.fingerprint}$`));
  });
});

test("admin refuses a --db file that does not exist (exit 2, creating nothing), except create-msp which starts a new relay", async () => {
  await inTemp(async (dir) => {
    const typo = join(dir, "typo.db");
    for (const args of [["create-site", "--org", "org_x0000000", "--name", "Main"], ["list-pending"], ["claim-code", "--site", "site_x0000000"], ["create-partner", "--msp", "msp_x0000000", "--name", "P"]]) {
      const io = capture();
      assert.is(await runWith([...args, "--db", typo], io), 2, args[0]);
      assert.equal(io.errors, [`osiris relay admin ${args[0]}: no relay database at ${typo} (give --db the file \`osiris relay serve\` uses, or its libSQL server URL)`]);
      assert.equal(io.lines, []);
    }
    assert.equal(await readdir(dir), [], "no database, -wal or -shm file was created");
    const io = capture();
    assert.is(await runWith(["create-msp", "--name", "Acme", "--db", typo], io), 0, io.errors.join("\n"));
    assert.ok(await stat(typo), "create-msp creates the database");
  });
});

test("admin create-site refuses a time zone the relay does not know, and an empty one, like the API (exit 2, no site stored)", async () => {
  await inTemp(async (dir) => {
    const msp = await admin(dir, "create-msp", "--name", "Acme IT");
    const org = await admin(dir, "create-org", "--msp", String(msp.json["id"]), "--name", "Clinic");
    for (const [tz, said] of [
      ["Mars/Base", 'timezone: not a time zone this relay knows: current value is "Mars/Base"'],
      ["", 'timezone: expected an IANA time zone like America/Chicago: current value is ""'],
    ] as const) {
      const r = await admin(dir, "create-site", "--org", String(org.json["id"]), "--name", "Main", "--timezone", tz);
      assert.is(r.code, 2, tz);
      assert.equal(r.io.errors, [`osiris relay admin create-site: ${said}`]);
    }
    const db = await openRelayDb(join(dir, "relay.db"), { log: memoryLog().log, clock: systemClock });
    try {
      assert.is(Number((await db.execute("SELECT COUNT(*) AS n FROM sites")).rows[0]?.["n"]), 0, "no site was stored");
    } finally {
      db.close();
    }
    const ok = await admin(dir, "create-site", "--org", String(org.json["id"]), "--name", "Main", "--timezone", "America/Chicago");
    assert.is(ok.code, 0, ok.io.errors.join("\n"));
  });
});

test("admin claim-code says a --ttl-days out of range in days (1..90), exit 2", async () => {
  await inTemp(async (dir) => {
    await admin(dir, "create-msp", "--name", "Acme IT");
    for (const days of ["100000", "91", "0", "soon"]) {
      const r = await admin(dir, "claim-code", "--site", "site_x0000000", "--ttl-days", days);
      assert.is(r.code, 2, days);
      assert.equal(r.io.errors, [`osiris relay admin claim-code: --ttl-days must be a number of days greater than 0 and at most 90: current value is ${JSON.stringify(days)}`]);
    }
  });
});

test("admin <subcommand> --help prints that subcommand's usage on stdout and exits 0, opening no database", async () => {
  await inTemp(async (dir) => {
    for (const flag of ["--help", "-h"]) {
      const io = capture();
      assert.is(await runWith(["claim-code", flag, "--db", join(dir, "relay.db")], io), 0);
      assert.equal(io.errors, []);
      assert.match(io.lines.join("\n"), /^Usage: osiris relay admin claim-code --site SITE_ID \[--ttl-days 30\]/);
      assert.match(io.lines.join("\n"), /--db URL\|PATH/);
    }
    const io = capture();
    assert.is(await runWith(["issue-order", "--help"], io), 0, "--help wins over missing required options");
    assert.match(io.lines.join("\n"), /--appliance APPLIANCE_ID --type TYPE/);
    const created = await stat(join(dir, "relay.db")).then(() => true, () => false);
    assert.not.ok(created, "no database file was created");
  });
});

test("admin rotate-key writes a new 0600 key file and issue-order signs with the key file given", async () => {
  await inTemp(async (dir) => {
    const keyFile = join(dir, "relay.key");
    const msp = await admin(dir, "create-msp", "--name", "Acme");
    assert.is(msp.code, 0);
    // A first order attempt creates nothing: the appliance is unknown. The key file is created on first use.
    const order = await admin(dir, "issue-order", "--appliance", "app_nope0000000", "--type", "force_scan", "--key-file", keyFile);
    assert.is(order.code, 1);
    assert.match(order.io.errors.join("\n"), /No appliance/);
    const rotated = await admin(dir, "rotate-key", "--key-file", keyFile, "--new-key-file", join(dir, "relay-2.key"));
    assert.is(rotated.code, 0, rotated.io.errors.join("\n"));
    assert.match(String(rotated.json["next_step"]), /restart the relay with --key-file/);
    assert.is(((await stat(join(dir, "relay-2.key"))).mode & 0o777).toString(8), "600");
    const again = await admin(dir, "rotate-key", "--key-file", keyFile, "--new-key-file", join(dir, "relay-3.key"));
    assert.is(again.code, 1, "a superseded key cannot rotate again");
  });
});


test("admin reencrypt-credentials moves credentials and channel secrets to the new vault key, so the old key can go", async () => {
  await inTemp(async (dir) => {
    const dbPath = join(dir, "relay.db");
    const oldFile = join(dir, "osiris-vault.key");
    const newFile = join(dir, "osiris-vault-2026-11.key");
    const oldKey = await createVaultKeyFile(oldFile, secureRandom);
    const relay = await testRelay({ dbPath });
    try {
      const old = await vaultFromKeys([oldKey], secureRandom);
      relay.deps.vault = old;
      for (const target of ["fs01", "fs02"]) {
        await storeCredential(relay.db, old, { site_id: relay.siteId, target, kind: "ssh_password", username: "osiris", secret: "hunter2-hunter2", created_by: "test" }, relay.deps);
      }
      const res = await relay.app.request("/api/channels", userInit(await asUser(relay, "msp_admin"), "POST", { type: "webhook", scope: "msp", name: "on-call", url: "https://hooks.example.test/osiris", secret: "0123456789abcdef-secret" }));
      assert.is(res.status, 201, await res.clone().text());
    } finally {
      await relay.close();
    }
    await createVaultKeyFile(newFile, secureRandom);

    const missing = capture();
    assert.is(await runWith(["reencrypt-credentials", "--db", dbPath, "--vault-key-file", join(dir, "nope.key"), "--vault-previous-key-file", oldFile], missing), 1);
    assert.match(missing.errors.join("\n"), /nope\.key does not exist/);
    assert.is((await stat(join(dir, "nope.key")).then(() => true, () => false)), false, "no key file is created");

    const io = capture();
    assert.is(await runWith(["reencrypt-credentials", "--db", dbPath, "--vault-key-file", newFile, "--vault-previous-key-file", oldFile], io), 0, io.errors.join("\n"));
    assert.match(io.lines[0]!, /^re-encrypted 2 credentials and 1 notification channel secrets to vault key /);
    assert.match(io.lines[1]!, /nothing is left under older keys/);

    const again = await admin(dir, "reencrypt-credentials", "--vault-key-file", newFile, "--vault-previous-key-file", oldFile);
    assert.is(again.code, 0);
    assert.equal({ c: again.json["reencrypted_credentials"], s: again.json["reencrypted_channel_secrets"], r: again.json["remaining"] }, { c: 0, s: 0, r: 0 });

    // The relay now starts with the new key alone and finds nothing it cannot open.
    const log = memoryLog();
    const db = await openRelayDb(dbPath, { log: log.log, clock: systemClock });
    try {
      await createCredentialVault({ db, keyFile: newFile, random: secureRandom, log: log.log });
      assert.not.ok(log.entries.some((e) => e.event === "vault_keys_missing"), JSON.stringify(log.entries));
      assert.ok(log.entries.some((e) => e.event === "vault_loaded" && e.fields["credentials_under_old_keys"] === 0));
    } finally {
      db.close();
    }
  });
});

test("admin create-user takes the password from the environment only, and the user can then log in", async () => {
  await inTemp(async (dir) => {
    const msp = await admin(dir, "create-msp", "--name", "Acme IT");
    process.env[NEW_PASSWORD_ENV] = "a sufficiently long password";
    try {
      const created = await admin(dir, "create-user", "--msp", String(msp.json["id"]), "--email", "Admin@Acme.test", "--name", "Ada Admin", "--role", "msp_admin");
      assert.is(created.code, 0, created.io.errors.join("\n"));
      assert.match(String(created.json["user_id"]), /^usr_/);
      assert.is(created.json["email"], "admin@acme.test", "e-mails are stored lower-case");
      const twice = await admin(dir, "create-user", "--msp", String(msp.json["id"]), "--email", "admin@acme.test", "--name", "Again", "--role", "msp_tech");
      assert.is(twice.code, 1);
      assert.match(twice.io.errors.join("\n"), /already exists/);
      const badRole = await admin(dir, "create-user", "--msp", String(msp.json["id"]), "--email", "x@acme.test", "--name", "X", "--role", "root");
      assert.is(badRole.code, 2, "a malformed role is wrong input");
      assert.match(badRole.io.errors.join("\n"), /role/);
    } finally {
      delete process.env[NEW_PASSWORD_ENV];
    }
    const noPassword = await admin(dir, "create-user", "--msp", String(msp.json["id"]), "--email", "tech@acme.test", "--name", "T", "--role", "msp_tech");
    assert.is(noPassword.code, 2);
    assert.match(noPassword.io.errors.join("\n"), /password: required/);

    const db = await openRelayDb(join(dir, "relay.db"), { log: memoryLog().log, clock: systemClock });
    try {
      const { loginWithPassword } = await import("../relay/auth/login.ts");
      const r = await loginWithPassword({ db, clock: systemClock, random: secureRandom, log: memoryLog().log } as never, { email: "admin@acme.test", password: "a sufficiently long password" });
      assert.is(r.user.role, "msp_admin");
    } finally {
      db.close();
    }
  });
});

test.run();
