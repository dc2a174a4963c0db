import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CollectError } from "./errors.ts";
import { createLocalTransport, KILL_GRACE_MS } from "./local.ts";
import type { RunResult } from "./transport.ts";

/** True while `pid` exists and is not a zombie (an unreaped zombie is already dead). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function waitDead(pid: number, ms = 2_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

async function rejects(p: Promise<unknown>): Promise<CollectError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CollectError) return err;
    throw err;
  }
  throw new Error("expected a CollectError, got a result");
}

test("run() passes each argument to the program literally, with no shell in between", async () => {
  const dir = mkdtempSync(join(tmpdir(), "osiris-local-"));
  try {
    const t = createLocalTransport({ cwd: dir });
    const marker = join(dir, "pwned");
    const args = [`$(touch ${marker})`, `; touch ${marker}`, "*", "a b", "'\"`"];
    const r = await t.run({ program: "printf", args: ["%s\\n", ...args] }, { timeoutMs: 5_000 });
    assert.is(r.exitCode, 0);
    assert.equal(r.stdout.split("\n").slice(0, -1), args);
    assert.not.ok(existsSync(marker), "no argument was interpreted by a shell");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("run() feeds an sh script to /bin/sh -s over stdin and reports its exit code and both streams", async () => {
  const t = createLocalTransport();
  const script = `x='it''s "quoted"'\necho "$x"\necho "ünïcödé ✓" >&2\nexit 3\n`;
  const r = await t.run({ script, shell: "sh" }, { timeoutMs: 5_000 });
  assert.is(r.exitCode, 3);
  assert.is(r.stdout, `its "quoted"\n`);
  assert.is(r.stderr, "ünïcödé ✓\n");
});

test("run() reports a missing program as exit code 127, like a shell", async () => {
  const t = createLocalTransport();
  const r = await t.run({ program: "/nonexistent/osiris-nope", args: [] }, { timeoutMs: 5_000 });
  assert.is(r.exitCode, 127);
  assert.match(r.stderr, /not found/);
});

test("run() does not hand the daemon's environment to commands", async () => {
  process.env.OSIRIS_TEST_PLANTED = "should-not-leak";
  try {
    const t = createLocalTransport();
    const r = await t.run({ program: "env", args: [] }, { timeoutMs: 5_000 });
    assert.not.match(r.stdout, /OSIRIS_TEST_PLANTED/);
    assert.match(r.stdout, /LC_ALL=C\.UTF-8/);
  } finally {
    delete process.env.OSIRIS_TEST_PLANTED;
  }
});

test("run() times out, kills the whole process group and rejects with timeout", async () => {
  const t = createLocalTransport();
  const dir = mkdtempSync(join(tmpdir(), "osiris-local-"));
  const pidFile = join(dir, "bg.pid");
  try {
    const started = Date.now();
    const err = await rejects(
      t.run({ script: `sleep 30 &\necho $! > '${pidFile}'\nsleep 30\n`, shell: "sh" }, { timeoutMs: 300 }),
    );
    assert.is(err.code, "timeout");
    assert.ok(Date.now() - started < 300 + KILL_GRACE_MS, "the run ended promptly after TERM");
    const bg = Number(readFileSync(pidFile, "utf8"));
    assert.ok(await waitDead(bg), `background child ${bg} was killed with its group`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("run() escalates to SIGKILL when a command ignores SIGTERM", async () => {
  const t = createLocalTransport();
  const started = Date.now();
  const err = await rejects(t.run({ script: "trap '' TERM\nwhile :; do sleep 1; done\n", shell: "sh" }, { timeoutMs: 200 }));
  assert.is(err.code, "timeout");
  const took = Date.now() - started;
  assert.ok(took >= 200 + KILL_GRACE_MS - 50 && took < 200 + KILL_GRACE_MS + 1_500, `took ${took} ms`);
});

test("run() ends background processes a command leaves behind when it exits", async () => {
  const t = createLocalTransport();
  const started = Date.now();
  const r = await t.run({ script: "sleep 30 &\necho $!\n", shell: "sh" }, { timeoutMs: 5_000 });
  assert.ok(Date.now() - started < 2_000, "did not wait for the background sleep");
  assert.ok(await waitDead(Number(r.stdout.trim())));
});

test("run() stops a command that prints more than its cap and rejects with output_too_large", async () => {
  const t = createLocalTransport();
  const err = await rejects(t.run({ program: "yes", args: ["osiris"] }, { timeoutMs: 5_000, maxOutputBytes: 10_000 }));
  assert.is(err.code, "output_too_large");
  assert.equal(err.details, { maxOutputBytes: 10_000 });
});

test("run() counts stdout and stderr together against the cap", async () => {
  const t = createLocalTransport();
  const ok = await t.run({ script: "printf 12345\nprintf 12345 >&2\n", shell: "sh" }, { timeoutMs: 5_000, maxOutputBytes: 10 });
  assert.is(ok.stdout + ok.stderr, "1234512345");
  const err = await rejects(t.run({ script: "printf 123456\nprintf 12345 >&2\n", shell: "sh" }, { timeoutMs: 5_000, maxOutputBytes: 10 }));
  assert.is(err.code, "output_too_large");
});

test("run() rejects with aborted when the caller's signal fires", async () => {
  const t = createLocalTransport();
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const err = await rejects(t.run({ program: "sleep", args: ["30"] }, { timeoutMs: 10_000, signal: ac.signal }));
  assert.is(err.code, "aborted");
  const err2 = await rejects(t.run({ program: "true", args: [] }, { timeoutMs: 1_000, signal: ac.signal }));
  assert.is(err2.code, "aborted");
});

test("close() stops running commands and refuses new ones", async () => {
  const t = createLocalTransport();
  const running = rejects(t.run({ program: "sleep", args: ["30"] }, { timeoutMs: 10_000 }));
  await new Promise((r) => setTimeout(r, 100));
  await t.close();
  assert.is((await running).code, "closed");
  assert.is((await rejects(t.run({ program: "true", args: [] }, { timeoutMs: 1_000 }))).code, "closed");
  await t.close(); // idempotent
});

test("run() refuses PowerShell scripts and bad arguments before starting anything", async () => {
  const t = createLocalTransport();
  assert.is((await rejects(t.run({ script: "Get-Date", shell: "powershell" }, { timeoutMs: 1_000 }))).code, "unsupported");
  for (const [cmd, opts, kind] of [
    [{ program: "echo", args: ["a\0b"] }, { timeoutMs: 1_000 }, TypeError],
    [{ program: "", args: [] }, { timeoutMs: 1_000 }, TypeError],
    [{ program: "echo", args: [] }, { timeoutMs: 0 }, RangeError],
    [{ program: "echo", args: [] }, { timeoutMs: 1_000, maxOutputBytes: -1 }, RangeError],
  ] as const) {
    try {
      await t.run(cmd, opts);
      assert.unreachable("should have thrown");
    } catch (err) {
      assert.instance(err, kind);
    }
  }
});

test("run() measures duration with the injected clock", async () => {
  let now = 1_000;
  const t = createLocalTransport({ clock: () => (now += 250) });
  const r: RunResult = await t.run({ program: "true", args: [] }, { timeoutMs: 5_000 });
  assert.is(r.durationMs, 250);
});

test.run();
