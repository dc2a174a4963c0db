/**
 * Test fixtures for the helper (not shipped): a real enrolled appliance store on a temp libSQL file with a
 * pinned relay key, signed appliance configs and rule sets written the way the daemon keeps them, a fake
 * NixOS file system layout (system profile generations, /run/current-system), and a STAND-IN for the Nix and
 * systemd commands (this machine has neither a Nix store to switch nor systemd as PID 1). The stand-in
 * records every argv and applies each command's effect to the fake layout, as NixOS would.
 */
import { mkdir, mkdtemp, readdir, readlink, rm, symlink, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { createSigner, generateKeyPair, keyId, type Signer } from "../../protocol/crypto.ts";
import { toHex } from "../../protocol/encoding.ts";
import { isoTime } from "../../protocol/ids.ts";
import { signRuleset, RULESET_SCHEMA, type Rule } from "../../protocol/ruleset.ts";
import { loadOrCreateIdentity } from "../identity/index.ts";
import { openStore, type Store } from "../store/index.ts";
import type { CommandResult, CommandRunner } from "./command.ts";
import type { HelperDeps } from "./context.ts";
import { acceptApplianceConfig, APPLIANCE_CONFIG_SCHEMA, signApplianceConfig, type ApplianceConfigPayload } from "./signed-config.ts";
import { readSignedState } from "./store-reader.ts";

export const APPLIANCE_ID = "app_helpertest01";
export const NOW = Date.parse("2026-11-28T10:00:00.000Z");

/** A Nix store path for `name` (32 base-32 characters of hash). */
export function storePath(name: string): string {
  const hash = (name.repeat(32) + "0".repeat(32)).replace(/[^0-9a-z]/g, "0").slice(0, 32);
  return `/nix/store/${hash}-nixos-system-${name}`;
}

const quiet = { info: () => undefined };

export interface TestAppliance {
  readonly dir: string;
  readonly stateDir: string;
  readonly dbPath: string;
  /** The helper's trust anchor for this appliance (created by the first read). */
  readonly trustFile: string;
  readonly store: Store;
  readonly relay: Signer;
  /** Signs `payload` (defaults filled in) with the pinned relay key and stores it as the daemon would. */
  pin(p: Partial<ApplianceConfigPayload> & { version: number }, signer?: Signer): Promise<void>;
  /** Writes a signed rule set into the `ruleset` table. */
  rules(rules: Rule[], version?: number): Promise<void>;
  close(): Promise<void>;
}

export async function testAppliance(): Promise<TestAppliance> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-helper-"));
  const stateDir = join(dir, "state");
  await mkdir(stateDir, { mode: 0o700 });
  const dbPath = join(stateDir, "appliance.db");
  const store = await openStore(dbPath, { log: quiet });
  const relayKey = generateKeyPair(new Uint8Array(32).fill(11));
  const relay = createSigner(relayKey.secretKey);
  const identity = await loadOrCreateIdentity(stateDir, store, { random: (n) => new Uint8Array(randomBytes(n)), clock: { now: () => NOW } });
  await identity.enrollStandalone("site_helpertest01", {
    applianceId: APPLIANCE_ID,
    relayKeys: [{ key_id: keyId(relay.publicKey), public_key: toHex(relay.publicKey), name: "osiriscare.relay/test" }],
  });
  const relayKeys = identity.relayKeys;
  return {
    dir,
    stateDir,
    dbPath,
    trustFile: join(dir, "helper", "trust.json"),
    store,
    relay,
    async pin(p, signer = relay) {
      const payload: ApplianceConfigPayload = {
        schema: APPLIANCE_CONFIG_SCHEMA,
        appliance_id: APPLIANCE_ID,
        issued_at: isoTime(NOW),
        pinned_system: null,
        av_binary_sha256: null,
        firewall_baseline: null,
        ...p,
      };
      const envelope = await signApplianceConfig(payload, signer);
      if (signer === relay) await acceptApplianceConfig(store, envelope, { relayKeys, applianceId: APPLIANCE_ID, now: NOW });
      else {
        // A config the relay did not sign, planted in the store (as a tampered database would hold it).
        await store.execute({ sql: "INSERT INTO kv (key, value, updated_at) VALUES ('appliance.config_envelope', ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", args: [JSON.stringify(envelope), isoTime(NOW)] });
      }
    },
    async rules(rules, version = 1) {
      const envelope = await signRuleset({ schema: RULESET_SCHEMA, version, issued_at: isoTime(NOW), rules }, relay);
      await store.execute({
        sql: "INSERT INTO ruleset (id, version, envelope, hash, loaded_at) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version, envelope = excluded.envelope",
        args: [version, JSON.stringify(envelope), "0".repeat(64), isoTime(NOW)],
      });
    },
    async close() {
      store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A fake NixOS layout under `root`: `nix/var/nix/profiles/system` with generations, `run/current-system`. */
export interface FakeNixos {
  readonly resultDir: string;
  readonly currentSystem: string;
  readonly systemProfile: string;
  readonly tmpDir: string;
  /** Systems whose activation leaves the machine unhealthy (`systemctl is-system-running` says degraded). */
  readonly unhealthy: Set<string>;
  /** Programs (argv[0] basenames or full paths) that fail with exit 1. */
  readonly failing: Set<string>;
  /** Every command run, in order. */
  readonly calls: string[][];
  readonly run: CommandRunner;
  current(): Promise<string>;
  generations(): Promise<number[]>;
}

export async function fakeNixos(root: string, systems: readonly string[]): Promise<FakeNixos> {
  const profiles = join(root, "nix/var/nix/profiles");
  await mkdir(profiles, { recursive: true });
  await mkdir(join(root, "run"), { recursive: true });
  await mkdir(join(root, "tmp"), { recursive: true });
  const systemProfile = join(profiles, "system");
  const currentSystem = join(root, "run/current-system");
  for (const [i, s] of systems.entries()) await symlink(s, join(profiles, `system-${i + 1}-link`));
  await symlink(`system-${systems.length}-link`, systemProfile);
  await symlink(systems.at(-1)!, currentSystem);
  const unhealthy = new Set<string>();
  const failing = new Set<string>();
  const calls: string[][] = [];
  const gens = async () => (await readdir(profiles)).map((e) => /^system-(\d+)-link$/.exec(e)?.[1]).filter((n): n is string => n !== undefined).map(Number).sort((a, b) => a - b);
  const current = async () => resolve(dirname(currentSystem), await readlink(currentSystem));
  const ok = (stdout = "", stderr = ""): CommandResult => ({ exitCode: 0, stdout, stderr, durationMs: 1 });
  const run: CommandRunner = async (argv) => {
    calls.push([...argv]);
    const [prog = "", ...args] = argv;
    if (failing.has(prog) || failing.has(basename(prog))) return { exitCode: 1, stdout: "", stderr: `${basename(prog)}: simulated failure\n`, durationMs: 1 };
    if (prog === "nix-env" && args[2] === "--set") {
      const next = Math.max(0, ...(await gens())) + 1;
      await symlink(args[3]!, join(profiles, `system-${next}-link`));
      await unlink(systemProfile);
      await symlink(`system-${next}-link`, systemProfile);
      return ok();
    }
    if (prog === "nix-env" && args[2] === "--delete-generations") {
      for (const n of args.slice(3)) await unlink(join(profiles, `system-${n}-link`));
      return ok(`removing profile version ${args.slice(3).join(", ")}\n`);
    }
    if (prog.endsWith("/bin/switch-to-configuration")) {
      await unlink(currentSystem);
      await symlink(dirname(dirname(prog)), currentSystem);
      return ok("", "activating the configuration...\n");
    }
    if (prog === "systemctl" && args[0] === "is-system-running") return ok(unhealthy.has(await current()) ? "degraded\n" : "running\n");
    if (prog === "systemctl" && args[0] === "is-active") return ok("active\n");
    if (prog === "nix-store") return ok(`${args[1]}\n`);
    if (prog === "nix-collect-garbage") return ok("0 store paths deleted, 0.00 MiB freed\n");
    if (prog === "journalctl") return ok("", "Vacuuming done, freed 0B of archived journals from /var/log/journal.\n");
    return { exitCode: 127, stdout: "", stderr: `${prog}: not found\n`, durationMs: 1 };
  };
  return { resultDir: join(root, "run/osiris/helper"), currentSystem, systemProfile, tmpDir: join(root, "tmp"), unhealthy, failing, calls, run, current, generations: gens };
}

/** Helper deps over a test appliance and a fake NixOS; time advances 1 s per call, sleeps are instant. */
export function helperDeps(app: TestAppliance, nixos: FakeNixos, run: CommandRunner = nixos.run): HelperDeps {
  let t = NOW;
  return {
    run,
    now: () => (t += 1000),
    sleep: async (ms) => void (t += ms),
    paths: { resultDir: nixos.resultDir, currentSystem: nixos.currentSystem, systemProfile: nixos.systemProfile, tmpDir: nixos.tmpDir },
    readState: () => readSignedState(app.dbPath, { trustFile: app.trustFile }),
  };
}
