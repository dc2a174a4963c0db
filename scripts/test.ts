/**
 * The project's test command (`npm test`). Runs every `*.test.ts` file in its own process (uvu suites, so a
 * test that starts servers or kills processes cannot disturb another), the protocol suites a second time
 * under Deno, and the TypeScript type check; then prints one closing line `N passed, N failed[, N skipped]`
 * summing everything.
 *
 *   npm test                 everything
 *   npm test -- protocol     only files whose path contains "protocol" (and no type check)
 */
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const PARTS = ["protocol", "appliance", "relay", "ui", "cli", "node", "scripts", "nixos", "iso"];
/** Files run in parallel: this machine has 2 cores; more only adds contention to timing-sensitive suites. */
const CONCURRENCY = Number(process.env.OSIRIS_TEST_JOBS ?? 2);
/** A suite that runs longer than this is killed and counted as failed, so CI always finishes. */
const FILE_TIMEOUT_MS = 10 * 60_000;
/** Folders whose suites also run under Deno (pure code that must stay portable). */
const DENO_PARTS = ["protocol/"];
/** Suites that also run with OSIRIS_TEST_DB=sqld: the relay on a real libSQL server instead of a file. */
const SQLD_FILES = ["relay/ingest/push.test.ts", "relay/serve/loopback.test.ts"];

interface Result {
  label: string;
  passed: number;
  failed: number;
  skipped: number;
  output: string;
  ms: number;
}

async function findTests(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await findTests(p)));
    else if (e.name.endsWith(".test.ts")) out.push(p);
  }
  return out.sort();
}

function run(label: string, cmd: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1", ...env }, detached: true });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n[test runner] killed after ${FILE_TIMEOUT_MS / 1000}s`;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, FILE_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      const clean = output.replace(/\x1b\[[0-9;]*m/g, "");
      const num = (name: string) => {
        const all = [...clean.matchAll(new RegExp(`^\\s*${name}:\\s+(\\d+)`, "gm"))];
        return all.reduce((s, m) => s + Number(m[1]), 0);
      };
      const total = num("Total"), passed = num("Passed"), skipped = num("Skipped");
      let failed = Math.max(0, total - passed - skipped);
      if (code !== 0 && failed === 0) failed = 1; // crashed, timed out or failed outside a test
      if (total === 0 && code === 0 && !label.startsWith("typecheck")) failed = 1; // a suite that ran nothing is a defect
      resolve({ label, passed: label.startsWith("typecheck") && code === 0 ? 1 : passed, failed, skipped, output: clean, ms: Date.now() - started });
    });
  });
}

async function pool<T>(jobs: (() => Promise<T>)[], n: number, onDone: (r: T) => void): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      onDone(await job());
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker));
}

const filters = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const files = (await Promise.all(PARTS.map((p) => findTests(join(ROOT, p))))).flat().map((f) => relative(ROOT, f));
const selected = filters.length ? files.filter((f) => filters.some((x) => f.includes(x))) : files;
const node = process.execPath;
const deno = join(ROOT, "node_modules/.bin/deno");

const jobs: (() => Promise<Result>)[] = [];
if (!filters.length) jobs.push(() => run("typecheck (tsc --noEmit)", node, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"]));
for (const f of selected) jobs.push(() => run(`node ${f}`, node, ["--import", "tsx", f]));
for (const f of selected.filter((f) => DENO_PARTS.some((p) => f.startsWith(p)))) jobs.push(() => run(`deno ${f}`, deno, ["run", "-A", "--quiet", f]));
for (const f of selected.filter((f) => SQLD_FILES.includes(f))) jobs.push(() => run(`node[sqld] ${f}`, node, ["--import", "tsx", f], { OSIRIS_TEST_DB: "sqld" }));

const results: Result[] = [];
await pool(jobs, CONCURRENCY, (r) => {
  results.push(r);
  const mark = r.failed ? "FAIL" : "ok  ";
  console.log(`${mark} ${r.label}  (${r.passed} passed${r.failed ? `, ${r.failed} failed` : ""}${r.skipped ? `, ${r.skipped} skipped` : ""}; ${(r.ms / 1000).toFixed(1)}s)`);
  if (r.failed) console.log(r.output.split("\n").map((l) => `    ${l}`).join("\n"));
});

const sum = (k: "passed" | "failed" | "skipped") => results.reduce((s, r) => s + r[k], 0);
const skipped = sum("skipped");
console.log(`\n${sum("passed")} passed, ${sum("failed")} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exitCode = sum("failed") ? 1 : 0;
