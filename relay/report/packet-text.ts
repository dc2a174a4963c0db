/**
 * The packet's words: number, time and duration formats (fixed, locale-free, so the bytes never depend on
 * the machine), labels, and the executive summary in plain language for a clinic owner. Pure.
 */
import { CATEGORY_TITLES, type Framework } from "../../protocol/catalogue/mod.ts";
import type { ControlReason } from "../scores/mod.ts";
import { median } from "./cadence.ts";
import type { PacketData } from "./packet-data.ts";

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/** HIPAA safeguards in the order the rule gives them, with their section. */
export const SAFEGUARDS = [
  { group: "administrative", title: "Administrative safeguards (§164.308)" },
  { group: "physical", title: "Physical safeguards (§164.310)" },
  { group: "technical", title: "Technical safeguards (§164.312)" },
] as const;

/** The words of a framework, so no packet of one framework speaks in another's terms. */
export interface FrameworkWords {
  short: string;
  long: string;
  /** The control groups in the framework's order with their titles; null: the catalogue's groups, which are titles already. */
  groups: readonly { group: string; title: string }[] | null;
  /** What the framework requires that no automatic check can show. */
  manual: string;
  /** The framework's name for the data it protects, and the records that hold it. */
  data: string;
  data_short: string;
  records: string;
}

export const FRAMEWORK_NAMES: Readonly<Record<Framework, FrameworkWords>> = {
  hipaa: {
    short: "HIPAA",
    long: "HIPAA Security Rule (45 CFR Part 164, Subpart C)",
    groups: SAFEGUARDS,
    manual: "Policies and procedures, the risk analysis, workforce training and sanctions, business associate agreements, contingency plan documents, facility and physical access controls",
    data: "PHI (protected health information)",
    data_short: "PHI",
    records: "patient records",
  },
  soc2: {
    short: "SOC 2",
    long: "SOC 2 Trust Services Criteria (Security and Availability)",
    groups: null,
    manual: "Policies and procedures, the risk assessment, security awareness training, vendor and business partner management, approval of changes, incident response and business continuity plans, physical access to facilities",
    data: "confidential or personal data",
    data_short: "confidential or personal data",
    records: "customer or patient records",
  },
  glba: {
    short: "GLBA",
    long: "GLBA Safeguards Rule (16 CFR 314.4)",
    groups: null,
    manual: "The written information security program, the Qualified Individual and the report to the board, the risk assessment, staff training, oversight of service providers, the incident response plan, physical access to customer information",
    data: "customer information (nonpublic personal information)",
    data_short: "customer information",
    records: "customer records",
  },
};

export const REASON_TEXT: Readonly<Record<ControlReason, string>> = {
  ready: "Ready",
  failing: "Not ready: a check is failing",
  unchecked: "Not ready: a check could not run",
  stale: "Not ready: evidence is too old",
  missing: "Not ready: a check has no results",
  no_data: "No data",
};

export const TIER_TEXT: Readonly<Record<string, string>> = { L1: "L1 automatic", L2: "L2 planned", L3: "L3 technician" };

/** "2026-09" → "September 2026". */
export function monthName(month: string): string {
  return `${MONTHS[Number(month.slice(5, 7)) - 1]} ${month.slice(0, 4)}`;
}

/** 1805 → "1,805". */
export function formatInt(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** 74 → "74%", 66.666… → "66.7%", null → "no data". */
export function formatPct(value: number | null): string {
  if (value === null) return "no data";
  const r = Math.round(value * 10) / 10;
  return `${Number.isInteger(r) ? r.toFixed(0) : r.toFixed(1)}%`;
}

/** ISO time → "2026-09-10 00:00 UTC". */
export function formatTime(iso: string | null): string {
  return iso === null ? "-" : `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** 108_000_000 → "30 h", 5_400_000 → "1 h 30 min", 2 days+ → "2 d 6 h". */
export function formatDuration(ms: number | null): string {
  if (ms === null) return "-";
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60), rest = minutes % 60;
  if (hours < 48) return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
  const days = Math.floor(hours / 24), h = hours % 24;
  return h === 0 ? `${days} d` : `${days} d ${h} h`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatInt(n)} ${n === 1 ? one : many}`;
}


/** How often the evidence shows computers being checked (cadence.ts), for the methodology. */
export function cadenceText(d: PacketData): string {
  const c = d.cadence;
  const how = "The appliance checks each computer on the schedule set in its configuration, and sooner after a check finds a new problem.";
  if (c.median_ms === null) return `${how} No computer had two check cycles this month, so this packet cannot say how often computers were checked.`;
  const spread = c.computers === 1 ? "" : c.fastest_ms === c.slowest_ms ? `; the same on all ${c.computers} computers` : `; from ${formatDuration(c.fastest_ms)} to ${formatDuration(c.slowest_ms)} across the ${c.computers} computers`;
  return `${how} In this month's evidence a computer was checked every ${formatDuration(c.median_ms)} (the median time between its check cycles${spread}).`;
}

/** The headline figures of the summary boxes. */
export function keyFigures(d: PacketData): { label: string; value: string; note: string }[] {
  const ready = d.controls.filter((c) => c.ready).length;
  const fixed = d.incidents.filter((i) => i.resolved_at !== null).length;
  return [
    { label: "Compliance score", value: formatPct(d.score.overall), note: [d.score.previous === null ? "previous month: no data" : `previous month: ${formatPct(d.score.previous)}`, ...staleNote(d)].join("; ") },
    { label: `${FRAMEWORK_NAMES[d.framework].short} controls ready`, value: `${ready} of ${d.controls.length}`, note: "every mapped check passes, with evidence fresh at month end" },
    { label: "Incidents", value: formatInt(d.incidents.length), note: `${fixed} fixed, ${d.incidents.length - fixed} open at month end` },
    { label: "Evidence bundles", value: formatInt(d.manifest.bundles), note: d.manifest.bundles === 0 ? "none received this month" : `${plural(d.manifest.appliances.length, "appliance")}; checked by the relay on receipt` },
  ];
}

/** The score box's warning when results behind the score are out of date. */
function staleNote(d: PacketData): string[] {
  const { results, stale } = d.score.basis;
  if (stale === 0) return [];
  return [stale === results ? `all ${plural(results, "result")} behind it ${results === 1 ? "is" : "are"} out of date` : `${formatInt(stale)} of ${plural(results, "result")} behind it out of date`];
}

/** Said on the cover and in the summary when any evidence behind the packet comes from the lab simulation (PacketData.simulated). */
export const SIMULATED_NOTICE =
  "SIMULATED: some or all of the evidence behind this packet comes from a test lab (the appliance's lab simulation), not from this clinic's real computers: this month's records, or the earlier ones its scores and carried-over incidents are built from. Do not use it as compliance evidence.";

/** The executive summary, one paragraph per point, for someone who is not a technician. */
export function executiveSummary(d: PacketData): string[] {
  const out: string[] = [];
  if (d.simulated) out.push(SIMULATED_NOTICE);
  const fw = FRAMEWORK_NAMES[d.framework].short;
  const month = monthName(d.month);
  const monthEnd = `${month} (${formatTime(d.period.to)})`;
  const prev = d.score.previous;
  const now = d.score.overall;
  if (now === null) {
    out.push(`At the end of ${monthEnd}, ${d.site.name} has no compliance score: no check results were received in the 30 days before. This is shown as "no data", never as a passing score.`);
  } else {
    const change = prev === null ? "" : now > prev ? `, up from ${formatPct(prev)} a month earlier` : now < prev ? `, down from ${formatPct(prev)} a month earlier` : ", the same as a month earlier";
    const { results, stale, newest_at } = d.score.basis;
    const what = "The score is the weighted share of automatic checks passing on the site's computers (latest result of each check on each computer).";
    let text: string;
    if (stale > 0 && stale === results) {
      text = `At the end of ${monthEnd}, ${d.site.name} scored ${formatPct(now)}${change}, but only from out-of-date results: none of the ${plural(results, "result")} behind it is newer than its check's freshness limit (the newest is from ${formatTime(newest_at)}). It shows the site as it was then, not at the end of the month. ${what}`;
    } else {
      text = `At the end of ${monthEnd}, ${d.site.name} scored ${formatPct(now)}${change}. ${what}`;
      if (stale > 0) text += ` ${formatInt(stale)} of the ${plural(results, "result")} behind the score ${stale === 1 ? "is older than its" : "are older than their"} check's freshness limit: ${stale === 1 ? "it still counts" : "they still count"}, but ${stale === 1 ? "shows" : "show"} an earlier state.`;
    }
    if (d.controls.length > 0 && !d.controls.some((c) => c.ready)) text += ` No ${fw} control was ready at the end of the month, so this score is not a sign that ${fw} controls are met.`;
    out.push(text);
  }

  const ready = d.controls.filter((c) => c.ready).length;
  const by = (r: ControlReason) => d.controls.filter((c) => c.reason === r).length;
  const notReady: string[] = [];
  if (by("failing")) notReady.push(`${by("failing")} with a failing check`);
  if (by("unchecked")) notReady.push(`${by("unchecked")} with a check that could not run (an error, or a computer that did not answer)`);
  if (by("stale")) notReady.push(`${by("stale")} with evidence that is too old`);
  if (by("missing")) notReady.push(`${by("missing")} missing results from at least one check`);
  if (by("no_data")) notReady.push(`${by("no_data")} with no automatic evidence at this site`);
  out.push(
    (ready === 0 ? `No ${fw} control was ready at the end of the month (0 of ${d.controls.length}).` : `${ready} of ${d.controls.length} ${fw} controls were ready: every automatic check behind them passed, with recent evidence.`) +
      (notReady.length ? ` Not ready: ${notReady.join("; ")}. Controls without automatic evidence still need documents and procedures outside this report.` : ""),
  );

  const weak = d.score.categories.filter((c) => c.score !== null && c.score < 100).sort((a, b) => a.score! - b.score! || a.weight - b.weight);
  if (weak.length) out.push(`Needs attention: ${weak.slice(0, 4).map((c) => `${CATEGORY_TITLES[c.category]} (${formatPct(c.score)})`).join(", ")}.`);

  const fixed = d.incidents.filter((i) => i.resolved_at !== null);
  if (d.incidents.length === 0) out.push("No incidents: no check failed during the month.");
  else {
    const ttf = median(fixed.flatMap((i) => (i.time_to_fix_ms === null ? [] : [i.time_to_fix_ms])));
    const tiers = ["L1", "L2", "L3"].map((t) => [t, d.incidents.filter((i) => i.tier === t).length] as const).filter(([, n]) => n > 0);
    const untouched = d.incidents.filter((i) => i.tier === null && !i.opened_earlier).length;
    // Failing since before the evidence read: an attempt made before then is not seen, so never "without a fix attempt".
    const earlier = d.incidents.filter((i) => i.tier === null && i.opened_earlier);
    const since = earlier.reduce((m, i) => (i.opened_at < m ? i.opened_at : m), earlier[0]?.opened_at ?? "");
    const handled = [
      ...tiers.map(([t, n]) => `${n} by ${t === "L1" ? "an automatic fix (L1)" : t === "L2" ? "a planned fix (L2)" : "a technician (L3)"}`),
      ...(untouched ? [`${untouched} without a fix attempt`] : []),
      ...(earlier.length ? [`${earlier.length} open since before ${formatTime(since)}, earlier than the evidence this packet reads (how ${earlier.length === 1 ? "it was" : "they were"} handled before then is in earlier months' packets)`] : []),
    ];
    out.push(
      `${plural(d.incidents.length, "incident")} (a check failing on a computer) ${d.incidents.length === 1 ? "was" : "were"} open during the month: ${fixed.length} fixed` +
        (ttf === null ? "" : ` (median time to fix ${formatDuration(ttf)})`) +
        `, ${d.incidents.length - fixed.length} still open at the end of the month. Handled: ${handled.join(", ")}.`,
    );
  }

  const uptimes = d.appliances.filter((a) => a.uptime_pct !== null).map((a) => a.uptime_pct!);
  if (uptimes.length) {
    const lo = Math.min(...uptimes), hi = Math.max(...uptimes);
    const share = uptimes.length === 1 ? `The OsirisCare appliance was working ${formatPct(lo)} of the hours in the month` : lo === hi ? `All ${uptimes.length} OsirisCare appliances were working ${formatPct(lo)} of the hours in the month` : `The ${uptimes.length} OsirisCare appliances were working between ${formatPct(lo)} and ${formatPct(hi)} of the hours in the month`;
    const gaps = d.appliances.reduce((m, a) => Math.max(m, a.longest_gap_ms), 0);
    out.push(share + (gaps > 0 ? `; the longest time without contact with the relay was ${formatDuration(gaps)} (evidence is kept on the appliance meanwhile and sent later).` : ", with no gap in contact with the relay longer than an hour."));
  }

  const integrity = d.manifest.integrity_incidents.length;
  if (d.manifest.bundles === 0) {
    out.push(`No evidence records were received for this month, so the auditor kit holds none. ${integrity === 0 ? "No integrity problems were recorded." : `${plural(integrity, "integrity problem")} ${integrity === 1 ? "was" : "were"} recorded: see the evidence manifest.`}`);
    return out;
  }
  out.push(
    `${formatInt(d.manifest.bundles)} evidence records from ${plural(d.manifest.appliances.length, "appliance")} are in the auditor kit (SHA-256 ${d.manifest.kit_sha256.slice(0, 16)}…). Each is signed by its appliance and chained to the one before it. ${VERIFICATION_TEXT} ${rechecked(d)} ` +
      (integrity === 0 ? "No integrity problems were recorded." : `${plural(integrity, "integrity problem")} ${integrity === 1 ? "was" : "were"} recorded: see the evidence manifest.`),
  );
  return out;
}

/**
 * What was verified, by whom and when. Generating a packet re-verifies nothing but the relay's cosignature
 * on each appliance's last checkpoint (packet-kit.ts); the bundles were verified at ingest. Never say more.
 */
export const VERIFICATION_TEXT =
  "The relay checked each record's signature and its place in its appliance's chain when it received it, and countersigned the appliance's checkpoints after checking them against the records it holds.";

/** What building the kit re-checked, and where to re-check the rest. */
function rechecked(d: PacketData): string {
  const kit = d.manifest.appliances;
  const cosigned = kit.filter((a) => (a.last_checkpoint?.witnesses.length ?? 0) > 0).length;
  const which = cosigned === kit.length ? "on each appliance's last checkpoint of the month" : `on the last checkpoint of ${cosigned} of the ${kit.length} appliances (the others have no countersigned checkpoint yet: see the evidence manifest)`;
  return `When this packet's auditor kit was built, the relay re-checked only its own countersignature ${which}. Anyone can re-check every record, signature and checkpoint with the auditor kit (osiris evidence verify), so a changed, missing or back-dated record is detectable.`;
}
