/**
 * The in-browser kit verifier (a Web Worker with @noble/ed25519, in real headless Chromium, under the
 * relay's Content-Security-Policy) and the CLI (`osiris evidence verify --json`) reach the same verdict, with
 * the same failure code, for a valid kit and for every kind of tampering an auditor could meet.
 */
import { createHash } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium, type Browser } from "playwright-core";
import { build } from "vite";
import { writeKitZip, type KitFiles } from "../../protocol/kit-files.ts";
import { CONTENT_SECURITY_POLICY } from "../../relay/app.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURE = join(ROOT, "fixtures/kits/valid");
const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = join(ROOT, "test-output/screenshots/");
const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".zip": "application/zip" };

async function readDirFiles(dir: string): Promise<KitFiles> {
  const files: KitFiles = new Map();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else files.set(relative(dir, p), new Uint8Array(await readFile(p)));
    }
  };
  await walk(dir);
  return files;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
function editBundles(files: KitFiles, edit: (lines: string[]) => string[]): KitFiles {
  const out = new Map(files);
  const lines = dec.decode(files.get("bundles.jsonl")!).slice(0, -1).split("\n");
  out.set("bundles.jsonl", enc.encode(edit(lines).map((l) => l + "\n").join("")));
  return out;
}

/** The kit without the relay's signed manifest (as a kit from before it, or one stripped of it). */
function unsigned(files: KitFiles): KitFiles {
  return new Map([...files].filter(([path]) => path !== "manifest.json" && path !== "manifest.sig"));
}

/** Every case an auditor could meet: name → the kit's files. */
function cases(valid: KitFiles): [string, KitFiles][] {
  const swapped = new Map(valid);
  const a = "checkpoints/app_fixture0000/000000000005.note";
  const b = "checkpoints/app_fixture0001/000000000005.note";
  swapped.set(a, valid.get(b)!);
  swapped.set(b, valid.get(a)!);
  const forgedWitness = new Map(valid);
  const note = dec.decode(valid.get(a)!);
  forgedWitness.set(a, enc.encode(note.replace(/(— osiriscare\.relay\/[0-9a-f]{16} )(\S)/, (_, p: string, c: string) => p + (c === "A" ? "B" : "A"))));
  return [
    ["valid", valid],
    ["byte-edit", editBundles(valid, (l) => l.map((x, i) => (i === 4 ? x.replace('"outcome":"pass"', '"outcome":"fail"') : x)))],
    ["removed", editBundles(valid, (l) => l.filter((_, i) => i !== 6))],
    ["duplicated", editBundles(valid, (l) => [...l.slice(0, 3), l[2]!, ...l.slice(3)])],
    ["reordered", editBundles(valid, (l) => [l[0]!, l[2]!, l[1]!, ...l.slice(3)])],
    ["truncated", editBundles(valid, (l) => l.filter((_, i) => i !== 23))],
    ["swapped-checkpoints", swapped],
    ["forged-witness", forgedWitness],
    ["extra-file", new Map([...valid, ["summary.pdf", enc.encode("%PDF- looks official")]])],
    ["unsigned-extra-file", new Map([...unsigned(valid), ["summary.pdf", enc.encode("%PDF- looks official")]])],
    ["empty", new Map([...unsigned(valid)].filter(([path]) => !path.startsWith("checkpoints/")).map(([path, bytes]) => [path, path === "bundles.jsonl" ? new Uint8Array(0) : bytes]))],
  ];
}

/** What the CLI concluded: verified (exit 0), and the failure code if a check failed. */
async function cli(zip: string): Promise<{ ok: boolean; code: string | null }> {
  let stdout: string;
  try {
    stdout = (await promisify(execFile)(process.execPath, [join(ROOT, "bin/osiris.js"), "evidence", "verify", zip, "--json"], { cwd: ROOT })).stdout;
  } catch (e) {
    stdout = (e as { stdout: string }).stdout;
  }
  const report = JSON.parse(stdout) as { ok: boolean; bundles: number; failure?: { code: string } };
  return { ok: report.ok && report.bundles > 0, code: report.failure?.code ?? null };
}

let dir = "";
let server: Server;
let base = "";
let browser: Browser;

test.before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium`);
  dir = await mkdtemp(join(tmpdir(), "osiris-verifier-"));
  const site = join(dir, "site");
  await build({ configFile: fileURLToPath(new URL("./vite.config.ts", import.meta.url)), build: { outDir: site, emptyOutDir: true }, logLevel: "silent" });
  await mkdir(join(site, "kits"));
  server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    try {
      const body = await readFile(join(site, path === "/" ? "index.html" : path.replace(/^\/+/, "").replace(/\.\.+/g, "")));
      res.writeHead(200, { "Content-Type": TYPES[extname(path)] ?? "application/octet-stream", "Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
  await mkdir(SCREENSHOTS, { recursive: true });
});

test.after(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("the browser verifier and the CLI agree on a valid kit and on every kind of tampering", async () => {
  const valid = await readDirFiles(FIXTURE);
  const page = await browser.newPage({ timezoneId: "America/Chicago" }); // an auditor's zone: the kit's times still show in UTC, named
  const violations: string[] = [];
  page.on("console", (m) => m.type() === "error" && violations.push(m.text()));
  const seenProgress: boolean[] = [];
  for (const [name, files] of cases(valid)) {
    const zip = join(dir, "site", "kits", `${name}.zip`);
    await writeFile(zip, writeKitZip(files));
    const expected = await cli(zip);
    await page.goto(`${base}/index.html?kit=/kits/${name}.zip`);
    await page.getByRole("button", { name: "Verify our evidence" }).click();
    const progressed = page.locator("osiris-kit-verifier progress").waitFor({ timeout: 2000 }).then(() => true, () => false);
    const result = page.locator("osiris-kit-verifier [data-outcome]");
    await result.waitFor({ timeout: 30_000 });
    seenProgress.push(await progressed);
    const outcome = await result.getAttribute("data-outcome");
    const code = await result.getAttribute("data-code");
    assert.is(outcome === "verified", expected.ok, `${name}: browser says ${outcome}, CLI says ok=${expected.ok}`);
    assert.is(code, expected.code, `${name}: the browser names ${code}, the CLI ${expected.code}`);
    if (name === "valid") {
      assert.match(await result.innerText(), /Verified: the evidence is intact/);
      assert.not.match(await result.innerText(), /Not verified|Not signed/);
      assert.match(await result.innerText(), /The relay.s signed manifest matches: site site_fixture0001, 1 Oct 2026, 00:00 UTC \(included\) to 2 Oct 2026, 00:00 UTC \(excluded\)/);
      assert.match(await result.innerText(), /24 signed records from 2 appliances, 1 Oct 2026, \d\d:\d\d UTC to 1 Oct 2026, \d\d:\d\d UTC:/);
      await page.screenshot({ path: join(SCREENSHOTS, "kit-verifier-valid.png"), fullPage: true });
    } else if (name === "unsigned-extra-file") {
      // Still verified (the evidence is intact), but what it could not check is said, not covered by that word.
      assert.match(await result.innerText(), /Not signed: this kit has no manifest from the relay/);
      assert.match(await result.innerText(), /Not verified: 1 file in this kit is not part of an evidence kit, so nothing about it is proven: summary\.pdf\./);
      await page.screenshot({ path: join(SCREENSHOTS, "kit-verifier-unsigned-extra-file.png"), fullPage: true });
    } else if (name === "empty") {
      assert.is(outcome, "empty");
      assert.match(await result.innerText(), /Nothing to verify: this kit holds no evidence records/);
    } else {
      assert.match(await result.innerText(), /Verification FAILED/);
      if (name === "byte-edit") await page.screenshot({ path: join(SCREENSHOTS, "kit-verifier-tampered.png"), fullPage: true });
    }
  }
  assert.ok(seenProgress.some(Boolean), "a progress bar is shown while verifying");

  // Tied to its report: the report's kit SHA-256 is checked before anything else.
  const validZip = await readFile(join(dir, "site", "kits", "valid.zip"));
  const sha = createHash("sha256").update(validZip).digest("hex");
  for (const [expected, outcome, text] of [
    [sha, "verified", /checked in this browser: the one the report names/],
    ["0".repeat(64), "failed", /Verification FAILED: this is not the evidence kit the report names/],
  ] as const) {
    await page.goto(`${base}/index.html?kit=/kits/valid.zip&sha256=${expected}`);
    await page.getByRole("button", { name: "Verify our evidence" }).click();
    const result = page.locator("osiris-kit-verifier [data-outcome]");
    await result.waitFor({ timeout: 30_000 });
    assert.is(await result.getAttribute("data-outcome"), outcome);
    assert.match(await result.innerText(), text);
  }
  assert.equal(violations.filter((v) => /Content Security Policy/i.test(v)), [], "the page and its worker run under the relay's CSP");
  console.log(`screenshots: ${SCREENSHOTS}`);
});

test.run();
