/**
 * ICMP echo liveness through the system `ping` (iputils): one echo request per host, before any TCP probe, so a
 * host that answers ping but has no port of the list open is still found, and a host the kernel cannot reach
 * is given up without a single connection attempt.
 *
 * Node has no ICMP socket, and a raw socket needs CAP_NET_RAW, which the daemon never has. iputils `ping`
 * opens an unprivileged ICMP datagram socket (`socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`) when the process's
 * group is inside `net.ipv4.ping_group_range` (systemd's default range covers every group), and a raw socket
 * when it has the capability. A ping that depends on a capability cannot run for a daemon with an empty
 * bounding set and NoNewPrivileges (a `cap_net_raw=ep` binary is refused at exec, the NixOS wrapper in
 * /run/wrappers/bin fails to raise it), so the NixOS module points `ping_path` at iputils' plain binary. The program is run as an argument vector through the appliance's local
 * transport (no shell; its own process group, killed on timeout or abort; fixed PATH with /run/wrappers/bin
 * first), and the address is checked as dotted-quad IPv4 before it becomes an argument.
 *
 *   ping -n -q -c 1 -W <seconds> -- <ip>
 *
 * Exit 0 with a reply → `alive`. Exit 1 with ping's statistics line → `silent` (no reply in time; Windows
 * hosts drop echo requests by default, so silence proves nothing: TCP probes decide), or `unreachable` when
 * ping reports "Destination Host Unreachable" (no ARP answer on the segment). Anything else — no such
 * program, no permission for either socket, a capability wrapper that cannot raise its capability under
 * NoNewPrivileges — is `unavailable` with ping's own message, and the scanner falls back to TCP only.
 */
import { createLocalTransport, type Transport } from "../collect/index.ts";
import { IPV4_PATTERN } from "../../protocol/sync.ts";

export type EchoResult = "alive" | "silent" | "unreachable" | "unavailable";

export interface EchoAnswer {
  readonly result: EchoResult;
  /** Why, for `unavailable` (ping's last line of output, or the transport's error). */
  readonly detail?: string;
}

/** Sends one echo request to `ip` and waits at most `timeoutMs`; never rejects (an abort answers `silent`). */
export type EchoProbe = (ip: string, timeoutMs: number, signal?: AbortSignal) => Promise<EchoAnswer>;

/** ping's own output for one echo is a few hundred bytes; anything far larger is not ping. */
const MAX_OUTPUT_BYTES = 16 * 1024;
/** Time ping gets to start and print its statistics after its own deadline, before it is killed. */
const EXIT_GRACE_MS = 1000;
/** Longest wait ping is asked for (`-W` is whole seconds in older iputils). */
export const MAX_ECHO_TIMEOUT_MS = 10_000;
/** A ping program: a bare name looked up on the fixed PATH, or an absolute path. */
export const PING_PATH_PATTERN = /^(?:[A-Za-z0-9_.+-]{1,64}|\/[A-Za-z0-9_.+@/-]{1,4095})$/;

const STATISTICS = /(\d+) packets transmitted, (\d+) (?:packets )?received/;
const UNREACHABLE = /Destination (?:Host|Net) Unreachable|Network is unreachable|No route to host/i;

const lastLine = (s: string): string => (s.split("\n").map((l) => l.trim()).filter(Boolean).pop() ?? "").slice(0, 200);

/** The argument vector for one echo to `ip` (validated) waiting `timeoutMs` (rounded up to whole seconds). */
export function pingArgv(path: string, ip: string, timeoutMs: number): string[] {
  if (!PING_PATH_PATTERN.test(path)) throw new RangeError(`Cannot ping with ${JSON.stringify(path.slice(0, 80))}: expected a program name or an absolute path`);
  if (!IPV4_PATTERN.test(ip)) throw new RangeError(`Cannot ping ${JSON.stringify(ip.slice(0, 40))}: expected an IPv4 address like 192.168.1.20`);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`Cannot ping as 'timeoutMs' must be a positive number: current value is ${timeoutMs}`);
  const seconds = Math.max(1, Math.ceil(Math.min(timeoutMs, MAX_ECHO_TIMEOUT_MS) / 1000));
  return [path, "-n", "-q", "-c", "1", "-W", String(seconds), "--", ip];
}

/** Reads what ping printed and how it exited. */
export function echoAnswer(exitCode: number, stdout: string, stderr: string): EchoAnswer {
  const stats = STATISTICS.exec(stdout);
  if (exitCode === 0 && stats && Number(stats[2]) > 0) return { result: "alive" };
  if (UNREACHABLE.test(`${stdout}\n${stderr}`)) return { result: "unreachable" };
  if (exitCode === 1 && stats) return { result: "silent" };
  return { result: "unavailable", detail: `ping exited ${exitCode}: ${lastLine(stderr) || lastLine(stdout) || "no output"}` };
}

export interface SystemPingOptions {
  /** The ping program (config `discovery.ping_path`). */
  readonly path: string;
  /** Runs it; default the appliance's local transport. */
  readonly transport?: Transport;
}

/** The real echo probe: the system `ping`, one process per host. */
export function systemPing(o: SystemPingOptions): EchoProbe {
  if (!PING_PATH_PATTERN.test(o.path)) throw new RangeError(`Cannot ping with ${JSON.stringify(o.path.slice(0, 80))}: expected a program name or an absolute path`);
  const transport = o.transport ?? createLocalTransport();
  return async (ip, timeoutMs, signal) => {
    if (signal?.aborted) return { result: "silent" };
    const [program, ...args] = pingArgv(o.path, ip, timeoutMs);
    const seconds = Number(args[args.indexOf("-W") + 1]);
    try {
      const r = await transport.run({ program: program!, args }, { timeoutMs: seconds * 1000 + EXIT_GRACE_MS, maxOutputBytes: MAX_OUTPUT_BYTES, ...(signal ? { signal } : {}) });
      return echoAnswer(r.exitCode, r.stdout, r.stderr);
    } catch (e) {
      if (signal?.aborted) return { result: "silent" };
      return { result: "unavailable", detail: `ping did not finish: ${(e as Error).message}`.slice(0, 240) };
    }
  };
}
