// Runs the real `osiris` launcher (bin/osiris.js) in a child process, as an MSP would.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatOffsetIso, nextWindows, parseWindow } from "../../protocol/windows/windows.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Generous: each run starts Node and the TypeScript loader. */
const RUN_TIMEOUT_MS = 30_000;

function osiris(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["bin/osiris.js", "windows", "preview", ...args], { cwd: ROOT, encoding: "utf8", timeout: RUN_TIMEOUT_MS });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("preview prints START END lines exactly as nextWindows computes them", () => {
  const rrule = "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22";
  const r = osiris("--rrule", rrule, "--duration", "PT4H", "--tz", "America/New_York", "--from", "2026-10-24T00:00:00Z", "--count", "3");
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, "");
  assert.is(r.stdout, [
    "2026-10-24T22:00:00-04:00 2026-10-25T02:00:00-04:00",
    "2026-10-31T22:00:00-04:00 2026-11-01T01:00:00-05:00",
    "2026-11-07T22:00:00-05:00 2026-11-08T02:00:00-05:00",
    "",
  ].join("\n"));
  const expected = nextWindows(parseWindow({ rrule, duration: "PT4H", tz: "America/New_York" }), new Date("2026-10-24T00:00:00Z"), 3)
    .map((o) => `${formatOffsetIso(o.start, "America/New_York")} ${formatOffsetIso(o.end, "America/New_York")}\n`).join("");
  assert.is(r.stdout, expected);
});

test("preview reads a --from without offset as wall-clock time in --tz and handles the spring-forward gap", () => {
  const r = osiris("--rrule", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "--duration", "PT1H", "--tz", "Europe/Berlin", "--from", "2026-03-29T00:00", "--count", "2");
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, "2026-03-29T03:30:00+02:00 2026-03-29T04:30:00+02:00\n2026-03-30T02:30:00+02:00 2026-03-30T03:30:00+02:00\n");
});

test("preview handles last-weekday-of-month rules", () => {
  const r = osiris("--rrule", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=19", "--duration", "PT3H", "--tz", "America/Chicago", "--from", "2026-05-01T00:00:00-05:00", "--count", "2");
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, "2026-05-29T19:00:00-05:00 2026-05-29T22:00:00-05:00\n2026-06-30T19:00:00-05:00 2026-06-30T22:00:00-05:00\n");
});

test("invalid input gives one line on stderr and exit code 2", () => {
  const base = ["--duration", "PT4H", "--tz", "UTC", "--from", "2026-01-01T00:00:00Z"];
  const cases: [string[], RegExp][] = [
    [["--rrule", "FREQ=FOO", ...base], /FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY: saw FREQ=FOO/],
    [["--rrule", "FREQ=DAILY", "--duration", "4 hours", "--tz", "UTC"], /duration must be ISO 8601.*saw "4 hours"/],
    [["--rrule", "FREQ=DAILY", "--duration", "PT4H", "--tz", "Moon/Base"], /unknown time zone "Moon\/Base"/],
    [["--rrule", "FREQ=DAILY", ...base, "--count", "0"], /--count must be an integer from 1 to 1000: saw "0"/],
    [["--rrule", "FREQ=DAILY", "--duration", "PT4H", "--tz", "UTC", "--from", "yesterday"], /--from must be ISO 8601.*saw "yesterday"/],
    [["--duration", "PT4H"], /missing --rrule, --tz/],
    [["--rrule", "FREQ=DAILY", "--nope"], /Unknown option '--nope'/],
  ];
  for (const [args, message] of cases) {
    const r = osiris(...args);
    assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.is(r.stdout, "");
    assert.match(r.stderr, message);
    assert.match(r.stderr, /^osiris windows preview: [^\n]+\n$/);
  }
});

test("--help prints usage and exits 0", () => {
  const r = osiris("--help");
  assert.is(r.code, 0);
  assert.match(r.stdout, /Usage: osiris windows preview --rrule RULE --duration ISO8601 --tz ZONE/);
});

test.run();
