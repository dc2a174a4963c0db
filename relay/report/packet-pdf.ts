/**
 * Renders a packet's data (packet-data.ts) as a PDF: cover with the executive summary and key figures, score
 * trend and categories (vector charts), control posture, incidents, backups, patching, encryption, time sync,
 * access, appliance uptime and sync gaps, evidence manifest and methodology, with the partner's branding on
 * every page and page numbers.
 *
 * Same data → same bytes: the PDF's dates are the month's last second, nothing reads a clock or a random
 * source, and only standard fonts are used (pdf-doc.ts).
 */
import { CATEGORY_TITLES, catalogue, PLATFORMS } from "../../protocol/catalogue/mod.ts";
import { fromBase64 } from "../../protocol/encoding.ts";
import { barChart, scoreColor, trendChart } from "./pdf-charts.ts";
import { bullets, type Cell, COLORS, CONTENT_WIDTH, createDoc, decoratePages, type Doc, ensureSpace, finish, FONT, heading, PAGE, paragraph, pdfText, subheading, table } from "./pdf-doc.ts";
import { SCAN_LOOKBACK_MS } from "./evidence-scan.ts";
import { type ControlRow, type PacketData, type Topic, TOPICS } from "./packet-data.ts";
import { cadenceText, executiveSummary, FRAMEWORK_NAMES, SIMULATED_NOTICE, formatDuration, formatInt, formatPct, formatTime, keyFigures, monthName, REASON_TEXT, TIER_TEXT, VERIFICATION_TEXT } from "./packet-text.ts";

/** Incident rows printed; the rest are counted (all are in the kit). */
export const MAX_INCIDENT_ROWS = 200;

/** The section titles, in order (tests look for each in the text layer). */
export const SECTION_TITLES = [
  "Executive summary",
  "Score trend and categories",
  "Control posture",
  "Incidents and how they were handled",
  TOPICS.backup.title,
  TOPICS.patching.title,
  TOPICS.encryption.title,
  TOPICS.time.title,
  TOPICS.access.title,
  "Appliance uptime and sync gaps",
  "Evidence manifest",
  "Methodology",
] as const;

/** The purple the status page and dashboard use for their SIMULATED banners. */
const SIMULATED_COLOR = "#5b2a86";

const TOPIC_INTRO: Readonly<Record<Topic, string>> = {
  backup: "Whether backups ran recently and whether restoring from them was tested, on each computer that reports it.",
  patching: "Whether security updates are allowed to install and were installed recently.",
  encryption: "Whether stored data is encrypted (disk encryption) and connections use valid certificates.",
  time: "Whether computer clocks are synchronised. Accurate time keeps activity records and this evidence trustworthy.",
  access: "Who has administrator rights, whether guest accounts are off, and the sign-in protections of each computer.",
};

const statusCell = (status: string): Cell => ({ text: status === "not_applicable" ? "n/a" : status, bold: true, color: status === "pass" ? COLORS.pass : status === "fail" || status === "error" ? COLORS.fail : COLORS.none });

/** The packet PDF. */
export async function renderPacketPdf(d: PacketData): Promise<Uint8Array> {
  const fw = FRAMEWORK_NAMES[d.framework];
  const doc = createDoc({
    title: `${fw.short} compliance packet: ${d.site.name}, ${monthName(d.month)}`,
    author: d.branding.name,
    subject: `Monthly ${fw.long} packet for site ${d.site.id}`,
    keywords: `${fw.short}, compliance, ${d.month}, ${d.site.id}, kit ${d.manifest.kit_sha256}`,
    date: new Date(Date.parse(d.period.to) - 1000),
  });
  cover(doc, d);
  scores(doc, d);
  controls(doc, d);
  incidents(doc, d);
  for (const t of Object.keys(TOPICS) as Topic[]) topic(doc, d, t);
  appliances(doc, d);
  manifest(doc, d);
  methodology(doc, d);
  decoratePages(doc, {
    brand: d.branding.name,
    title: `${d.simulated ? "SIMULATED · " : ""}${fw.short} compliance packet · ${d.site.name} · ${monthName(d.month)}`,
    footer: `${d.site.name} (${d.site.id}) · ${d.month} · auditor kit SHA-256 ${d.manifest.kit_sha256.slice(0, 16)}… · OsirisCare`,
    primary: d.branding.primary,
  });
  return finish(doc);
}

function logo(doc: Doc, dataUrl: string | null): void {
  if (dataUrl === null) return;
  try {
    doc.image(Buffer.from(fromBase64(dataUrl.slice(dataUrl.indexOf(",") + 1))), PAGE.left + CONTENT_WIDTH - 150, PAGE.top - 20, { fit: [150, 54], align: "right", valign: "center" });
  } catch {
    // A logo pdfkit cannot decode is left out: branding must never stop a compliance packet.
  }
}

function cover(doc: Doc, d: PacketData): void {
  const fw = FRAMEWORK_NAMES[d.framework];
  logo(doc, d.branding.logo_data_url);
  doc.y = PAGE.top + 40;
  doc.font(FONT.bold).fontSize(22).fillColor(d.branding.primary).text(pdfText(`Monthly ${fw.short} compliance packet`), PAGE.left, doc.y, { width: CONTENT_WIDTH });
  doc.moveDown(0.2);
  doc.font(FONT.bold).fontSize(13).fillColor(COLORS.text).text(pdfText(`${d.site.name} · ${d.site.org_name}`), { width: CONTENT_WIDTH });
  doc.font(FONT.regular).fontSize(10).fillColor(COLORS.muted);
  doc.text(pdfText(`${monthName(d.month)}: ${formatTime(d.period.from)} to ${formatTime(d.period.to)} (exclusive); all times in UTC`), { width: CONTENT_WIDTH });
  doc.text(pdfText(`Framework: ${fw.long}`), { width: CONTENT_WIDTH });
  doc.text(pdfText(`Prepared by ${d.branding.name} with OsirisCare · site ${d.site.id} · catalogue ${d.catalogue_version}`), { width: CONTENT_WIDTH });
  doc.moveDown(1);
  if (d.simulated) simulatedBanner(doc);

  const figures = keyFigures(d);
  const gap = 8, w = (CONTENT_WIDTH - gap * (figures.length - 1)) / figures.length, h = 64, y = doc.y;
  figures.forEach((f, i) => {
    const x = PAGE.left + i * (w + gap);
    doc.rect(x, y, w, h).fill(COLORS.zebra);
    doc.rect(x, y, 3, h).fill(i === 0 ? scoreFigureColor(d) : d.branding.accent);
    doc.font(FONT.regular).fontSize(7.5).fillColor(COLORS.muted).text(pdfText(f.label), x + 9, y + 7, { width: w - 14 });
    doc.font(FONT.bold).fontSize(18).fillColor(i === 0 ? scoreFigureColor(d) : COLORS.text).text(pdfText(f.value), x + 9, y + 22, { width: w - 14, lineBreak: false });
    doc.font(FONT.regular).fontSize(7).fillColor(COLORS.muted).text(pdfText(f.note), x + 9, y + 45, { width: w - 14, lineBreak: false, ellipsis: true });
  });
  doc.x = PAGE.left;
  doc.y = y + h + 10;

  heading(doc, "Executive summary", d.branding.primary, 60);
  for (const p of executiveSummary(d)) paragraph(doc, p);
}

/**
 * The colour of the cover's score: the score's colour, but never green when results behind it are out of
 * date or no control is ready (a green score beside "0 of 26 ready" reads as good news it is not).
 */
export function scoreFigureColor(d: PacketData): string {
  const color = scoreColor(d.score.overall);
  const doubtful = d.score.basis.stale > 0 || !d.controls.some((c) => c.ready);
  return doubtful && color === COLORS.pass ? COLORS.warn : color;
}

/** The cover's band for a month with evidence from the lab simulation (the summary repeats it in words). */
function simulatedBanner(doc: Doc): void {
  const y = doc.y, h = 34;
  doc.rect(PAGE.left, y, CONTENT_WIDTH, h).fill(SIMULATED_COLOR);
  doc.font(FONT.bold).fontSize(9).fillColor("#ffffff").text(pdfText(SIMULATED_NOTICE), PAGE.left + 10, y + 6, { width: CONTENT_WIDTH - 20 });
  doc.x = PAGE.left;
  doc.y = y + h + 10;
}

function scores(doc: Doc, d: PacketData): void {
  heading(doc, "Score trend and categories", d.branding.primary, 220);
  subheading(doc, "Overall score at the end of each day", 200);
  trendChart(doc, d.score.trend, d.branding.primary);
  subheading(doc, "Score by category at the end of the month", 200);
  barChart(doc, d.score.categories.map((c) => ({ label: c.title, score: c.score, note: `weight ${c.weight}` })));
  paragraph(doc, "A category's score is the share of passing results among the latest result of each check on each computer (not-applicable results left out; errors count as not passing). The overall score weights categories as shown; categories with no data are left out of it.", { color: COLORS.muted, size: 8 });
  const { results, stale } = d.score.basis;
  if (stale > 0) paragraph(doc, `${formatInt(stale)} of the ${formatInt(results)} results behind these scores ${stale === 1 ? "is" : "are"} older than the check's freshness limit at the end of the month: ${stale === 1 ? "it counts" : "they count"} as reported, but ${stale === 1 ? "shows" : "show"} an earlier state (see the methodology).`, { color: COLORS.warn, size: 8 });
  if (d.score.unknown_checks.length) paragraph(doc, `Results of checks this catalogue does not know were left out: ${d.score.unknown_checks.join(", ")}.`, { color: COLORS.warn, size: 8 });
}

/** How the evidence column names the checks that hold a control back, by reason (missing results are listed anyway). */
const BLOCKING_TEXT: Partial<Record<ControlRow["reason"], string>> = { failing: "Failing at month end", unchecked: "Could not run", stale: "Evidence too old" };

function evidenceText(c: ControlRow): string {
  const none = (k: ControlRow["checks"][number]) => k.pass + k.fail + k.error + k.not_applicable === 0;
  const lines = c.checks
    .filter((k) => !none(k))
    .map((k) => `${k.check}: ${k.hosts} computer${k.hosts === 1 ? "" : "s"}, ${formatInt(k.pass)} pass, ${formatInt(k.fail)} fail${k.error ? `, ${formatInt(k.error)} error` : ""}${k.not_applicable ? `, ${formatInt(k.not_applicable)} n/a` : ""}; last ${formatTime(k.last_at)}`);
  const missing = c.checks.filter(none).map((k) => k.check);
  if (missing.length) lines.push(`No results this month: ${missing.join(", ")}`);
  // A control held back by a failing, unrunnable or stale check names it first: that is what to look at.
  const heldBack = BLOCKING_TEXT[c.reason];
  const named = c.blocking.filter((id) => !missing.includes(id)); // those without results are listed above
  if (!c.ready && heldBack && named.length) lines.unshift(`${heldBack}: ${named.join(", ")}`);
  if (c.out_of_scope) lines.push(`${c.out_of_scope} mapped check${c.out_of_scope === 1 ? "" : "s"} for platforms not at this site`);
  return lines.length ? lines.join("\n") : "No automatic check maps here; evidence is procedural.";
}

function controls(doc: Doc, d: PacketData): void {
  const fw = FRAMEWORK_NAMES[d.framework];
  heading(doc, "Control posture", d.branding.primary);
  paragraph(doc, `Each ${fw.short} control the automatic checks support, and whether it was ready at the end of the month. A control is ready only when every mapped check that applies to this site's platforms passes on every computer, with evidence younger than the check's freshness limit. The evidence column counts this month's results behind it.`);
  const groups = (fw.groups ?? [...new Set(d.controls.map((c) => c.group))].map((g) => ({ group: g, title: g }))).map((g) => ({ key: g.group, title: g.title }));
  for (const g of groups) {
    const rows = d.controls.filter((c) => c.group === g.key);
    if (rows.length === 0) continue;
    const ready = rows.filter((c) => c.ready).length;
    subheading(doc, `${g.title}: ${ready} of ${rows.length} ready`);
    table(
      doc,
      [
        { header: "Control", width: 0.17 },
        { header: "Requirement", width: 0.18 },
        { header: "Status", width: 0.15 },
        { header: "Evidence this month", width: 0.5 },
      ],
      rows.map((c) => [
        { text: c.id, bold: true },
        c.title,
        { text: REASON_TEXT[c.reason], bold: true, color: c.ready ? COLORS.pass : c.reason === "no_data" ? COLORS.none : COLORS.fail },
        { text: evidenceText(c), size: 7.5 },
      ]),
      { headerColor: d.branding.primary, size: 8 },
    );
  }
}

function incidents(doc: Doc, d: PacketData): void {
  heading(doc, "Incidents and how they were handled", d.branding.primary);
  const r = d.remediations;
  const tiers = Object.entries(r.by_tier).map(([t, n]) => `${TIER_TEXT[t] ?? "no tier"} ${n}`).join(", ");
  const outcomes = Object.entries(r.by_outcome).map(([o, n]) => `${o} ${n}`).join(", ");
  paragraph(doc, `An incident is a check failing on a computer, from its first failing result until the check passes again. Handling: L1 is an automatic fix by a built-in or approved rule, L2 a fix planned by the relay and checked against the catalogue, L3 a technician. ${formatInt(r.total)} healing attempt${r.total === 1 ? "" : "s"} were recorded this month${r.total ? ` (${tiers}; outcomes: ${outcomes})` : ""}.`);
  if (d.incidents.length === 0) {
    paragraph(doc, "No incidents this month.", { font: FONT.bold });
    return;
  }
  const shown = d.incidents.slice(0, MAX_INCIDENT_ROWS);
  table(
    doc,
    [
      { header: "Opened", width: 0.13 },
      { header: "Computer", width: 0.1 },
      { header: "Check", width: 0.24 },
      { header: "Severity", width: 0.08 },
      { header: "Handled by", width: 0.11 },
      { header: "Outcome", width: 0.1 },
      { header: "Fixed", width: 0.13 },
      { header: "Time to fix", width: 0.11, align: "right" },
    ],
    shown.map((i) => {
      const check = catalogue.findCheck(i.check);
      return [
        i.opened_earlier ? `before ${formatTime(i.opened_at)}` : formatTime(i.opened_at),
        i.host_id,
        `${check?.title ?? i.check}\n${i.check}`,
        check?.severity ?? "-",
        i.tier === null ? (i.opened_earlier ? "none seen (see earlier packets)" : "no attempt") : (TIER_TEXT[i.tier] ?? i.tier),
        i.outcome ?? "-",
        i.resolved_at === null ? { text: "open", bold: true, color: COLORS.fail } : formatTime(i.resolved_at),
        i.resolved_at !== null && i.time_to_fix_ms === null ? "unknown" : formatDuration(i.time_to_fix_ms),
      ];
    }),
    { headerColor: d.branding.primary, size: 7.5 },
  );
  if (d.incidents.length > shown.length) paragraph(doc, `${formatInt(d.incidents.length - shown.length)} more incidents are not listed; all of them are in the auditor kit.`, { color: COLORS.muted });
}

function topic(doc: Doc, d: PacketData, t: Topic): void {
  heading(doc, TOPICS[t].title, d.branding.primary);
  paragraph(doc, TOPIC_INTRO[t]);
  const { rows, total } = d.topics[t];
  if (rows.length === 0) paragraph(doc, "No results this month: no check in this area ran at this site.", { font: FONT.bold, color: COLORS.none });
  else {
    table(
      doc,
      [
        { header: "Check", width: 0.27 },
        { header: "Computer", width: 0.1 },
        { header: "At month end", width: 0.1 },
        { header: "This month (pass / fail / error)", width: 0.15 },
        { header: "Last result", width: 0.14 },
        { header: "Latest value", width: 0.24 },
      ],
      rows.map((r) => [`${r.title}\n${r.check}`, r.host_id, statusCell(r.status), `${formatInt(r.pass)} / ${formatInt(r.fail)} / ${formatInt(r.error)}`, formatTime(r.last_at), { text: r.actual, mono: true }]),
      { headerColor: d.branding.primary, size: 7.5 },
    );
    if (total > rows.length) paragraph(doc, `${formatInt(total - rows.length)} more rows are not listed; all results are in the auditor kit.`, { color: COLORS.muted });
  }
  if (t === "time") {
    subheading(doc, "Appliance clock offsets (NTP)", 60);
    bullets(doc, d.appliances.map((a) => (a.ntp.samples === 0 ? `${a.appliance_id}: no NTP offset recorded this month` : `${a.appliance_id}: largest offset ${formatInt(a.ntp.max_abs_ms!)} ms, last ${formatInt(a.ntp.last_ms!)} ms (${formatInt(a.ntp.samples)} records)`)));
  }
}

function appliances(doc: Doc, d: PacketData): void {
  heading(doc, "Appliance uptime and sync gaps", d.branding.primary);
  paragraph(doc, "Uptime is the share of the month's hours (since enrollment) in which the appliance wrote at least one evidence record. A sync gap is more than an hour without contact with the relay; the appliance keeps checking and sends the evidence when it is back, so a gap delays evidence but does not lose it.");
  if (d.appliances.length === 0) {
    paragraph(doc, "No appliance was enrolled at this site during the month.", { font: FONT.bold, color: COLORS.none });
    return;
  }
  table(
    doc,
    [
      { header: "Appliance", width: 0.27 },
      { header: "Enrolled", width: 0.15 },
      { header: "Hours with evidence", width: 0.13, align: "right" },
      { header: "Uptime", width: 0.09, align: "right" },
      { header: "Sync gaps", width: 0.08, align: "right" },
      { header: "Longest gap", width: 0.13, align: "right" },
      { header: "Longest upload delay", width: 0.15, align: "right" },
    ],
    d.appliances.map((a) => [
      { text: `${a.appliance_id}\n${a.state}${a.revoked_at ? ` ${formatTime(a.revoked_at)}` : ""}`, mono: true },
      formatTime(a.enrolled_at),
      `${formatInt(a.hours_with_evidence)} of ${formatInt(a.hours_expected)}`,
      { text: formatPct(a.uptime_pct), bold: true, color: scoreColor(a.uptime_pct) },
      formatInt(a.sync_gaps),
      formatDuration(a.longest_gap_ms || null),
      formatDuration(a.max_delay_ms || null),
    ]),
    { headerColor: d.branding.primary, size: 7.5 },
  );
  for (const a of d.appliances) {
    const kinds = Object.entries(a.kinds).map(([k, n]) => `${k} ${formatInt(n)}`).join(", ");
    subheading(doc, `${a.appliance_id}: ${formatInt(a.bundles)} records this month${kinds ? ` (${kinds})` : ""}`, 50);
    if (a.gaps.length === 0) paragraph(doc, "No sync gap longer than an hour.", { color: COLORS.muted });
    else bullets(doc, a.gaps.map((g) => `${formatTime(g.from)} to ${formatTime(g.to)}: ${formatDuration(g.ms)} without contact`));
    if (a.sync_gaps > a.gaps.length) paragraph(doc, `${a.sync_gaps - a.gaps.length} shorter gaps are not listed.`, { color: COLORS.muted, size: 8 });
  }
}

function manifest(doc: Doc, d: PacketData): void {
  const m = d.manifest;
  heading(doc, "Evidence manifest", d.branding.primary);
  paragraph(doc, `The auditor kit for this month holds ${formatInt(m.bundles)} evidence bundles from ${m.appliances.length} appliance${m.appliances.length === 1 ? "" : "s"}, their checkpoints with the relay's witness cosignatures, and the appliances' public keys from enrollment (${formatInt(m.kit_bytes)} bytes). ${VERIFICATION_TEXT} When the kit was built, the relay re-checked its cosignature on each appliance's last checkpoint (below) and nothing else; the kit lets anyone re-check the rest. Its SHA-256:`);
  paragraph(doc, m.kit_sha256, { font: FONT.mono, size: 9 });
  for (const a of m.appliances) {
    const enrolled = d.appliances.find((x) => x.appliance_id === a.appliance_id);
    ensureSpace(doc, 90);
    subheading(doc, a.appliance_id, 80);
    const lines = [
      enrolled ? `Evidence key ${enrolled.key_id}, fingerprint ${enrolled.fingerprint}` : null,
      enrolled ? `Enrolled ${formatTime(enrolled.enrolled_at)} by ${enrolled.enrolled_via === "claim_code" ? "claim code" : "pending acceptance"}${enrolled.enrolled_by ? ` issued by ${enrolled.enrolled_by}` : ""}; ${enrolled.state}` : null,
      `Bundles in the kit: seq ${a.first_seq} to ${a.last_seq} (${formatInt(a.bundles)}); the month ends at seq ${a.last_in_range}; ${formatInt(a.checkpoints)} checkpoints`,
      a.last_checkpoint ? `Last checkpoint: tree size ${a.last_checkpoint.size}, root ${a.last_checkpoint.root}` : "No countersigned checkpoint covers the last bundle",
      ...(a.last_checkpoint?.witnesses ?? []).map((w) => `Witness ${w.name}, cosigned ${formatTime(w.time)}, re-checked when this kit was built:\n  ${w.signature}`),
    ].filter((l): l is string => l !== null);
    paragraph(doc, lines.join("\n"), { font: FONT.mono, size: 7.5 });
  }
  if (m.appliances.length === 0) paragraph(doc, "No evidence this month.", { font: FONT.bold, color: COLORS.none });
  for (const w of m.warnings) paragraph(doc, `Note: ${w}`, { color: COLORS.warn, size: 8.5 });
  subheading(doc, "Integrity incidents", 60);
  if (m.integrity_incidents.length === 0) paragraph(doc, "None recorded: no fork, gap, bad signature or mismatching checkpoint was seen from this site's appliances during the month.");
  else {
    table(
      doc,
      [
        { header: "First seen", width: 0.18 },
        { header: "Appliance", width: 0.3 },
        { header: "Kind / code", width: 0.22 },
        { header: "Seq", width: 0.1, align: "right" },
        { header: "Times", width: 0.2, align: "right" },
      ],
      m.integrity_incidents.map((i) => [formatTime(i.first_seen), { text: i.appliance_id, mono: true }, `${i.kind} / ${i.code}`, i.seq ? String(i.seq) : "-", formatInt(i.occurrences)]),
      { headerColor: d.branding.primary, size: 7.5 },
    );
  }
  subheading(doc, "How to verify", 60);
  bullets(doc, [
    "Compare the kit's SHA-256 (sha256sum kit.zip) with the value above.",
    `Run: osiris evidence verify kit.zip${m.signed_by ? ` --relay-key ${m.signed_by}` : ""}. It checks every signature, the hash chain and seq of each appliance, the Merkle root of every checkpoint, the relay's witness cosignatures and the relay's signed manifest of the kit (so a kit cut short at either end, or with a file changed or added, fails), and names the first problem it finds.`,
    ...(m.signed_by ? [`The relay key ${m.signed_by} signed the kit's manifest. Confirm that key with your IT provider: given it, the command above fails for a kit rebuilt under any other key, instead of verifying it against the keys it carries.`] : []),
    "Or in a browser, installing nothing: open /verify on your IT provider's relay and pick the kit. It is checked on your computer and not uploaded.",
    "Or by hand, following the README.md inside the kit (which bytes are signed, how hashes chain, how to check a checkpoint).",
  ]);
}

function methodology(doc: Doc, d: PacketData): void {
  const fw = FRAMEWORK_NAMES[d.framework];
  heading(doc, "Methodology", d.branding.primary);
  const checks = catalogue.listChecks();
  const perPlatform = PLATFORMS.map((p) => `${checks.filter((c) => c.platform === p).length} ${p}`).join(", ");
  subheading(doc, "What is checked automatically", 60);
  bullets(doc, [
    `${checks.length} automatic checks (catalogue ${d.catalogue_version}: ${perPlatform}) in ${Object.values(CATEGORY_TITLES).length} categories. ${cadenceText(d)}`,
    "Each check compares settings and status (for example disk encryption, firewall, updates, backups, administrator accounts, clock) with the expected value and records pass, fail, error or not applicable. A computer that cannot be reached counts as error, never as pass.",
    "Score: the latest result of each check on each computer within 30 days, the same score the dashboard and portal show. No result is shown as \"no data\", never as 100%.",
    "A result older than its check's freshness limit still counts in the score, so an old failure keeps counting against the site and the score does not rise because evidence stopped coming. The packet says how many results behind the score are out of date, and does not show such a score, or a score with no control ready, in green. Readiness never counts an out-of-date result as passing.",
    "Readiness: a control is ready only when every mapped check that applies passes on every computer, with evidence younger than the check's freshness limit.",
    `Incidents are rebuilt from the signed evidence: from a check's first failing result until it passes again, with the healing attempts recorded for it, including those made before the month for an incident carried into it. The evidence read goes back ${Math.round(SCAN_LOOKBACK_MS / 86_400_000)} days before the month; an incident already failing then is shown as open since before that time, and its earlier handling is in earlier packets.`,
  ]);
  subheading(doc, "What is not checked automatically", 60);
  bullets(doc, [
    `${fw.manual}: these need documents and review outside this report.`,
    "Computers that are not enrolled as targets of the appliance, and cloud services, are not checked.",
  ]);
  subheading(doc, "Privacy", 40);
  bullets(doc, [
    `No ${fw.data} is processed: the appliance reads configuration and status only. It does not open, copy or send ${fw.records}, and evidence holds no ${fw.data_short} and no passwords or keys.`,
    "The packet is generated from the evidence the relay holds; generating it again from the same evidence gives the same bytes.",
  ]);
  subheading(doc, "Times", 40);
  bullets(doc, [
    `All times in this packet are UTC (Coordinated Universal Time), printed as YYYY-MM-DD HH:MM UTC; the month, its days and "the end of the month" are UTC too. The site's own time zone (${d.site.timezone}) is not used here, so a screen that shows local time shows the same moments at other clock times.`,
  ]);
}
