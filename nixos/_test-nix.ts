/**
 * Test helpers: run Debian's `nix-instantiate` (package nix-bin) on the repository's Nix files without
 * nixpkgs, a Nix store or root. Each call gets a throw-away state directory and `--readonly-mode`, so it
 * works as any user and leaves nothing behind.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (this file lives in nixos/). */
export const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

export const NIX_INSTALL_HINT =
  "nix-instantiate is not installed: install Debian's nix-bin (`apt-get install -y nix-bin`; .ci/run does this in CI)";

/** Longest a single evaluation may take; the whole eval of nixos/ci/eval.nix takes well under a second. */
const NIX_TIMEOUT_MS = 60_000;

export class NixError extends Error {
  override readonly name = "NixError";
  constructor(message: string, readonly stderr: string) {
    super(message);
  }
}

/** Runs nix-instantiate with `args` in the repository root; returns stdout. Throws NixError on failure. */
export function nixInstantiate(args: string[]): string {
  const state = mkdtempSync(join(tmpdir(), "osiris-nix-"));
  try {
    const result = spawnSync("nix-instantiate", ["--readonly-mode", "--option", "build-users-group", "", ...args], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: NIX_TIMEOUT_MS,
      env: { ...process.env, HOME: state, NIX_STATE_DIR: join(state, "state"), NIX_LOG_DIR: join(state, "log"), NIX_CONF_DIR: state },
    });
    if (result.error) {
      const code = (result.error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new NixError(NIX_INSTALL_HINT, "");
      throw new NixError(`nix-instantiate ${args.join(" ")}: ${result.error.message}`, "");
    }
    if (result.status !== 0) {
      throw new NixError(`nix-instantiate ${args.join(" ")} exited ${result.status}: ${result.stderr.trim()}`, result.stderr);
    }
    return result.stdout;
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

/** `nix-instantiate --eval --strict --json` of an expression, parsed. */
export function evalJson(expression: string): unknown {
  return JSON.parse(nixInstantiate(["--eval", "--strict", "--json", "-E", expression]));
}

/** An attribute of nixos/ci/eval.nix (options, samples, egress entries), evaluated to JSON. */
export function evalCi(attr: string): unknown {
  return JSON.parse(nixInstantiate(["--eval", "--strict", "--json", "nixos/ci/eval.nix", "-A", attr]));
}

/** Repository-relative paths of every file under `dirs` whose name ends with `suffix`, sorted. */
export function filesUnder(dirs: string[], suffix: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== "node_modules" && !e.name.startsWith(".")) walk(p);
      } else if (e.name.endsWith(suffix)) out.push(relative(ROOT, p));
    }
  };
  for (const d of dirs) walk(join(ROOT, d));
  return out.sort();
}

/** One option as nixos/ci/eval.nix reports it. */
export interface NixOption {
  /** Option path below services.<module>; `a.*.b` inside list items, `a.b` inside a nullable submodule. */
  name: string;
  description: string | null;
  /** `str`, `nullOr (path)`, `enum ["a","b"]`, `listOf (submodule)`, ... */
  type: string;
  hasDefault: boolean;
  /** null also when the default is opaque (a package). */
  default: unknown;
  defaultHasType: boolean;
}

export function isNixOptionList(value: unknown): value is NixOption[] {
  return Array.isArray(value) && value.every((o) => typeof o === "object" && o !== null && typeof (o as NixOption).name === "string");
}

/** Enum values in a type description (`nullOr (enum ["a","b"])` → ["a","b"]), or undefined. */
export function enumValues(type: string): string[] | undefined {
  const m = /enum (\[[^\]]*\])/.exec(type);
  return m ? (JSON.parse(m[1]!) as string[]) : undefined;
}
