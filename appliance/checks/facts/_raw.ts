/**
 * Private helper of the sh gatherers (linux, appliance, macos): the common part of their scripts and the
 * bounded parser of what they print.
 *
 * A gatherer script is fixed text. It runs a list of *probes* (one command each) and prints ONE JSON object:
 *
 *   {"schema":"osiris.linux-raw/v1","now":{"rc":0,"size":11,"out":"1764287736"},"sshd_t":{...},...}
 *
 * `rc` is the probe's exit status, `size` how many bytes it printed (stdout and stderr together), `out` the
 * first PROBE_MAX_BYTES of them. The JSON is assembled by a small awk program (POSIX awk, tested with mawk)
 * from a framed stream: a header line `@key rc size`, then every output line prefixed with `|`, so nothing a
 * command prints can be mistaken for a header. No python or jq is needed on the target.
 *
 * Raw output becomes typed facts in TypeScript (linux.ts, appliance.ts, macos.ts), where parsing is tested.
 * Garbage, truncated or oversized output is a `CollectError` (`protocol` / `output_too_large`) naming the
 * problem, never an exception from deep inside a parser.
 */
import { CollectError } from "../../collect/errors.ts";
import type { Json } from "../../../protocol/catalogue/schema.ts";

/** Bytes kept of one probe's output: the largest legitimate one (an nft ruleset, lsblk JSON) is a few KiB. */
export const PROBE_MAX_BYTES = 32_768;
/** Most probes in one document: the scripts run about 40. */
export const MAX_PROBES = 200;
/** Whole document cap: MAX_PROBES × PROBE_MAX_BYTES would be 6 MiB; real output is under 64 KiB. */
export const MAX_RAW_BYTES = 2 * 1024 * 1024;
/** Extra transport output allowed beyond the JSON (stderr noise, a login banner). */
export const RAW_OUTPUT_SLACK_BYTES = 64 * 1024;
/** Keys the scripts use for probes. */
const PROBE_KEY = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * Common start of every sh gatherer: fixed locale and time zone (parseable English, UTC timestamps), a PATH
 * covering NixOS and FHS systems, a temp file for probe output, and helpers:
 * - `$TMO` prefix: `timeout 20` when available (each probe is bounded on the host too);
 * - `$PRIV` prefix: nothing as root, `sudo -n --` when sudo works without a password, else nothing (the
 *   probe may then fail, and the parser reports the fact as not collected, with the probe's message);
 * - `rec KEY CMD...`: runs CMD with stdin from /dev/null and writes its framed output; returns its status.
 */
export const SH_PRELUDE = String.raw`export LC_ALL=C LANG=C TZ=UTC
PATH=/run/wrappers/bin:/run/current-system/sw/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 077
osiris_tmp=$(mktemp 2>/dev/null) || osiris_tmp=/tmp/osiris-facts.$$
trap 'rm -f "$osiris_tmp"' EXIT
trap 'rm -f "$osiris_tmp"; exit 1' HUP INT TERM
have() { command -v "$1" >/dev/null 2>&1; }
TMO=
if have timeout; then TMO="timeout 20"; fi
PRIV=
if [ "$(id -u)" != 0 ] && have sudo && sudo -n true >/dev/null 2>&1; then PRIV="sudo -n --"; fi
rec() {
  osiris_key=$1
  shift
  "$@" </dev/null >"$osiris_tmp" 2>&1
  osiris_rc=$?
  printf '@%s %s %s\n' "$osiris_key" "$osiris_rc" "$(wc -c <"$osiris_tmp" | tr -d ' ')"
  head -c ${String(PROBE_MAX_BYTES)} "$osiris_tmp" | awk '{ print "|" $0 }'
  return $osiris_rc
}
`;

/**
 * The awk emitter (reads the framed stream, prints one JSON object). String escaping uses index/substr,
 * not gsub, because backslashes in gsub replacements differ between awk implementations.
 */
export const AWK_EMITTER = String.raw`function rep(s, a, b,    o, i) {
  o = ""
  while ((i = index(s, a)) > 0) { o = o substr(s, 1, i - 1) b; s = substr(s, i + length(a)) }
  return o s
}
function esc(s,    i) {
  if (index(s, "\\")) s = rep(s, "\\", "\\\\")
  if (index(s, "\"")) s = rep(s, "\"", "\\\"")
  for (i = 1; i < 32; i++) if (index(s, c[i])) s = rep(s, c[i], u[i])
  return s
}
function flush() {
  if (k != "") printf ",\"%s\":{\"rc\":%d,\"size\":%d,\"out\":\"%s\"}", k, rc, sz, o
  k = ""
}
BEGIN {
  for (i = 1; i < 32; i++) { c[i] = sprintf("%c", i); u[i] = sprintf("\\u%04x", i) }
  printf "{\"schema\":\"%s\"", schema
}
/^@/ { flush(); split(substr($0, 2), f, " "); k = f[1]; rc = f[2] + 0; sz = f[3] + 0; o = ""; first = 1; next }
/^\|/ { if (k != "") { o = o (first ? "" : "\\n") esc(substr($0, 2)); first = 0 }; next }
END { flush(); print "}" }
`;

/** A whole gatherer script: prelude, optional validated settings, the probes function, the emitter. */
export function buildScript(schema: string, settings: string, probes: string): string {
  return [
    `# OsirisCare fact gatherer (${schema}): read-only probes, prints one JSON object.`,
    SH_PRELUDE,
    settings,
    "osiris_probes() {",
    probes,
    ":",
    "}",
    `osiris_probes | awk -v schema=${schema} '${AWK_EMITTER}'`,
    "",
  ].join("\n");
}

/** Values the settings block may carry: no quote, space, `$`, backtick, backslash or control character. */
const SAFE_SETTING = /^[A-Za-z0-9@%+=:,./_*?[\]-]*$/;
/** Longest setting value: paths and globs, not documents. */
export const MAX_SETTING_LENGTH = 1024;

/**
 * `NAME='value'` lines for the settings block. The scripts are fixed text; the few settings they take (paths,
 * unit names, from the validated config) are checked against a conservative character set AND single-quoted,
 * so a value can never become shell syntax. Anything else is a RangeError before anything is sent.
 */
export function shellSettings(values: Readonly<Record<string, string>>): string {
  return Object.entries(values)
    .map(([name, value]) => {
      if (!/^OSIRIS_[A-Z0-9_]{1,40}$/.test(name)) throw new RangeError(`Cannot use setting name ${JSON.stringify(name)}: expected OSIRIS_ and upper-case letters`);
      if (value.length > MAX_SETTING_LENGTH || !SAFE_SETTING.test(value)) {
        throw new RangeError(
          `Cannot pass ${name} to the gatherer script as it must be at most ${MAX_SETTING_LENGTH} characters of letters, digits and ./_-:@%+=,*?[]: current value is ${JSON.stringify(value.slice(0, 80))}`,
        );
      }
      return `${name}='${value}'`;
    })
    .join("\n");
}

/** One probe's result. */
export interface Probe {
  readonly rc: number;
  /** Bytes the command printed; more than `out` holds when `truncated`. */
  readonly size: number;
  readonly out: string;
  readonly truncated: boolean;
}

/** Probes by key, with helpers for the common questions. */
export class Probes {
  readonly #map: ReadonlyMap<string, Probe>;
  constructor(map: ReadonlyMap<string, Probe>) {
    this.#map = map;
  }
  get(key: string): Probe | undefined {
    return this.#map.get(key);
  }
  has(key: string): boolean {
    return this.#map.has(key);
  }
  /** Output of a probe that exited 0, trimmed; undefined when it did not run or failed. */
  ok(key: string): string | undefined {
    const p = this.#map.get(key);
    return p && p.rc === 0 ? p.out.trim() : undefined;
  }
  /** `key exited 3: first line of its output`, for reasons. */
  describe(key: string): string {
    const p = this.#map.get(key);
    if (!p) return `${key} did not run`;
    const line = p.out.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "no output";
    return `${key} exited ${p.rc}: ${line.slice(0, 160)}`;
  }
  keys(): string[] {
    return [...this.#map.keys()];
  }
}

function protocolError(what: string, target: string, problem: string): CollectError {
  return new CollectError("protocol", `${what} on ${target} printed unusable output: ${problem}`);
}

/**
 * Parses a gatherer's stdout: finds the line that starts the JSON object with the expected schema (anything
 * before it, such as a login banner, is ignored), checks every member, and returns the probes.
 * Throws CollectError `output_too_large` over MAX_RAW_BYTES and `protocol` for anything malformed.
 */
export function parseProbes(stdout: string, schema: string, what: string, target: string): Probes {
  if (stdout.length > MAX_RAW_BYTES) {
    throw new CollectError("output_too_large", `${what} on ${target} printed ${stdout.length} characters, over the limit of ${MAX_RAW_BYTES}`, { maxRawBytes: MAX_RAW_BYTES });
  }
  const start = stdout.indexOf(`{"schema":"${schema}"`);
  if (start < 0) {
    const head = stdout.trim().split("\n")[0]?.slice(0, 80) ?? "";
    throw protocolError(what, target, head ? `no ${schema} object (output starts ${JSON.stringify(head)})` : "no output at all");
  }
  let doc: unknown;
  try {
    doc = JSON.parse(stdout.slice(start).trim());
  } catch {
    throw protocolError(what, target, `the ${schema} object is not valid JSON (${stdout.length - start} characters; truncated or corrupted)`);
  }
  return probesFromDoc(doc, schema, what, target);
}

/** Checks an already parsed document (fixtures store it as a JSON value). */
export function probesFromDoc(doc: unknown, schema: string, what: string, target: string): Probes {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw protocolError(what, target, "expected a JSON object");
  const entries = Object.entries(doc as Record<string, Json>);
  if ((doc as Record<string, unknown>)["schema"] !== schema) throw protocolError(what, target, `schema is ${JSON.stringify((doc as Record<string, unknown>)["schema"])}, expected ${schema}`);
  if (entries.length - 1 > MAX_PROBES) throw protocolError(what, target, `${entries.length - 1} probes, more than ${MAX_PROBES}`);
  const map = new Map<string, Probe>();
  for (const [key, value] of entries) {
    if (key === "schema") continue;
    if (!PROBE_KEY.test(key)) throw protocolError(what, target, `probe name ${JSON.stringify(key.slice(0, 40))} is not a probe key`);
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw protocolError(what, target, `probe ${key} is not an object`);
    const { rc, size, out } = value as Record<string, Json>;
    if (typeof rc !== "number" || !Number.isInteger(rc) || rc < 0 || rc > 255) throw protocolError(what, target, `probe ${key}: rc must be an exit status 0..255, got ${JSON.stringify(rc)}`);
    if (typeof size !== "number" || !Number.isInteger(size) || size < 0) throw protocolError(what, target, `probe ${key}: size must be a byte count, got ${JSON.stringify(size)}`);
    if (typeof out !== "string" || out.length > PROBE_MAX_BYTES) throw protocolError(what, target, `probe ${key}: out must be text of at most ${PROBE_MAX_BYTES} characters`);
    map.set(key, { rc, size, out, truncated: size > PROBE_MAX_BYTES });
  }
  return new Probes(map);
}

/** Parses JSON printed by a probe, bounded; undefined when it is not JSON (the caller says why). */
export function probeJson(p: Probe | undefined): unknown {
  if (!p || p.rc !== 0 || p.truncated) return undefined;
  try {
    return JSON.parse(p.out) as unknown;
  } catch {
    return undefined;
  }
}

/** Decodes the octal escapes (`\040` for a space) /proc/mounts uses in mount points. */
export function unescapeMountPoint(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Rows of `df -P` output: mount point and used percentage (the header and malformed rows are skipped). */
export function parseDf(out: string): { mount: string; used: number; fs: string }[] {
  const rows: { mount: string; used: number; fs: string }[] = [];
  for (const line of out.split("\n").slice(1)) {
    const m = /^(\S+)\s+\d+\s+\d+\s+\d+\s+(\d{1,3})%\s+(\/.*)$/.exec(line.trim());
    if (m) rows.push({ fs: m[1]!, used: Number(m[2]), mount: m[3]! });
  }
  return rows;
}

/** The fullest writable filesystem among `df -P` rows, skipping read-only mount points. */
export function fullestMount(dfOut: string, readOnly: ReadonlySet<string>): { mount: string; used: number } | undefined {
  let best: { mount: string; used: number } | undefined;
  for (const r of parseDf(dfOut)) {
    if (readOnly.has(r.mount)) continue;
    if (!best || r.used > best.used) best = { mount: r.mount, used: r.used };
  }
  return best;
}

/** Rounds to two decimals (ages are reported to 0.01 day / hour). */
export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
