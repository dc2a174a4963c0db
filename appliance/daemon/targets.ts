/**
 * Turns the config's targets (and the lab site, when one is configured) into what the engine needs per
 * target: a TargetRef, a fact gatherer and a step runner. One place decides which collector serves which
 * target, so scanning and healing can never talk to a host through different paths.
 */
import { join } from "node:path";
import { createApplianceGatherer, createLinuxGatherer, createMacosGatherer, createShStepRunner, createWindowsGatherer, createWinrmStepRunner, type Gather } from "../checks/mod.ts";
import { createLocalTransport, createSshTransport, createWinrmTransport, memoryPinStore, type PinStore, type Transport, type TransportLog } from "../collect/index.ts";
import type { Config } from "../config/index.ts";
import type { Credentials } from "../config/credentials.ts";
import { credentialedTransport, type HostCredentials } from "../credentials/index.ts";
import type { Clock, Log, StepRunner, TargetRef } from "../engine/types.ts";
import { createLabGatherer, createLabStepRunner, LabWorld, loadLabSite } from "../lab/mod.ts";
import type { ApplianceContext } from "../checks/mod.ts";
import { createHelperBridge, type HelperBridge } from "../helpers/index.ts";

/** A target with everything needed to scan and heal it. */
export interface ResolvedTarget {
  ref: TargetRef;
  gather: Gather;
  intervalMs: number;
  timeoutMs: number;
}

export interface ResolvedTargets {
  targets: ResolvedTarget[];
  runner: StepRunner;
  /** The lab world when a lab site is configured (its hosts are simulated). */
  lab: LabWorld | null;
  close(): Promise<void>;
}

/** Lab hosts are scanned this often when the config does not list them itself (demo pace: a fresh view often). */
export const LAB_DEFAULT_INTERVAL_S = 300;
const LAB_TIMEOUT_MS = 10_000;

export interface TargetDeps {
  config: Config;
  credentials: Credentials;
  clock: Clock;
  log: Log;
  pins?: PinStore;
  /** Relay credentials (plus the file's as fallback), looked up at each command: ssh/winrm follow their changes. */
  hostCredentials?: HostCredentials;
  /** Time inside the simulated lab (default: `clock`). */
  labClock?: Clock;
  /** The appliance's signed config values (helpers/signed-config.ts applianceContextOf); default: nothing pinned. */
  applianceContext?: () => Promise<ApplianceContext>;
  /** Root steps and firewall facts through osiris-helper@ units (default: systemctl on this machine). */
  helper?: HelperBridge;
}

function credentialFor(credentials: Credentials, ref: string, targetId: string) {
  const c = credentials.get(ref);
  if (!c) throw new Error(`target ${targetId}: credential_ref ${JSON.stringify(ref)} is not in the credentials file`);
  return c;
}

export async function resolveTargets(d: TargetDeps): Promise<ResolvedTargets> {
  const { config, clock } = d;
  const pins = d.pins ?? memoryPinStore();
  const transports = new Map<string, Transport>();
  // The transports take time as a function and log through one callback (appliance/collect/transport.ts).
  const now = () => clock.now();
  const transportLog: TransportLog = ({ level, msg, ...fields }) => (level === "debug" ? d.log.debug(msg, fields) : d.log[level](msg, fields));
  const local = createLocalTransport({ clock: now });
  const helper = d.helper ?? createHelperBridge({ stateDir: config.state_dir, now });
  const out: ResolvedTarget[] = [];
  let lab: LabWorld | null = null;

  if (config.lab) {
    const site = loadLabSite(config.lab.site_dir);
    lab = await LabWorld.open({ site, clock: d.labClock ?? clock, stateFile: join(config.state_dir, "lab-state.json") });
  }
  const labTargets = config.targets.filter((t) => t.collector === "lab");
  if (lab && labTargets.length === 0) {
    // A lab site with no lab targets listed: every host of the site is a simulated target.
    for (const h of lab.site.hosts) {
      const ref: TargetRef = { id: h.id, name: h.name, platform: h.platform, collector: "lab", simulated: true };
      out.push({ ref, gather: createLabGatherer(lab), intervalMs: LAB_DEFAULT_INTERVAL_S * 1000, timeoutMs: LAB_TIMEOUT_MS });
    }
  }

  for (const t of config.targets) {
    const name = t.name ?? t.id;
    switch (t.collector) {
      case "lab": {
        if (!lab) throw new Error(`target ${t.id}: collector lab needs lab.site_dir in the config`);
        const host = t.host ?? t.id;
        const ref: TargetRef = { id: t.id, name, platform: t.platform, collector: "lab", simulated: true };
        out.push({ ref, gather: createLabGatherer(lab, { hostOf: () => host }), intervalMs: t.interval_s * 1000, timeoutMs: LAB_TIMEOUT_MS });
        break;
      }
      case "local": {
        const ref: TargetRef = { id: t.id, name, platform: "appliance", collector: "local", simulated: false };
        transports.set(t.id, local);
        const gather = helper.gather(
          createApplianceGatherer(local, {
            clock,
            context: d.applianceContext ?? (() => ({ pinnedSystem: null, expectedAvSha256: null, firewallBaselineSha256: null, firewallBaselineSignatureValid: false })),
          }),
        );
        out.push({ ref, gather, intervalMs: t.interval_s * 1000, timeoutMs: t.timeout_s * 1000 });
        break;
      }
      case "ssh": {
        let transport: Transport;
        if (d.hostCredentials) transport = credentialedTransport(t, d.hostCredentials, { pins, now, log: transportLog });
        else {
          const c = credentialFor(d.credentials, t.credential_ref, t.id);
          const auth = c.type === "password" ? ({ kind: "password", password: c.password } as const) : ({ kind: "key", privateKey: c.private_key, ...(c.passphrase ? { passphrase: c.passphrase } : {}) } as const);
          transport = createSshTransport({ host: t.address, port: t.port, username: c.username, auth, pins, clock: now, log: transportLog });
        }
        transports.set(t.id, transport);
        const ref: TargetRef = { id: t.id, name, platform: t.platform, collector: "ssh", simulated: false };
        const gather = t.platform === "macos" ? createMacosGatherer(transport) : createLinuxGatherer(transport, { clock });
        out.push({ ref, gather, intervalMs: t.interval_s * 1000, timeoutMs: t.timeout_s * 1000 });
        break;
      }
      case "winrm": {
        let transport: Transport;
        if (d.hostCredentials) transport = credentialedTransport(t, d.hostCredentials, { pins, now, log: transportLog });
        else {
          const c = credentialFor(d.credentials, t.credential_ref, t.id);
          if (c.type !== "password") throw new Error(`target ${t.id}: WinRM needs a password credential, ${t.credential_ref} is an SSH key`);
          const auth =
            t.auth === "basic"
              ? ({ kind: "basic", username: c.username, password: c.password } as const)
              : ({ kind: "ntlm", username: c.domain ? `${c.domain}\\${c.username}` : c.username, password: c.password } as const);
          transport = createWinrmTransport({ host: t.address, https: t.https, ...(t.port ? { port: t.port } : {}), auth, pins, clock: now, log: transportLog });
        }
        transports.set(t.id, transport);
        const ref: TargetRef = { id: t.id, name, platform: "windows", collector: "winrm", simulated: false };
        out.push({ ref, gather: createWindowsGatherer(transport, { clock }), intervalMs: t.interval_s * 1000, timeoutMs: t.timeout_s * 1000 });
        break;
      }
    }
  }

  const seen = new Set<string>();
  for (const t of out) {
    if (seen.has(t.ref.id)) throw new Error(`target id ${t.ref.id} is used twice (config targets and lab hosts share one namespace)`);
    seen.add(t.ref.id);
  }

  const transportFor = (target: TargetRef): Transport => {
    const tr = transports.get(target.id);
    if (!tr) throw new Error(`no transport for target ${target.id}`);
    return tr;
  };
  const sh = helper.runner(createShStepRunner({ transportFor }));
  const win = createWinrmStepRunner({ transportFor });
  const labHost = new Map(config.targets.flatMap((t) => (t.collector === "lab" ? [[t.id, t.host ?? t.id] as const] : [])));
  const labRunner = lab ? createLabStepRunner(lab, { hostOf: (t) => labHost.get(t.id) ?? t.id }) : null;
  const runner: StepRunner = {
    runStep(target, step) {
      if (target.collector === "lab") return labRunner ? labRunner.runStep(target, step) : Promise.resolve({ ok: false, detail: "no lab configured" });
      if (target.collector === "winrm") return win.runStep(target, step);
      return sh.runStep(target, step);
    },
  };
  return {
    targets: out,
    runner,
    lab,
    async close() {
      await Promise.all([...new Set(transports.values())].map((t) => t.close().catch(() => undefined)));
    },
  };
}
