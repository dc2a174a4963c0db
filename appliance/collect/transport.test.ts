import { test } from "uvu";
import * as assert from "uvu/assert";
import { Limiter } from "./_limiter.ts";
import { BoundedOutput } from "./_output.ts";
import { CollectError } from "./errors.ts";
import { checkCommand, checkRunOptions, DEFAULT_MAX_OUTPUT_BYTES, exitCodeForSignal, MAX_SCRIPT_BYTES, MAX_TIMEOUT_MS } from "./transport.ts";

test("checkRunOptions() fills the default cap and names the bad value", () => {
  assert.equal(checkRunOptions({ timeoutMs: 1_000 }), { timeoutMs: 1_000, maxOutputBytes: DEFAULT_MAX_OUTPUT_BYTES });
  assert.throws(() => checkRunOptions({ timeoutMs: MAX_TIMEOUT_MS + 1 }), (e: Error) => e instanceof RangeError && /current value is 1800001/.test(e.message));
  assert.throws(() => checkRunOptions({ timeoutMs: 1.5 }), RangeError);
  assert.throws(() => checkRunOptions({ timeoutMs: 10, maxOutputBytes: 0 }), RangeError);
});

test("checkCommand() refuses NUL bytes, empty programs and oversized scripts", () => {
  checkCommand({ program: "ls", args: ["-l", ""] });
  checkCommand({ script: "echo ✓", shell: "sh" });
  assert.throws(() => checkCommand({ program: "ls", args: ["a\0"] }), /argument 0 contains a NUL byte/);
  assert.throws(() => checkCommand({ program: "", args: [] }), TypeError);
  assert.throws(() => checkCommand({ script: "x".repeat(MAX_SCRIPT_BYTES + 1), shell: "sh" }), RangeError);
  assert.throws(() => checkCommand({ script: "é".repeat(MAX_SCRIPT_BYTES / 2 + 1), shell: "sh" }), RangeError);
});

test("exitCodeForSignal() follows the shell's 128 + n convention", () => {
  assert.is(exitCodeForSignal("KILL"), 137);
  assert.is(exitCodeForSignal("SIGTERM"), 143);
  assert.is(exitCodeForSignal("SIGWHATEVER"), 255);
});

test("BoundedOutput keeps stdout and stderr apart, counts them together and decodes split UTF-8", () => {
  const out = new BoundedOutput(6);
  const check = new TextEncoder().encode("✓"); // 3 bytes
  assert.ok(out.push("stdout", check.subarray(0, 1)));
  assert.ok(out.push("stdout", check.subarray(1)));
  assert.ok(out.push("stderr", new TextEncoder().encode("ab")));
  assert.is(out.text("stdout"), "✓");
  assert.is(out.text("stderr"), "ab");
  assert.not.ok(out.push("stderr", new TextEncoder().encode("cd")));
  assert.ok(out.overflowed);
});

test("Limiter runs at most N at once, refuses a full line with busy and rejects waiters on close", async () => {
  const lim = new Limiter(2, 1, "t");
  let active = 0;
  let peak = 0;
  const gates: (() => void)[] = [];
  const job = () =>
    lim.run(async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise<void>((r) => gates.push(r));
      active--;
    });
  const a = job();
  const b = job();
  const c = job(); // waits
  await new Promise((r) => setTimeout(r, 10));
  try {
    await job();
    assert.unreachable("line is full");
  } catch (err) {
    assert.is((err as CollectError).code, "busy");
  }
  gates.shift()?.();
  await a;
  await new Promise((r) => setTimeout(r, 10));
  assert.is(peak, 2);
  const ac = new AbortController();
  const d = lim.run(async () => {}, ac.signal).catch((e: CollectError) => e.code);
  ac.abort();
  assert.is(await d, "aborted");
  const e = lim.run(async () => {}).catch((err: CollectError) => err.code);
  lim.close();
  assert.is(await e, "closed");
  for (const g of gates.splice(0)) g();
  await Promise.all([b, c]);
  while (gates.length) gates.shift()?.();
});

test.run();
