/**
 * Appliance benchmark: a simulated lab site of 50 hosts × every catalogue check for their platform.
 *   node --max-semi-space-size=2 --expose-gc --import tsx scripts/bench/appliance.ts   (BENCH_CYCLES=1000)
 * Prints the full-cycle wall and CPU time (median of measured cycles, scan + evidence + healing + checkpoint),
 * evidence appends per second (batched like a cycle, synchronous=FULL on a real file), the RSS after
 * BENCH_CYCLES cycles and its growth per 1,000 cycles; the last line is one JSON object with the figures.
 * Targets (issue 3): cycle under 3 s wall, ≥ 2,000 appends/s, steady RSS under 150 MB.
 *
 * Runtime (BENCH_RUNTIME):
 * - `daemon` (default): the cycles run in a child process started the way nixos/module.nix starts the daemon:
 *   the code bundled as nixos/bundle-app.sh bundles the CLI (plain Node, no TypeScript loader) and the
 *   daemon's V8 flags and environment (DAEMON_NODE_FLAGS, DAEMON_ENV; BENCH_NODE_FLAGS replaces the flags to
 *   compare others). The flags given to this script only affect the parent, which builds and waits.
 * - `source`: the cycles run in this process, from the TypeScript sources through tsx, with this process's
 *   flags. tsx's loader thread alone adds ~30 MB of RSS, which the installed daemon does not have.
 */
import { spawn } from "node:child_process";
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { generateLabSite, GENERATED_SITE_DIR } from "../../appliance/lab/mod.ts";
import { HOSTS, runApplianceBench } from "./_appliance-cycles.ts";

/**
 * The daemon's Node flags, as nixos/module.nix passes them in NODE_OPTIONS (the old-space cap is three
 * quarters of the default memoryMaxMiB, 512). Keep the two in step. Measured here, 1,000 cycles: the cap
 * alone 153 MB; with a 2 MB young generation 122 MB; plus MALLOC_ARENA_MAX=2 114 MB; plus one V8 worker
 * thread 107 MB. (`--optimize-for-size`, `--single-threaded` save 3-7 MB more but are refused in NODE_OPTIONS.)
 */
const DAEMON_NODE_FLAGS = ["--max-old-space-size=384", "--max-semi-space-size=2", "--v8-pool-size=1"];
/** The daemon's environment as nixos/module.nix sets it (besides NODE_OPTIONS). */
const DAEMON_ENV: Readonly<Record<string, string>> = { NODE_ENV: "production", MALLOC_ARENA_MAX: "2" };

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CYCLES = Number(process.env.BENCH_CYCLES ?? 1000);
const RUNTIME = process.env.BENCH_RUNTIME ?? "daemon";

const dir = await mkdtemp(join(tmpdir(), "osiris-bench-appliance-"));
let exitCode = 0;
try {
  // The generated site refers to fixtures relative to fixtures/lab/generated/; make those paths absolute.
  const doc = generateLabSite({ hosts: HOSTS });
  const site = {
    ...doc,
    effects: resolve(GENERATED_SITE_DIR, String(doc.effects)),
    hosts: doc.hosts.map((h) => ({ ...h, base: resolve(GENERATED_SITE_DIR, h.base) })),
  };
  await mkdir(join(dir, "lab"));
  await writeFile(join(dir, "lab/site.json"), JSON.stringify(site));

  if (RUNTIME === "source") {
    const runtime = `source: node ${process.execArgv.join(" ")} (in-process)`;
    console.log(`runtime ${runtime}`);
    console.log(JSON.stringify(await runApplianceBench({ dir, cycles: CYCLES, runtime })));
  } else if (RUNTIME === "daemon") {
    exitCode = await runBundled(dir);
  } else {
    throw new RangeError(`Cannot run the appliance benchmark as BENCH_RUNTIME must be "daemon" or "source": current value is ${JSON.stringify(RUNTIME)}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.exitCode = exitCode;

/** Bundles the benchmark body like nixos/bundle-app.sh, runs it with the daemon's flags, returns its exit code. */
async function runBundled(benchDir: string): Promise<number> {
  const out = join(benchDir, "bundle");
  await mkdir(out);
  // The externals (native libSQL addon, ssh2) resolve from the checkout's node_modules, as from the package's.
  await symlink(join(ROOT, "node_modules"), join(benchDir, "node_modules"));
  await build({
    stdin: {
      contents: `import { runApplianceBench } from "./_appliance-cycles.ts";
const [dir, cycles, runtime] = process.argv.slice(2);
console.log(JSON.stringify(await runApplianceBench({ dir, cycles: Number(cycles), runtime })));`,
      resolveDir: dirname(fileURLToPath(import.meta.url)),
      sourcefile: "appliance-bench-main.ts",
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: join(out, "bench.mjs"),
    external: ["@libsql/client", "libsql", "ssh2", "cpu-features"],
    banner: { js: 'import { createRequire as __osirisCreateRequire } from "node:module"; const require = __osirisCreateRequire(import.meta.url);' },
    logLevel: "warning",
  });
  const flags = process.env.BENCH_NODE_FLAGS !== undefined ? process.env.BENCH_NODE_FLAGS.split(/\s+/).filter(Boolean) : DAEMON_NODE_FLAGS;
  const env = Object.entries(DAEMON_ENV).map(([k, v]) => `${k}=${v}`).join(" ");
  const runtime = `daemon: ${env} node ${flags.join(" ")} (bundled; --expose-gc for the measurements)`;
  console.log(`runtime ${runtime}`);
  // NODE_OPTIONS cleared: the child gets exactly the daemon's flags, not whatever started this script.
  const child = spawn(process.execPath, [...flags, "--expose-gc", join(out, "bench.mjs"), benchDir, String(CYCLES), runtime], {
    env: { ...process.env, ...DAEMON_ENV, NODE_OPTIONS: "" },
    stdio: "inherit",
  });
  return new Promise((done, fail) => {
    child.on("error", fail);
    child.on("exit", (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}
