/**
 * Test harness for nixos/egress-refresh.sh: runs the real script with fake `getent` and `nft` first on PATH.
 * The fake resolver answers from files (`dns/<ahostsv4|ahostsv6>/<host>`, getent's output format; no file:
 * exit 2 like an NXDOMAIN/timeout); the fake nft records every file it is asked to load, or refuses when
 * `nft-refuse` exists. Everything else (bash, awk, sort, timeout) is the system's.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./_test-nix.ts";

const SCRIPT = join(ROOT, "nixos", "egress-refresh.sh");
/** The script bounds each lookup at 10 s; a run here should take well under a second. */
const RUN_TIMEOUT_MS = 30_000;

const FAKE_GETENT = `#!/usr/bin/env bash
f="$FAKE_DIR/dns/$1/$2"
[ -f "$f" ] || exit 2
cat "$f"
`;
const FAKE_NFT = `#!/usr/bin/env bash
[ "$1" = -f ] || { echo "fake nft: expected -f FILE" >&2; exit 64; }
if [ -e "$FAKE_DIR/nft-refuse" ]; then echo "fake nft: Error: Could not process rule" >&2; exit 1; fi
{ cat "$2"; echo "--- end of transaction"; } >>"$FAKE_DIR/nft-transactions"
`;

export interface RefreshRun {
  status: number | null;
  stderr: string;
}

export class EgressHarness {
  readonly dir = mkdtempSync(join(tmpdir(), "osiris-egress-"));
  readonly state = join(this.dir, "state");
  private readonly bin = join(this.dir, "bin");

  constructor() {
    mkdirSync(this.bin);
    for (const [name, text] of [["getent", FAKE_GETENT], ["nft", FAKE_NFT]] as const) {
      writeFileSync(join(this.bin, name), text);
      chmodSync(join(this.bin, name), 0o755);
    }
  }

  /** Makes `host` resolve to `v4`/`v6` addresses (getent ahosts format); no addresses at all: a failed lookup. */
  dns(host: string, v4: string[], v6: string[] = []): void {
    for (const [db, addrs] of [["ahostsv4", v4], ["ahostsv6", v6]] as const) {
      mkdirSync(join(this.dir, "dns", db), { recursive: true });
      const file = join(this.dir, "dns", db, host);
      if (addrs.length === 0) rmSync(file, { force: true });
      else writeFileSync(file, addrs.flatMap((a) => [`${a}      STREAM ${host}`, `${a}      DGRAM  `]).join("\n") + "\n");
    }
  }

  dnsDown(host: string): void {
    this.dns(host, [], []);
  }

  refuseNft(refuse: boolean): void {
    const f = join(this.dir, "nft-refuse");
    if (refuse) writeFileSync(f, "");
    else rmSync(f, { force: true });
  }

  /** Runs the script on `entries` ("HOST PROTO PORT" lines) at time `now` (epoch seconds). */
  run(entries: string[], now: number): RefreshRun {
    const entriesFile = join(this.dir, "entries");
    writeFileSync(entriesFile, entries.join("\n") + "\n");
    const r = spawnSync("bash", [SCRIPT, entriesFile, this.state], {
      encoding: "utf8",
      timeout: RUN_TIMEOUT_MS,
      env: { ...process.env, PATH: `${this.bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, FAKE_DIR: this.dir, OSIRIS_EGRESS_NOW: String(now) },
    });
    return { status: r.status, stderr: r.stderr };
  }

  /** Every nft transaction loaded so far, in order. */
  transactions(): string[] {
    const f = join(this.dir, "nft-transactions");
    if (!existsSync(f)) return [];
    return readFileSync(f, "utf8").split("--- end of transaction\n").filter((t) => t !== "");
  }

  /** The elements file the ruleset includes at boot (what was last applied). */
  cached(): string | undefined {
    const f = join(this.state, "nft", "10-egress.nft");
    return existsSync(f) ? readFileSync(f, "utf8") : undefined;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The set elements in an nft transaction or elements file, per set, sorted. */
export function elementsOf(text: string): { v4: string[]; v6: string[] } {
  const out = { v4: [] as string[], v6: [] as string[] };
  for (const m of text.matchAll(/^add element inet osiris egress_(v4|v6) \{ (.*) \}$/gm)) {
    out[m[1] as "v4" | "v6"].push(...m[2]!.split(",").map((e) => e.trim()));
  }
  out.v4.sort();
  out.v6.sort();
  return out;
}
