import { createHash } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fixtureRelaySigner, generateSignedKitFiles } from "../fixtures/kit-generator.ts";
import { relayWitnessName } from "../protocol/checkpoint.ts";
import { createSigner, keyId } from "../protocol/crypto.ts";
import { writeKitZip } from "../protocol/kit-files.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const FIXTURE_DIR = join(ROOT, "fixtures/kits/valid");
const FIXTURE_ZIP = join(ROOT, "fixtures/kits/valid.zip");

async function osiris(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, "bin/osiris.js"), ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let tmp = "";
test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "osiris-verify-"));
});
test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test("the committed fixture kit is what scripts/fixtures/make-kit.ts generates today", async () => {
  const zip = writeKitZip(await generateSignedKitFiles());
  assert.equal(new Uint8Array(await readFile(FIXTURE_ZIP)), zip, "run: node --import tsx scripts/fixtures/make-kit.ts");
});

test("osiris evidence verify accepts the fixture kit as a ZIP and as a directory, and prints a summary", async () => {
  for (const path of [FIXTURE_ZIP, FIXTURE_DIR]) {
    const r = await osiris("evidence", "verify", path);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^OK .*24 bundles from 2 appliance\(s\), 2026-10-01T00:00:00\.000Z to 2026-10-01T02:45:03\.300Z/);
    assert.match(r.stdout, /app_fixture0000 +site site_fixture0001 +seq 1-12 +checkpoints at 5, 10, 12/);
    assert.match(r.stdout, /6 checkpoints, 6 witness signatures \(osiriscare\.relay\/[0-9a-f]{16}\)/);
    if (path === FIXTURE_ZIP) {
      const sha = createHash("sha256").update(await readFile(FIXTURE_ZIP)).digest("hex");
      assert.match(r.stdout, new RegExp(`SHA-256 ${sha}: compare it, and the witness key above, with the ones printed in the packet`));
    } else assert.not.match(r.stdout, /SHA-256/, "a directory has no ZIP hash to compare");
  }
});

async function tamperedCopy(name: string, edit: (bundles: string[]) => string[]): Promise<string> {
  const dir = join(tmp, name);
  await cp(FIXTURE_DIR, dir, { recursive: true });
  const lines = (await readFile(join(dir, "bundles.jsonl"), "utf8")).slice(0, -1).split("\n");
  await writeFile(join(dir, "bundles.jsonl"), edit(lines).map((l) => l + "\n").join(""));
  return dir;
}

test("osiris evidence verify exits 1 and names the first failing bundle for each kind of tampering", async () => {
  const cases: [string, (l: string[]) => string[], RegExp][] = [
    ["byte", (l) => l.map((x, i) => (i === 4 ? x.replace('"outcome":"pass"', '"outcome":"fail"') : x)), /line 5, appliance app_fixture0000, seq 5\n  bad_signature/],
    ["removed", (l) => l.filter((_, i) => i !== 6), /line 7, appliance app_fixture0000, seq 8\n  seq_gap/],
    ["duplicated", (l) => [...l.slice(0, 3), l[2]!, ...l.slice(3)], /line 4, appliance app_fixture0000, seq 3\n  seq_duplicate/],
    ["reordered", (l) => [l[0]!, l[2]!, l[1]!, ...l.slice(3)], /line 2, appliance app_fixture0000, seq 3\n  seq_gap/],
    ["truncated", (l) => l.filter((_, i) => i !== 23), /checkpoints\/app_fixture0001\/000000000012\.note.*\n  checkpoint_mismatch: .*bundles are missing/],
  ];
  for (const [name, edit, expected] of cases) {
    const r = await osiris("evidence", "verify", await tamperedCopy(name, edit));
    assert.is(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^FAIL /, name);
    assert.match(r.stdout, expected, `${name}: ${r.stdout}`);
  }
});

test("osiris evidence verify shows the relay's signed manifest, fails a file it does not list, and names what an unsigned kit leaves unproven", async () => {
  const ok = await osiris("evidence", "verify", FIXTURE_DIR);
  assert.match(ok.stdout, /manifest signed by osiriscare\.relay\/[0-9a-f]{16}: site site_fixture0001, 2026-10-01T00:00:00\.000Z to 2026-10-02T00:00:00\.000Z; every file and seq range as the relay exported them/);
  assert.not.match(ok.stdout, /NOT VERIFIED|NOT SIGNED/, "README.md and the manifest are part of a kit");

  const added = join(tmp, "added");
  await cp(FIXTURE_DIR, added, { recursive: true });
  await writeFile(join(added, "summary.pdf"), "%PDF- looks official");
  const a = await osiris("evidence", "verify", added);
  assert.is(a.code, 1, a.stdout + a.stderr);
  assert.match(a.stdout, /at summary\.pdf\n  manifest_mismatch: summary\.pdf is not in the relay's signed manifest\.json: it was added to the kit/);

  // Without the manifest: still verified, but said to be unsigned, with the file it did not check named.
  for (const f of ["manifest.json", "manifest.sig"]) await rm(join(added, f));
  const r = await osiris("evidence", "verify", added);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /NOT SIGNED: the kit has no relay-signed manifest, so its range \(a cut-off start\), README and file list are not confirmed by the relay/);
  assert.match(r.stdout, /NOT VERIFIED: 1 file\(s\) are not part of an auditor kit, so nothing about them is proven: summary\.pdf/);

  // The central directory's CRC of one entry changed: what a damaged download looks like to the reader.
  const zip = new Uint8Array(await readFile(FIXTURE_ZIP));
  const cd = zip.findLastIndex((_, i) => zip[i] === 0x50 && zip[i + 1] === 0x4b && zip[i + 2] === 1 && zip[i + 3] === 2);
  zip[cd + 16]! ^= 1;
  const damaged = join(tmp, "damaged.zip");
  await writeFile(damaged, zip);
  const d = await osiris("evidence", "verify", damaged);
  assert.is(d.code, 2, d.stdout + d.stderr);
  assert.match(d.stderr, /cannot read .*damaged\.zip: Kit entry \S+ is damaged: its CRC-32 does not match the one the ZIP records \(a corrupted download or copy: get the kit again\)/);
});

test("osiris evidence verify --relay-key ties a kit to the relay the auditor trusts: a kit rebuilt under another key fails", async () => {
  const realName = relayWitnessName(keyId(fixtureRelaySigner().publicKey));
  const plain = await osiris("evidence", "verify", FIXTURE_ZIP);
  assert.match(plain.stdout, /checked against the keys the kit carries: to tie it to your relay, run again with --relay-key and the relay key printed in the packet or given by your IT provider/);

  // The witness name as the packet prints it, or the key id alone.
  for (const key of [realName, realName.slice("osiriscare.relay/".length)]) {
    const r = await osiris("evidence", "verify", FIXTURE_ZIP, "--relay-key", key);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`manifest signed by ${realName.replace(".", "\\.")} \\(the relay key you gave\\)`));
    assert.not.match(r.stdout, /checked against the keys the kit carries/);
  }

  const stranger = createSigner(new Uint8Array(32).fill(9));
  const rebuilt = join(tmp, "rebuilt.zip");
  await writeFile(rebuilt, writeKitZip(await generateSignedKitFiles({ relay: stranger })));
  assert.is((await osiris("evidence", "verify", rebuilt)).code, 0, "on its own keys the rebuilt kit verifies");
  const r = await osiris("evidence", "verify", rebuilt, "--relay-key", realName);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`at manifest\\.sig\\n  untrusted_key: the manifest is signed by relay key ${keyId(stranger.publicKey)}, not by relay key ${keyId(fixtureRelaySigner().publicKey)}: this kit was not exported by the relay you trust, or was rebuilt under another key`));

  const bad = await osiris("evidence", "verify", FIXTURE_ZIP, "--relay-key", "osiriscare.relay/XYZ");
  assert.is(bad.code, 2);
  assert.is(bad.stderr.trim(), 'osiris evidence verify: --relay-key "osiriscare.relay/XYZ": expected a relay key as the packet prints it, osiriscare.relay/<16 lower-case hex digits>, or the 16 hex digits alone');
  assert.is(bad.stdout, "", "nothing is verified with a wrong option");
});

test("osiris evidence verify exits 1 for a kit that holds no evidence: it proves nothing", async () => {
  const dir = await tamperedCopy("empty", () => []);
  await rm(join(dir, "checkpoints"), { recursive: true });
  for (const f of ["manifest.json", "manifest.sig"]) await rm(join(dir, f)); // an unsigned kit of a range without evidence
  await writeFile(join(dir, "bundles.jsonl"), "");
  const r = await osiris("evidence", "verify", dir);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^EMPTY .*: the kit holds no evidence bundles, so nothing was verified/);
});

test("osiris evidence verify --json prints a machine-readable report", async () => {
  const r = await osiris("evidence", "verify", FIXTURE_ZIP, "--json");
  assert.is(r.code, 0);
  const report = JSON.parse(r.stdout);
  assert.is(report.ok, true);
  assert.is(report.bundles, 24);
});

test("osiris evidence verify exits 2 with a clear message for a missing path, no path, or a non-kit file", async () => {
  let r = await osiris("evidence", "verify", join(tmp, "nope.zip"));
  assert.is(r.code, 2);
  assert.match(r.stderr, /cannot read .*nope\.zip: no such file or directory/);
  r = await osiris("evidence", "verify");
  assert.is(r.code, 2);
  assert.match(r.stderr, /expected one PATH/);
  await writeFile(join(tmp, "notes.txt"), "hello");
  r = await osiris("evidence", "verify", join(tmp, "notes.txt"));
  assert.is(r.code, 2);
  assert.match(r.stderr, /neither a directory nor a ZIP/);
});

test("osiris --help lists the commands and osiris version prints the version", async () => {
  const help = await osiris("--help");
  assert.is(help.code, 0);
  assert.match(help.stdout, /evidence verify +verify an auditor kit/);
  const v = await osiris("version");
  assert.match(v.stdout, /^osiris \d+\.\d+\.\d+\n$/);
  const bad = await osiris("frobnicate");
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /unknown command 'frobnicate'/);
});

test.run();
