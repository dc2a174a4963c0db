/**
 * `osiris report <subcommand>` against the relay database:
 *   osiris report packet --db URL --site ID --month YYYY-MM [--framework hipaa|soc2|glba] --out FILE.pdf [--kit FILE.zip]
 *   osiris report sites --db URL
 * `packet` produces the same packet the dashboard serves: it is generated once per (site, month, framework),
 * stored with its SHA-256 and written to --out (again on later runs, byte for byte). Exit 0 on success, 1
 * when the relay refuses (unknown site, month not over or before the site existed) or the file cannot be
 * written, 2 on wrong usage (also a --db that is not an existing relay database, or an --out that cannot be
 * written: both are checked before anything is generated).
 */
import { parseArgs } from "node:util";
import { FRAMEWORKS } from "../protocol/catalogue/mod.ts";
import { ValidationError } from "../protocol/errors.ts";
import { num, str, strOrNull, type RelayDb } from "../relay/db/index.ts";
import { secureRandom, systemClock } from "../relay/deps.ts";
import { RelayError } from "../relay/errors.ts";
import { jsonLog } from "../relay/log.ts";
import { MONTH_PATTERN, parseFramework } from "../relay/report/month.ts";
import { generatePacket, packetKit, packetPdf } from "../relay/report/packets.ts";
import { FRAMEWORK_NAMES, formatInt, formatPct, monthName } from "../relay/report/packet-text.ts";
import { OutputFileError, outputFileProblem, writeFileAtomically } from "./output-file.ts";
import type { Io } from "./relay-admin.ts";
import { missingRelayDbProblem, openCommandDb } from "./relay-db.ts";
import { DEFAULT_DB, DEFAULT_KEY_FILE } from "./relay-serve.ts";
import { currentRelayKey } from "../relay/keys/index.ts";

export const summary = "monthly compliance packets (PDF) and the sites they cover";

const USAGE = `Usage: osiris report packet [--db URL|PATH] [--key-file PATH] --site SITE_ID --month YYYY-MM [--framework hipaa|soc2|glba] --out FILE.pdf [--kit FILE.zip]
       osiris report sites [--db URL|PATH]
  --db         relay database (default ./${DEFAULT_DB})
  --key-file   the relay's key file, which signs the auditor kit's manifest (default ./${DEFAULT_KEY_FILE})
  --site       the site the packet covers
  --month      a month that has ended, e.g. 2026-10 (UTC)
  --framework  ${FRAMEWORKS.join(", ")} (default hipaa)
  --out        where to write the PDF
  --kit        also write the auditor kit (ZIP) the packet references`;

export function run(args: string[]): Promise<number> {
  return runWith(args, { out: (l) => console.log(l), err: (l) => console.error(l) });
}

export async function runWith(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    (sub === undefined ? io.err : io.out)(USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== "packet" && sub !== "sites") {
    io.err(`osiris report: unknown subcommand ${JSON.stringify(sub)}\n${USAGE}`);
    return 2;
  }
  let v;
  try {
    v = parseArgs({
      args: rest,
      options: { db: { type: "string", default: DEFAULT_DB }, "key-file": { type: "string", default: DEFAULT_KEY_FILE }, site: { type: "string" }, month: { type: "string" }, framework: { type: "string", default: "hipaa" }, out: { type: "string" }, kit: { type: "string" }, help: { type: "boolean", short: "h" } },
    }).values;
  } catch (e) {
    io.err(`osiris report ${sub}: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (v.help) {
    io.out(USAGE);
    return 0;
  }
  if (sub === "packet") {
    if (!v.site || !v.month || !v.out) {
      io.err(`osiris report packet: --site, --month and --out are required\n${USAGE}`);
      return 2;
    }
    if (!MONTH_PATTERN.test(v.month)) {
      io.err(`osiris report packet: --month must be a month like 2026-10: got ${JSON.stringify(v.month)}`);
      return 2;
    }
    if (!(FRAMEWORKS as readonly string[]).includes(v.framework)) {
      io.err(`osiris report packet: --framework must be one of ${FRAMEWORKS.join(", ")}: got ${JSON.stringify(v.framework)}`);
      return 2;
    }
  }
  // Checked before anything is generated or stored: a packet must not be stored for a file that cannot be written.
  const problems = [missingRelayDbProblem(v.db), ...(sub === "packet" ? [await outputFileProblem("--out", v.out!), v.kit ? await outputFileProblem("--kit", v.kit) : null] : [])];
  const problem = problems.find((p) => p !== null);
  if (problem) {
    io.err(`osiris report ${sub}: ${problem}`);
    return 2;
  }
  let db: RelayDb | undefined;
  const log = io.log ?? jsonLog((l) => process.stderr.write(l), systemClock);
  try {
    db = await openCommandDb(v.db, log);
    if (sub === "sites") return await sites(db, io);
    const deps = { db, clock: systemClock, random: secureRandom, log, relayKey: await currentRelayKey(db, v["key-file"]) };
    const { packet, created } = await generatePacket(deps, { site_id: v.site!, month: v.month!, framework: parseFramework(v.framework), actor: "cli" });
    const pdf = (await packetPdf(db, packet.id))!.pdf;
    await writeFileAtomically(v.out!, pdf);
    const s = packet.summary;
    io.out(`wrote ${v.out}: ${formatInt(pdf.length)} bytes, SHA-256 ${packet.sha256}`);
    io.out(`  ${FRAMEWORK_NAMES[packet.framework].short} packet, ${monthName(packet.month)}, site ${packet.site_id}: score ${formatPct(s.overall)}, ${s.controls_ready} of ${s.controls_total} controls ready, ${s.incidents} incidents (${s.incidents_open} open)`);
    io.out(`  auditor kit SHA-256 ${packet.kit_sha256}: ${formatInt(s.bundles)} bundles from ${s.appliances} appliance(s)`);
    io.out(`  ${created ? "generated now and stored" : `stored since ${packet.generated_at} (by ${packet.generated_by})`} as ${packet.id}`);
    if (v.kit) {
      const kit = (await packetKit(db, packet.id))!.zip;
      await writeFileAtomically(v.kit, kit);
      io.out(`wrote ${v.kit}: ${formatInt(kit.length)} bytes; check it with: osiris evidence verify ${v.kit}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof RelayError || e instanceof ValidationError || e instanceof OutputFileError) {
      io.err(`osiris report ${sub}: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    db?.close();
  }
}

async function sites(db: RelayDb, io: Io): Promise<number> {
  const rs = await db.execute(
    `SELECT s.id, s.name, o.name AS org_name,
            (SELECT COUNT(*) FROM appliances a WHERE a.site_id = s.id AND a.state = 'active') AS appliances,
            (SELECT MAX(month) FROM packets p WHERE p.site_id = s.id) AS last_packet
       FROM sites s JOIN organisations o ON o.id = s.org_id ORDER BY o.name, s.name, s.id`,
  );
  if (rs.rows.length === 0) {
    io.out("no sites");
    return 0;
  }
  for (const r of rs.rows) {
    const last = strOrNull(r, "last_packet");
    io.out(`${str(r, "id")}  ${str(r, "name")} (${str(r, "org_name")}): ${num(r, "appliances")} active appliance(s), ${last ? `last packet ${last}` : "no packet yet"}`);
  }
  return 0;
}
