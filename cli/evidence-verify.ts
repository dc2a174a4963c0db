/**
 * `osiris evidence verify PATH [--relay-key KEY]... [--json]`: verifies an auditor kit (a directory or a ZIP) offline.
 * `--relay-key` names the relay key the auditor trusts (from the packet or the MSP): the kit must then carry a
 * manifest signed by it, so a kit rebuilt whole under another key fails instead of verifying against its own keys.
 * Exit 0: every bundle, link, signature and checkpoint is valid. Exit 1: the kit is not valid (the first
 * failure is named). Exit 2: the command was used wrongly or PATH cannot be read.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { type KitFiles, looksLikeZip, readKitZip } from "../protocol/kit-files.ts";
import { relayKeyIdOf } from "../protocol/checkpoint.ts";
import { sha256Hex } from "../protocol/hash.ts";
import { type KitReport, verifyKit } from "../protocol/kit.ts";
import { progressBar } from "./progress.ts";

export const summary = "verify an auditor kit (directory or ZIP) offline";

const USAGE = [
  "Usage: osiris evidence verify PATH [--relay-key KEY]... [--json]",
  "  PATH             an auditor kit directory or .zip",
  "  --relay-key KEY  the relay key you trust, as the packet prints it (osiriscare.relay/<16 hex digits>, or the",
  "                   16 hex digits alone); repeat it for a key rotation. The kit's manifest must be signed by it",
  "  --json           print the report as JSON",
  "Exit status: 0 verified, 1 a check failed or the kit holds no evidence, 2 the kit cannot be read or an option is wrong",
].join("\n");

/** A `--relay-key` value as a key id: the witness name the packet prints, or the key id alone. */
function parseRelayKeyOption(value: string): string {
  const id = relayKeyIdOf(value);
  if (id === null) throw new Error(`--relay-key ${JSON.stringify(value)}: expected a relay key as the packet prints it, osiriscare.relay/<16 lower-case hex digits>, or the 16 hex digits alone`);
  return id;
}

async function readKitDir(dir: string): Promise<KitFiles> {
  const files: KitFiles = new Map();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) files.set(relative(dir, p).split("\\").join("/"), new Uint8Array(await readFile(p)));
    }
  };
  await walk(dir);
  return files;
}

/** Reads a kit from a directory or a ZIP file (with the ZIP's SHA-256, which the packet prints). */
async function readKit(path: string): Promise<{ files: KitFiles; zipSha256: string | null }> {
  if ((await stat(path)).isDirectory()) return { files: await readKitDir(path), zipSha256: null };
  const bytes = new Uint8Array(await readFile(path));
  if (!looksLikeZip(bytes)) throw new Error(`${path} is neither a directory nor a ZIP archive`);
  return { files: readKitZip(bytes), zipSha256: sha256Hex(bytes) };
}

function printReport(path: string, report: KitReport, zipSha256: string | null, pinned: boolean): void {
  if (!report.ok) {
    const f = report.failure;
    const where = [f.file, f.line ? `line ${f.line}` : "", f.appliance_id ? `appliance ${f.appliance_id}` : "", f.seq ? `seq ${f.seq}` : ""].filter(Boolean).join(", ");
    console.log(`FAIL ${path}: ${report.bundles} bundles verified before the first failure`);
    console.log(`  at ${where}`);
    console.log(`  ${f.code}: ${f.reason}`);
    return;
  }
  if (report.bundles === 0) {
    console.log(`EMPTY ${path}: the kit holds no evidence bundles, so nothing was verified`);
    return;
  }
  const witnesses = report.checkpoints.reduce((n, c) => n + c.witnesses.length, 0);
  const names = [...new Set(report.checkpoints.flatMap((c) => c.witnesses.map((w) => w.name)))];
  console.log(`OK   ${path}: ${report.bundles} bundles from ${report.appliances.length} appliance(s), ${report.first_time ?? "-"} to ${report.last_time ?? "-"}`);
  for (const a of report.appliances) {
    const sizes = report.checkpoints.filter((c) => c.appliance_id === a.appliance_id).map((c) => c.size);
    console.log(`  ${a.appliance_id}  site ${a.site_id}  seq ${a.first_seq}-${a.last_seq}  checkpoints at ${sizes.join(", ")}  head ${a.head_hash.slice(0, 16)}`);
  }
  console.log(`  ${report.checkpoints.length} checkpoints, ${witnesses} witness signatures (${names.join(", ")})`);
  if (report.manifest) {
    console.log(`  manifest signed by ${report.manifest.name}${pinned ? " (the relay key you gave)" : ""}: site ${report.manifest.site_id}, ${report.manifest.from} to ${report.manifest.to}; every file and seq range as the relay exported them`);
  } else console.log("  NOT SIGNED: the kit has no relay-signed manifest, so its range (a cut-off start), README and file list are not confirmed by the relay");
  if (report.extra_files.length) console.log(`  NOT VERIFIED: ${report.extra_files.length} file(s) are not part of an auditor kit, so nothing about them is proven: ${report.extra_files.join(", ")}`);
  // What ties this kit to the packet it came with: a kit verifies against the keys it carries, so a copy
  // rebuilt with other keys would verify too; its SHA-256 and witness key would differ from the packet's.
  if (pinned) return;
  if (zipSha256 !== null) console.log(`  SHA-256 ${zipSha256}: compare it, and the witness key above, with the ones printed in the packet`);
  console.log("  checked against the keys the kit carries: to tie it to your relay, run again with --relay-key and the relay key printed in the packet or given by your IT provider");
}

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { json: { type: "boolean" }, "relay-key": { type: "string", multiple: true }, help: { type: "boolean", short: "h" } } });
  } catch (e) {
    console.error(`osiris evidence verify: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    console.error(`osiris evidence verify: expected one PATH, got ${parsed.positionals.length}\n${USAGE}`);
    return 2;
  }
  const path = parsed.positionals[0]!;
  let trustedRelayKeyIds: string[];
  try {
    trustedRelayKeyIds = (parsed.values["relay-key"] ?? []).map(parseRelayKeyOption);
  } catch (e) {
    console.error(`osiris evidence verify: ${(e as Error).message}`);
    return 2;
  }
  let files: KitFiles;
  let zipSha256: string | null;
  try {
    ({ files, zipSha256 } = await readKit(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    console.error(`osiris evidence verify: cannot read ${path}: ${err.code === "ENOENT" ? "no such file or directory" : err.message}`);
    return 2;
  }
  const bar = progressBar("verifying");
  const report = await verifyKit(files, { trustedRelayKeyIds, onProgress: (done, total) => bar.update(done, total) });
  bar.finish();
  if (parsed.values.json) console.log(JSON.stringify(report, null, 2));
  else printReport(path, report, zipSha256, trustedRelayKeyIds.length > 0);
  // An empty kit is not a failure of integrity, but it proves nothing: a script checking the exit code must not take it as verified.
  return report.ok && report.bundles > 0 ? 0 : 1;
}
