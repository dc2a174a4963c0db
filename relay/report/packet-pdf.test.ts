import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import QRCode from "qrcode";
import { sha256Hex } from "../../protocol/hash.ts";
import { createPartner } from "../tenants/tenants.ts";
import { enrolledAppliance, random, testRelay } from "../_testing.ts";
import { pushCycles, type Cycle } from "../sites/_fixtures.ts";
import { COLORS } from "./pdf-doc.ts";
import { SEPTEMBER, septemberRelay } from "./_month-fixture.ts";
import type { PacketData } from "./packet-data.ts";
import { SECTION_TITLES, scoreFigureColor } from "./packet-pdf.ts";
import { buildPacket, generatePacket, type PacketDeps } from "./packets.ts";

const exec = promisify(execFile);
const { relay, a } = await septemberRelay();
const deps: PacketDeps = { db: relay.db, clock: relay.clock, random, log: relay.log, relayKey: relay.relayKey };
relay.clock.t = Date.UTC(2026, 9, 1, 6);
const req = { site_id: relay.siteId, month: SEPTEMBER.month, framework: "hipaa" as const };
const out = await mkdtemp(join(tmpdir(), "osiris-packet-pdf-"));
console.log(`packet PDFs and page PNGs: ${out}`);

/** The text layer: `text` as laid out on the page, `flat` in reading order (pdftotext -raw) on one line, as a reader reads it. */
async function pdfText(name: string, pdf: Uint8Array): Promise<{ text: string; flat: string; pages: number; info: string }> {
  const path = join(out, `${name}.pdf`);
  await writeFile(path, pdf);
  const info = (await exec("pdfinfo", ["-isodates", path])).stdout;
  const text = (await exec("pdftotext", ["-layout", path, "-"])).stdout;
  const raw = (await exec("pdftotext", ["-raw", path, "-"])).stdout;
  return { text: text.replace(/[ \t]+/g, " "), flat: raw.replace(/\s+/g, " "), pages: Number(/Pages:\s+(\d+)/.exec(info)?.[1]), info };
}

test("the same evidence gives the same PDF bytes, whenever and however often it is generated", async () => {
  const one = await buildPacket(deps, req);
  relay.clock.t += 5 * 86_400_000;
  const two = await buildPacket(deps, req);
  assert.ok(Buffer.from(one.pdf).equals(Buffer.from(two.pdf)), "byte-identical");
  const stored = await generatePacket(deps, { ...req, actor: "scheduler" });
  assert.is(stored.packet.sha256, one.sha256);
  assert.is(sha256Hex(one.pdf), one.sha256);
});

test("the text layer holds every section title, the HIPAA safeguards and the key figures; the dates are the month's end", async () => {
  const { pdf, data } = await buildPacket(deps, req);
  const { text, pages, info } = await pdfText("hipaa", pdf);
  for (const title of [...SECTION_TITLES, "Monthly HIPAA compliance packet", "Administrative safeguards (§164.308)", "Physical safeguards (§164.310)", "Technical safeguards (§164.312)"]) {
    assert.ok(text.includes(title), `missing ${JSON.stringify(title)}`);
  }
  for (const figure of ["74%", "3 of 26", "1,805", "30 h", "99.2%", "37 h", "164.312(a)(2)(iv)", "linux.backup_status", "L3 technician", "escalated", data.manifest.kit_sha256, relay.relayKey.name, `Page 1 of ${pages}`, `Page ${pages} of ${pages}`]) {
    assert.ok(text.includes(figure), `missing figure ${JSON.stringify(figure)}`);
  }
  assert.ok(text.includes(data.manifest.appliances.find((x) => x.appliance_id === a.id)!.last_checkpoint!.root), "checkpoint root");
  // A control that is not ready names the check holding it back.
  const blocked = data.controls.find((c) => !c.ready && c.reason === "failing" && c.blocking.length > 0)!;
  assert.ok(blocked, "the fixture month has a control held back by a failing check");
  assert.match(text, new RegExp(`Failing at month end: ${blocked.blocking[0]!.replaceAll(".", "\\.")}`));
  assert.match(info, /CreationDate:\s+2026-09-30T23:59:59/);
  assert.match(info, /ModDate:\s+2026-09-30T23:59:59/);
  assert.match(info, /Title:\s+HIPAA compliance packet: Main Street, September 2026/);
});

test("the packet says exactly what was verified and when: on receipt by the relay, the final checkpoint's cosignature when the kit was built, everything by the auditor kit", async () => {
  const { pdf } = await buildPacket(deps, req);
  const { flat } = await pdfText("verified", pdf);
  assert.not.ok(/all verified/i.test(flat), "no blanket \"all verified\": generating a packet does not re-verify every bundle");
  assert.match(flat, /2 appliances; checked by the relay on receipt/, "the key figure says who checked and when");
  assert.match(flat, /The relay checked each record's signature and its place in its appliance's chain when it received it/);
  assert.match(flat, /When this packet's auditor kit was built, the relay re-checked only its own countersignature on each appliance's last checkpoint of the month/);
  assert.match(flat, /Anyone can re-check every record, signature and checkpoint with the auditor kit \(osiris evidence verify\)/);
  assert.match(flat, /cosigned 2026-09-30 23:00 UTC, re-checked when this kit was built/, "the manifest's witness lines say the cosignature was re-checked, and when");
  assert.match(flat, /the relay's signed manifest of the kit \(so a kit cut short at either end, or with a file changed or added, fails\)/);
  assert.match(flat, /open \/verify on your IT provider's relay and pick the kit/, "an auditor without the CLI is told where to verify");
  const key = relay.relayKey.name.replaceAll(".", "\\.");
  assert.match(flat, new RegExp(`Run: osiris evidence verify kit\\.zip --relay-key ${key}\\. It checks every signature`), "the command pins the relay key that signed the kit");
  assert.match(flat, new RegExp(`The relay key ${key} signed the kit's manifest\\. Confirm that key with your IT provider: given it, the command above fails for a kit rebuilt under any other key`));
});

test("the methodology says how often computers were checked from the month's evidence, never a configured interval the relay cannot know", async () => {
  const { flat } = await pdfText("cadence", (await buildPacket(deps, req)).pdf);
  const methodology = flat.slice(flat.lastIndexOf("Methodology"));
  assert.match(methodology, /checks each computer on the schedule set in its configuration, and sooner after a check finds a new problem\. In this month's evidence a computer was checked every 1 h \(the median time between its check cycles; the same on all 2 computers\)/);
  assert.not.match(flat, /15 minutes|every 5 minutes/, "the fixture's appliance checked hourly: no hardcoded interval");
});

test("every time the packet prints says UTC, the cover gives the month's bounds in UTC, and the methodology names the time zone once", async () => {
  const { flat } = await pdfText("times", (await buildPacket(deps, req)).pdf);
  const times = [...flat.matchAll(/\b\d{2}:\d{2}\b(?!:)/g)];
  assert.ok(times.length > 20, `${times.length} times printed`);
  for (const m of times) assert.is(flat.slice(m.index! + 5, m.index! + 9), " UTC", `a time without its zone: ${flat.slice(m.index! - 30, m.index! + 30)}`);
  assert.match(flat, /September 2026: 2026-09-01 00:00 UTC to 2026-10-01 00:00 UTC \(exclusive\)/, "the cover's month bounds");
  assert.match(flat, /At the end of September 2026 \(2026-10-01 00:00 UTC\)/, "the summary's \"end of the month\" is a UTC instant");
  const methodology = flat.slice(flat.lastIndexOf("Methodology"));
  assert.is(methodology.match(/All times in this packet are UTC/g)?.length, 1, "named once in the methodology");
  assert.match(methodology, /The site's own time zone \(America\/Chicago\) is not used here/);
});

test("every page renders to a PNG with pdftoppm", async () => {
  const { pdf } = await buildPacket(deps, req);
  const { pages } = await pdfText("render", pdf);
  await exec("pdftoppm", ["-r", "60", "-png", join(out, "render.pdf"), join(out, "hipaa-page")]);
  const pngs = (await readdir(out)).filter((f) => f.startsWith("hipaa-page") && f.endsWith(".png"));
  assert.ok(pages >= 5, `${pages} pages`);
  assert.is(pngs.length, pages);
});

test("SOC 2 and GLBA packets group controls by their criteria and say which framework they are", async () => {
  for (const [framework, title, group] of [["soc2", "Monthly SOC 2 compliance packet", "A1 Availability"], ["glba", "Monthly GLBA compliance packet", "314.4(c) Design and implement safeguards"]] as const) {
    const { pdf } = await buildPacket(deps, { ...req, framework });
    const { text } = await pdfText(framework, pdf);
    assert.ok(text.includes(title), title);
    assert.ok(text.includes(group), group);
    assert.not.ok(text.includes("Administrative safeguards"), "no HIPAA safeguards in another framework's packet");
    for (const t of SECTION_TITLES) assert.ok(text.includes(t), `${framework}: ${t}`);
  }
});

test("every framework-specific phrase comes from the packet's framework: no HIPAA terms in a SOC 2 or GLBA packet", async () => {
  const hipaaOnly = /HIPAA|§ ?164|\b164\.3\d\d|\bPHI\b|protected health information|business associate|Administrative safeguards|Physical safeguards|Technical safeguards/;
  const expected = {
    hipaa: ["business associate agreements", "No PHI (protected health information) is processed"],
    soc2: ["vendor and business partner management", "No confidential or personal data is processed"],
    glba: ["The written information security program, the Qualified Individual", "No customer information (nonpublic personal information) is processed"],
  } as const;
  for (const framework of ["hipaa", "soc2", "glba"] as const) {
    const { flat } = await pdfText(`words-${framework}`, (await buildPacket(deps, { ...req, framework })).pdf);
    for (const phrase of expected[framework]) assert.ok(flat.includes(phrase), `${framework}: ${phrase}`);
    if (framework !== "hipaa") assert.not.match(flat, hipaaOnly, `${framework}: ${hipaaOnly.exec(flat)?.[0]} in ${flat.slice(Math.max(0, (hipaaOnly.exec(flat)?.index ?? 0) - 80), (hipaaOnly.exec(flat)?.index ?? 0) + 80)}`);
  }
});

test("partner branding puts the partner's name, colour and logo on the packet; broken branding falls back without failing", async () => {
  const partner = await createPartner(relay.db, { msp_id: relay.mspId, name: "Bayou IT Partners" }, { clock: relay.clock, random });
  await relay.db.execute({ sql: "UPDATE organisations SET partner_id = ? WHERE id = ?", args: [partner.id, relay.orgId] });
  const logo = await QRCode.toDataURL("https://bayou.example/", { margin: 1, width: 120 });
  await relay.db.execute({ sql: "UPDATE partners SET branding = ? WHERE id = ?", args: [JSON.stringify({ name: "Bayou IT", logo_data_url: logo, primary: "#7a1f5c", accent: "#e0a800" }), partner.id] });
  const branded = await buildPacket(deps, req);
  assert.equal(branded.data.branding, { name: "Bayou IT", logo_data_url: logo, primary: "#7a1f5c", accent: "#e0a800" });
  const { text } = await pdfText("branded", branded.pdf);
  assert.ok(text.includes("Prepared by Bayou IT with OsirisCare"));
  await exec("pdftoppm", ["-r", "60", "-f", "1", "-l", "1", "-png", join(out, "branded.pdf"), join(out, "branded-page")]);
  assert.match(Buffer.from(branded.pdf).toString("latin1"), /\/Subtype \/Image/, "the logo is embedded");

  await relay.db.execute({ sql: "UPDATE partners SET branding = ? WHERE id = ?", args: [JSON.stringify({ name: "名前 Clinic IT", primary: "red", logo_data_url: "data:image/png;base64,AAAA" }), partner.id] });
  const broken = await buildPacket(deps, req);
  assert.equal([broken.data.branding.name, broken.data.branding.primary, broken.data.branding.logo_data_url], ["Bayou IT Partners", "#1f4e79", null], "invalid fields fall back as a whole");
  await relay.db.execute({ sql: "UPDATE partners SET branding = ? WHERE id = ?", args: [JSON.stringify({ name: "名前 Clinic IT" }), partner.id] });
  const script = await buildPacket(deps, req);
  assert.ok((await pdfText("script", script.pdf)).text.includes("?? Clinic IT"), "characters the standard fonts lack show as ?");
  await relay.db.execute({ sql: "UPDATE organisations SET partner_id = NULL WHERE id = ?", args: [relay.orgId] });
});

test("a month without evidence says no data (never 100%) and still has every section", async () => {
  const { pdf, data } = await buildPacket(deps, { ...req, month: "2026-08" });
  assert.is(data.score.overall, null);
  const { text } = await pdfText("empty", pdf);
  assert.ok(text.includes("no compliance score"));
  assert.ok(text.includes("No incidents this month."));
  const before = text.slice(0, text.lastIndexOf("Methodology"));
  assert.is(before.match(/\b100%/g)?.length, 1, "the only 100% before the methodology is the chart's axis label");
  assert.match(before, /Compliance score\s+HIPAA controls ready[\s\S]*?no data/);
  for (const t of SECTION_TITLES) assert.ok(text.includes(t), t);
});

test("a month with evidence from the lab simulation says SIMULATED on the cover, in the summary and on every page; a real month never does", async () => {
  const september = await pdfText("hipaa-real", (await buildPacket(deps, req)).pdf);
  assert.not.ok(september.text.includes("SIMULATED"), "the fixture month is real evidence");

  relay.clock.t = Date.UTC(2026, 9, 2, 9);
  const lab = await a.makeBundles(1, { kind: "check_cycle", host_id: "ws1", results: [], outcome: "error", post_state: { error: "unreachable", simulated: true } });
  const res = await a.push(a.entries(lab), null);
  assert.is(res.status, 200, await res.clone().text());
  relay.clock.t = Date.UTC(2026, 10, 1, 6);
  const { pdf, data } = await buildPacket(deps, { ...req, month: "2026-10" });
  assert.ok(data.simulated);
  assert.is(data.appliances.find((x) => x.appliance_id === a.id)!.simulated_bundles, 1);
  const { flat, text, pages } = await pdfText("hipaa-simulated", pdf);
  assert.ok(flat.includes("SIMULATED: some or all of the evidence behind this packet comes from a test lab"), "cover and summary notice");
  assert.is(text.match(/SIMULATED · HIPAA compliance packet/g)?.length, pages, "the header of every page");
});

test("a month with no evidence, carried from a lab's earlier evidence, still says SIMULATED; its carried-over incident shows the L3 escalation made before it", async () => {
  // After the test above: the lab bundle of 2026-10-02 is the last evidence before November.
  relay.clock.t = Date.UTC(2026, 11, 1, 6);
  const { pdf, data } = await buildPacket(deps, { ...req, month: "2026-11" });
  assert.is(data.manifest.bundles, 0, "no evidence at all in November");
  assert.ok(data.simulated, "the evidence read for November's figures includes the lab's");
  const { flat, text, pages } = await pdfText("hipaa-simulated-empty", pdf);
  assert.ok(flat.includes("SIMULATED: some or all of the evidence behind this packet comes from a test lab"), "cover and summary notice");
  assert.is(text.match(/SIMULATED · HIPAA compliance packet/g)?.length, pages, "the header of every page");
  assert.match(flat, /open since before 2026-10-01 00:00 UTC/, "the incident opened before the evidence the packet reads: it says so");
  assert.not.match(flat, /without a fix attempt/, "not counted as never handled: its handling is in earlier packets");
  assert.match(flat, /The evidence read goes back 31 days before the month; an incident already failing then is shown as open since before that time/, "the methodology says how far back the packet reads");

  const october = await pdfText("hipaa-october", (await buildPacket(deps, { ...req, month: "2026-10" })).pdf);
  assert.match(october.flat, /Handled: 1 by a technician \(L3\)/, "escalated on 2026-09-29 and still open in October");
});

/** February 2027's HIPAA packet of a new lab site (its own relay) whose appliance pushed `cycles` (simulated, as the lab's are). */
async function labFebruary(name: string, cycles: Cycle[]): Promise<{ data: PacketData; flat: string }> {
  const lab = await testRelay();
  try {
    lab.clock.t = Date.UTC(2027, 0, 1, 12);
    const appliance = await enrolledAppliance(lab);
    lab.clock.t = Math.max(...cycles.map((c) => c.at)) + 300_000;
    await pushCycles(appliance, cycles);
    lab.clock.t = Date.UTC(2027, 2, 1, 6);
    const { pdf, data } = await buildPacket({ db: lab.db, clock: lab.clock, random, log: lab.log, relayKey: lab.relayKey }, { site_id: lab.siteId, month: "2027-02", framework: "hipaa" });
    return { data, flat: (await pdfText(name, pdf)).flat };
  } finally {
    await lab.close();
  }
}

test("a score built only on out-of-date results says so, is not green, and the summary does not read as good news when no control is ready", async () => {
  // The last results are from 2027-01-30: February's score (30-day window) is carried from them.
  const checks = ["windows.bitlocker", "windows.guest_account", "windows.local_admins"];
  const { data, flat } = await labFebruary("hipaa-stale", [{ host: "lab-ws1", at: Date.UTC(2027, 0, 30, 12), results: checks.map((check) => ({ check, status: "pass" as const })) }]);
  assert.equal([data.score.overall, data.controls.filter((c) => c.ready).length, data.manifest.bundles], [100, 0, 0]);
  assert.equal(data.score.basis, { results: 3, stale: 3, newest_at: "2027-01-30T12:00:00.000Z" });
  assert.ok(data.simulated, "the carried score comes from the lab: SIMULATED");
  assert.not.equal(scoreFigureColor(data), COLORS.pass, "never green on out-of-date results, nor next to 0 ready controls");

  assert.match(flat, /Compliance score 100% previous month: 100%; all 3 results behind it are out of date/, "the score box says its results are out of date");
  assert.match(flat, /scored 100%, the same as a month earlier, but only from out-of-date results: none of the 3 results behind it is newer than its check's freshness limit \(the newest is from 2027-01-30 12:00 UTC\)/);
  assert.match(flat, /No HIPAA control was ready at the end of the month \(0 of 26\)/);
  assert.not.match(flat, /0 of 26 HIPAA controls were ready: every automatic check behind them passed/, "no good-news sentence for zero ready controls");
  assert.match(flat, /so this score is not a sign that HIPAA controls are met/);
  assert.match(flat, /A result older than its check's freshness limit still counts in the score/, "the methodology documents the choice");
  assert.match(flat, /No computer had two check cycles this month, so this packet cannot say how often computers were checked/);
});

test("a score with some out-of-date results names how many, in the score box and the summary", async () => {
  // windows.local_admins last reported on 2027-01-31 (out of date at February's end), the other two on 2027-02-28.
  const { data, flat } = await labFebruary("hipaa-some-stale", [
    { host: "lab-ws1", at: Date.UTC(2027, 0, 31, 12), results: [{ check: "windows.local_admins", status: "pass" }] },
    { host: "lab-ws1", at: Date.UTC(2027, 1, 28, 20), results: [{ check: "windows.bitlocker", status: "pass" }, { check: "windows.guest_account", status: "fail" }] },
  ]);
  assert.equal(data.score.basis, { results: 3, stale: 1, newest_at: "2027-02-28T20:00:00.000Z" });
  assert.match(flat, /1 of 3 results behind it out of date/);
  assert.match(flat, /1 of the 3 results behind the score is older than its check's freshness limit/);
});

test.after(() => relay.close());
test.run();
