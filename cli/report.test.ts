import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { createHash } from "node:crypto";
import { memoryLog } from "../relay/log.ts";
import { SEPTEMBER, septemberRelay } from "../relay/report/_month-fixture.ts";
import type { Io } from "./relay-admin.ts";
import { runWith } from "./report.ts";

const exec = promisify(execFile);

function capture(): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => void lines.push(l), err: (l) => void errors.push(l), log: memoryLog().log };
}
const OSIRIS = new URL("../bin/osiris.js", import.meta.url).pathname;

/** Runs `osiris …` as a real process; resolves with its exit code and output whatever the code. */
async function osiris(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [OSIRIS, ...args]);
    return { code: 0, ...r };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

const { relay } = await septemberRelay();
const db = join(relay.dir, "relay.db");
const file = (name: string) => join(relay.dir, name);
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

test("osiris report sites lists each site with its organisation and appliances", async () => {
  const r = await osiris("report", "sites", "--db", db);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), `${relay.siteId}  Main Street (Test Clinic): 2 active appliance(s), no packet yet`);
});

test("osiris report packet refuses an --out or --kit it cannot write before generating anything: no packet stored, no file left", async () => {
  await mkdir(file("a-directory"));
  for (const [out, kit, said] of [
    ["/nonexistent/dir/p.pdf", undefined, /^osiris report packet: --out \/nonexistent\/dir\/p\.pdf: the directory \/nonexistent\/dir does not exist \(create it first or choose another path\)$/],
    [file("a-directory"), undefined, /^osiris report packet: --out .*a-directory is a directory: give a file name in it/],
    [file("ok.pdf"), "/nonexistent/dir/k.zip", /^osiris report packet: --kit \/nonexistent\/dir\/k\.zip: the directory \/nonexistent\/dir does not exist/],
  ] as const) {
    const r = await osiris("report", "packet", "--db", db, "--key-file", file("relay.key"), "--site", relay.siteId, "--month", SEPTEMBER.month, "--out", out, ...(kit ? ["--kit", kit] : []));
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), said);
    assert.not.match(r.stderr, /\n\s+at /, "no stack trace");
    assert.is(r.stdout, "");
  }
  assert.not.ok(existsSync(file("ok.pdf")));
  assert.equal((await readdir(relay.dir)).filter((f) => f.endsWith(".tmp")), [], "no temporary file left");
  assert.equal(await readdir(file("a-directory")), []);
  const sites = await osiris("report", "sites", "--db", db);
  assert.match(sites.stdout, /no packet yet/, "nothing was stored");
});

test("osiris report packet writes the PDF (and the kit), stores the packet, and writes the same bytes again later", async () => {
  const one = await osiris("report", "packet", "--db", db, "--key-file", file("relay.key"), "--site", relay.siteId, "--month", SEPTEMBER.month, "--out", file("one.pdf"), "--kit", file("kit.zip"));
  assert.is(one.code, 0, one.stderr);
  const pdf = await readFile(file("one.pdf"));
  assert.match(one.stdout, new RegExp(`^wrote .*one\\.pdf: [\\d,]+ bytes, SHA-256 ${sha(pdf)}$`, "m"));
  assert.match(one.stdout, /HIPAA packet, September 2026, site .*: score 74%, 3 of 26 controls ready, 2 incidents \(1 open\)/);
  assert.match(one.stdout, /generated now and stored as pkt_/);
  const kit = await readFile(file("kit.zip"));
  assert.match(one.stdout, new RegExp(`auditor kit SHA-256 ${sha(kit)}: 1,805 bundles from 2 appliance`));

  const two = await osiris("report", "packet", "--db", db, "--key-file", file("relay.key"), "--site", relay.siteId, "--month", SEPTEMBER.month, "--out", file("two.pdf"));
  assert.is(two.code, 0, two.stderr);
  assert.match(two.stdout, /stored since .* \(by cli\) as pkt_/);
  assert.ok(pdf.equals(await readFile(file("two.pdf"))), "byte-identical");

  const verified = await osiris("evidence", "verify", file("kit.zip"));
  assert.is(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, /^OK .*1805 bundles from 2 appliance/m);
  const text = (await exec("pdftotext", [file("one.pdf"), "-"])).stdout;
  assert.ok(text.includes("Monthly HIPAA compliance packet"));

  const soc2 = await osiris("report", "packet", "--db", db, "--key-file", file("relay.key"), "--site", relay.siteId, "--month", SEPTEMBER.month, "--framework", "soc2", "--out", file("soc2.pdf"));
  assert.is(soc2.code, 0, soc2.stderr);
  assert.match(soc2.stdout, /SOC 2 packet, September 2026/);

  const sites = await osiris("report", "sites", "--db", db);
  assert.match(sites.stdout, /last packet 2026-09/);
});

test("osiris report exits 2 on wrong usage and 1 when the relay refuses, saying why", async () => {
  const base = ["packet", "--db", db, "--key-file", file("relay.key"), "--site", relay.siteId];
  const missing = await osiris("report", ...base, "--month", SEPTEMBER.month);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /--out are required/);
  const unknown = await osiris("report", "packet", "--db", db, "--key-file", file("relay.key"), "--site", "site_nope00000000", "--month", "2026-09", "--out", file("x.pdf"));
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /does not exist/);
  // The same command in-process, for the remaining cases (each real process costs a second or more).
  for (const [args, code, said] of [
    [[...base, "--month", "Sept", "--out", file("x.pdf")], 2, /--month must be a month like 2026-10/],
    [[...base, "--month", "2026-09", "--framework", "pci", "--out", file("x.pdf")], 2, /--framework must be one of hipaa, soc2, glba/],
    [["publish"], 2, /unknown subcommand/],
    [[], 2, /Usage/],
    [[...base, "--month", "2099-01", "--out", file("x.pdf")], 1, /month 2099-01 is in the future: a packet covers a month that has ended \(the latest is \d{4}-\d{2}\)/],
    [[...base, "--month", "2026-07", "--out", file("x.pdf")], 1, new RegExp(`month 2026-07 is before site ${relay.siteId} existed: its first month is 2026-08, so packets cover 2026-08 to \\d{4}-\\d{2}`)],
    [[...base, "--month", "2020-01", "--out", file("x.pdf")], 1, /its first month is 2026-08/],
  ] as const) {
    const io = capture();
    assert.is(await runWith([...args], io), code, args.join(" "));
    assert.match(io.errors.join("\n"), said);
  }
});

test("osiris report refuses a months-before-the-site or future packet without storing one", async () => {
  const before = await osiris("report", "packet", "--db", db, "--key-file", file("relay.key"), "--site", relay.siteId, "--month", "2025-01", "--out", file("early.pdf"));
  assert.is(before.code, 1);
  assert.match(before.stderr.trim(), /^osiris report packet: month 2025-01 is before site .* existed: its first month is 2026-08/);
  assert.not.ok(existsSync(file("early.pdf")));
  const sites = await osiris("report", "sites", "--db", db);
  assert.not.match(sites.stdout, /last packet 2025-01/);
});

test.after(() => relay.close());
test.run();
