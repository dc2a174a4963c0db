import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { checkConfig, run } from "./appliance-check-config.ts";

const RIVERSIDE = fileURLToPath(new URL("../fixtures/lab/riverside-family-clinic/", import.meta.url));
const OSIRIS = fileURLToPath(new URL("../bin/osiris.js", import.meta.url));
const SECRET = "hunter2-do-not-print";

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const [log, error] = [console.log, console.error];
  let out = "";
  let err = "";
  console.log = (...a: unknown[]) => void (out += `${a.join(" ")}\n`);
  console.error = (...a: unknown[]) => void (err += `${a.join(" ")}\n`);
  try {
    return { code: await fn(), out, err };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-check-config-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const LAB_CONFIG = (dir: string) => `state_dir: ${dir}/state
site: { id: site_riverside01, name: Riverside Family Clinic, timezone: America/Chicago, healing_mode: enforce }
lab: { site_dir: ${RIVERSIDE} }
status_page: { bind: ["127.0.0.1"], mdns: false }
`;

test("check-config prints ok with site, healing mode, targets and standalone for a valid lab config, exit 0", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "appliance.yaml");
    await writeFile(file, LAB_CONFIG(dir));
    const r = await capture(() => run(["--config", file]));
    assert.is(r.code, 0, r.err);
    assert.is(r.err, "");
    assert.match(r.out, new RegExp(`^ok: ${file}\n`));
    assert.match(r.out, /site: +site_riverside01 \(Riverside Family Clinic\)/);
    assert.match(r.out, /healing mode: enforce/);
    assert.match(r.out, /targets: +\d+ \(\d+ simulated lab hosts\)/);
    assert.match(r.out, /relay: +none \(standalone\)/);
  });
});

test("check-config warns that a lab appliance's discovery would probe the real network", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "appliance.yaml");
    await writeFile(file, LAB_CONFIG(dir) + "discovery: { subnets: [192.168.10.0/24] }\n");
    const r = await capture(() => run(["--config", file]));
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /warning: discovery probes 192\.168\.10\.0\/24 on the real network, although this appliance's hosts are simulated \(lab\)/);
    await writeFile(file, LAB_CONFIG(dir));
    assert.not.match((await capture(() => run(["--config", file]))).out, /warning/, "no subnets, no warning");
  });
});

test("check-config names the relay URL when one is configured", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "appliance.yaml");
    await writeFile(file, "relay: { url: https://relay.example.com }\n");
    const r = await capture(() => run(["--config", file]));
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /relay: +https:\/\/relay\.example\.com/);
    assert.match(r.out, /site: +not set \(the relay assigns it at enrollment\)/);
    assert.match(r.out, /healing mode: observe \(until the relay's site settings replace it\)/);
    assert.match(r.out, /targets: +0\n/);
  });
});

test("check-config says what a config with neither relay.url nor site.id needs before the daemon starts", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "appliance.yaml");
    await writeFile(file, "{}\n");
    const r = await capture(() => run(["--config", file]));
    assert.is(r.code, 0, "valid: `osiris appliance enroll` can still connect it");
    assert.match(r.out, /site: +not set: without relay\.url, `osiris appliance run` needs site\.id here, unless the appliance was enrolled/);
    assert.match(r.out, /healing mode: observe\n/);
  });
});

test("check-config reports an unknown key with its did-you-mean and exits 2", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "appliance.yaml");
    await writeFile(file, "site: { healing_mod: enforce }\n");
    const r = await capture(() => run(["--config", file]));
    assert.is(r.code, 2);
    assert.is(r.out, "");
    assert.ok(r.err.includes(`${file}: site.healing_mod: unknown key "healing_mod" (did you mean "healing_mode"?)`), r.err);
  });
});

test("check-config prints every problem on its own line", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "appliance.yaml");
    await writeFile(file, "site: { healing_mode: fix }\nstatus_page: { port: 0 }\n");
    const r = await capture(() => run(["--config", file]));
    assert.is(r.code, 2);
    const lines = r.err.trim().split("\n");
    assert.is(lines.length, 2, r.err);
    assert.ok(lines.some((l) => l.startsWith(`${file}: site.healing_mode: expected one of observe | advise | enforce`)), r.err);
    assert.ok(lines.some((l) => l.startsWith(`${file}: status_page.port: must be at least 1`)), r.err);
  });
});

test("check-config reports a missing config file and exits 2", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "nope.yaml");
    const r = await capture(() => run(["--config", file]));
    assert.is(r.code, 2);
    assert.is(r.err.trim(), `${file}: cannot read: ENOENT`);
  });
});

test("check-config reports a lab site directory without a site.json", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "appliance.yaml");
    await writeFile(file, `lab: { site_dir: ${dir}/no-such-site }\n`);
    const r = await capture(() => run(["--config", file]));
    assert.is(r.code, 2);
    assert.match(r.err, /lab\.site_dir: .*no-such-site\/site\.json/);
  });
});

test("check-config counts credentials without printing any secret, and rejects a world-readable file", async () => {
  await withDir(async (dir) => {
    const creds = join(dir, "credentials.yaml");
    await writeFile(creds, `credentials:\n  clinic-admin: { type: password, username: 'CLINIC\\osiris', password: '${SECRET}' }\n`);
    await chmod(creds, 0o600);
    const file = join(dir, "appliance.yaml");
    await writeFile(file, `credentials_file: ${creds}\ntargets: [{ id: dc01, collector: winrm, address: 10.0.0.5, credential_ref: clinic-admin }]\n`);
    const ok = await capture(() => run(["--config", file]));
    assert.is(ok.code, 0, ok.err);
    assert.match(ok.out, /credentials: 1 entry in .*credentials\.yaml \(values not shown\)/);
    assert.not.ok(ok.out.includes(SECRET));

    await chmod(creds, 0o644);
    const bad = await capture(() => run(["--config", file]));
    assert.is(bad.code, 2);
    assert.match(bad.err, /credentials_file: .*mode 0600 or 0640/);
    assert.not.ok(bad.err.includes(SECRET));
  });
});

test("check-config accepts a systemd credential path that exists only at run time (NixOS build-time check)", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "appliance.yaml");
    await writeFile(file, "credentials_file: /run/credentials/osiris-appliance.service/credentials\n");
    const result = await checkConfig(file, () => false);
    assert.equal(result.problems, []);
    assert.ok(result.lines.some((l) => l.includes("not checked (systemd LoadCredential provides it when the service starts)")));
  });
});

test("check-config accepts the NixOS module's generated default config exactly as the module invokes it", async () => {
  const sample = fileURLToPath(new URL("../nixos/config-sample.default.json", import.meta.url));
  // nixos/module.nix: `${cfg.package}/bin/osiris appliance check-config --config ${rawConfigFile}`
  const { stdout } = await promisify(execFile)(process.execPath, [OSIRIS, "appliance", "check-config", "--config", sample]);
  assert.match(stdout, /^ok: .*config-sample\.default\.json\n/);
});

test("check-config without --config is a usage error (exit 2)", async () => {
  const r = await capture(() => run([]));
  assert.is(r.code, 2);
  assert.match(r.err, /--config FILE is required/);
});

test("check-config names schema errors, a duplicate target id and a bad lab.site_dir together in one run, exit 2", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "appliance.yaml");
    await writeFile(file, `state_dir: ${dir}/state
site: { healing_mod: enforce }
lab: { site_dir: ./no-such-lab }
targets:
  - { id: ws1, collector: lab, platform: beos }
  - { id: srv, collector: ssh, address: 10.0.0.5, port: 99999, credential_ref: x }
  - { id: ws2, collector: local }
  - { id: ws2, collector: local }
status_page: { port: 0 }
`);
    const r = await capture(() => run(["--config", file]));
    assert.is(r.code, 2);
    assert.is(r.out, "");
    assert.equal(r.err.trim().split("\n"), [
      `${file}: site.healing_mod: unknown key "healing_mod" (did you mean "healing_mode"?)`,
      `${file}: targets[0].platform: expected one of linux | windows | macos | appliance; saw "beos"`,
      `${file}: targets[1].port: must be at most 65535; saw 99999`,
      `${file}: targets[3].id: duplicates targets[2].id; saw "ws2"`,
      `${file}: status_page.port: must be at least 1; saw 0`,
      `${file}: lab.site_dir: Cannot read lab site ${join(dir, "no-such-lab", "site.json")}: ENOENT`,
    ]);
  });
});

test.run();
