/**
 * `osiris evidence export --db URL --site ID --from ISO --to ISO --out kit.zip`: writes an auditor kit of a
 * site's evidence that `osiris evidence verify` checks offline, its manifest signed with the relay's key. The same database contents and arguments give
 * a byte-identical ZIP. Exit 0 when written (warnings name appliances left out or cut short), 1 when the relay
 * refuses or the file cannot be written, 2 on wrong usage (also a --db that is not an existing relay
 * database, or an --out that cannot be written: both are checked before the export starts).
 */
import { parseArgs } from "node:util";
import { writeKitZip } from "../protocol/kit-files.ts";
import type { RelayDb } from "../relay/db/index.ts";
import { systemClock } from "../relay/deps.ts";
import { RelayError } from "../relay/errors.ts";
import { exportKit } from "../relay/export/kit-export.ts";
import { currentRelayKey } from "../relay/keys/index.ts";
import { jsonLog } from "../relay/log.ts";
import { OutputFileError, outputFileProblem, writeFileAtomically } from "./output-file.ts";
import type { Io } from "./relay-admin.ts";
import { missingRelayDbProblem, openCommandDb } from "./relay-db.ts";
import { DEFAULT_DB, DEFAULT_KEY_FILE } from "./relay-serve.ts";

export const summary = "export a site's evidence as an auditor kit (ZIP)";

const USAGE = `Usage: osiris evidence export [--db URL|PATH] [--key-file PATH] --site SITE_ID --from TIME --to TIME --out kit.zip
  --db    relay database (default ./${DEFAULT_DB})
  --key-file  the relay's key file, which signs the kit's manifest (default ./${DEFAULT_KEY_FILE})
  --site  the site whose appliances' evidence goes in
  --from  start, inclusive: 2026-11-01 or 2026-11-01T00:00:00Z (UTC)
  --to    end, exclusive; each chain is extended to the next countersigned checkpoint
  --out   the ZIP to write`;

/** Parses `2026-11-01` (UTC midnight) or an RFC 3339 time; NaN otherwise. */
export function parseTime(text: string): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return Date.parse(`${text}T00:00:00.000Z`);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return NaN;
  return Date.parse(text);
}

export function run(args: string[]): Promise<number> {
  return runWith(args, { out: (l) => console.log(l), err: (l) => console.error(l) });
}

export async function runWith(args: string[], io: Io): Promise<number> {
  let v;
  try {
    v = parseArgs({ args, options: { db: { type: "string", default: DEFAULT_DB }, "key-file": { type: "string", default: DEFAULT_KEY_FILE }, site: { type: "string" }, from: { type: "string" }, to: { type: "string" }, out: { type: "string" }, help: { type: "boolean", short: "h" } } }).values;
  } catch (e) {
    io.err(`osiris evidence export: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (v.help) {
    io.out(USAGE);
    return 0;
  }
  if (!v.site || !v.from || !v.to || !v.out) {
    io.err(`osiris evidence export: --site, --from, --to and --out are required\n${USAGE}`);
    return 2;
  }
  const from = parseTime(v.from), to = parseTime(v.to);
  if (Number.isNaN(from) || Number.isNaN(to) || from >= to) {
    io.err(`osiris evidence export: --from and --to must be times like 2026-11-01 or 2026-11-01T00:00:00Z, --from first: got ${JSON.stringify(v.from)} and ${JSON.stringify(v.to)}`);
    return 2;
  }
  const problem = missingRelayDbProblem(v.db) ?? (await outputFileProblem("--out", v.out));
  if (problem) {
    io.err(`osiris evidence export: ${problem}`);
    return 2;
  }
  let db: RelayDb | undefined;
  try {
    db = await openCommandDb(v.db, io.log ?? jsonLog((l) => process.stderr.write(l), systemClock));
    const result = await exportKit(db, { siteId: v.site, from, to }, await currentRelayKey(db, v["key-file"]));
    const zip = writeKitZip(result.files);
    await writeFileAtomically(v.out, zip);
    io.out(`wrote ${v.out}: ${zip.length} bytes, ${result.appliances.length} appliance(s)`);
    for (const a of result.appliances) io.out(`  ${a.appliance_id}  seq ${a.first_seq}-${a.last_seq} (range ends at seq ${a.last_in_range})`);
    for (const w of result.warnings) io.err(`warning: ${w}`);
    return 0;
  } catch (e) {
    if (e instanceof RelayError || e instanceof OutputFileError) {
      io.err(`osiris evidence export: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    db?.close();
  }
}
