/**
 * Test helper: a real rsyslog (Debian's `rsyslogd`) started as a child process on loopback ports, with its
 * config, pid file and output in a temporary directory. Every message it receives is written as one JSON line
 * of the fields it parsed (RFC 5424 header, structured data, message) plus the raw message, so tests assert
 * on what a reseller's SIEM would really see. Never a system service: the test owns the process and kills it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { access, constants, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { freePort } from "../_test-ports.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** rsyslog starts in well under a second; this bounds a broken install instead of hanging the suite. */
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const POLL_MS = 50;

export interface ReceivedSyslog {
  input: string;
  pri: string;
  time: string;
  hostname: string;
  app: string;
  procid: string;
  msgid: string;
  sd: string;
  msg: string;
  raw: string;
}

export interface RsyslogOptions {
  udp?: boolean;
  tcp?: boolean;
  tls?: { certFile: string; keyFile: string };
  /** Reuse ports (to restart a receiver where the sender expects it). */
  ports?: { udp?: number; tcp?: number; tls?: number };
}

export interface RunningRsyslog {
  ports: { udp: number; tcp: number; tls: number };
  /** Wait until at least `n` messages arrived; fails with what did arrive after `timeoutMs`. */
  received(n: number, timeoutMs?: number): Promise<ReceivedSyslog[]>;
  stop(): Promise<void>;
}

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(() => true, () => false);
}

/** The rsyslogd binary, or an error that says which Debian package to install. */
export async function findRsyslogd(): Promise<string> {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin"];
  for (const dir of dirs) if (dir !== "" && (await executable(join(dir, "rsyslogd")))) return join(dir, "rsyslogd");
  throw new Error("rsyslogd not found: these tests need a real rsyslog; install it with `apt-get install -y rsyslog rsyslog-openssl`");
}

/** Fail with an install hint unless rsyslog's OpenSSL network stream driver (TLS, RFC 5425) is present. */
export async function requireRsyslogTls(): Promise<void> {
  const roots = ["/usr/lib", "/usr/lib64"];
  for (const root of roots) {
    const candidates = [join(root, "rsyslog")];
    for (const entry of await readdir(root).catch(() => [])) candidates.push(join(root, entry, "rsyslog"));
    for (const dir of candidates) if (await access(join(dir, "lmnsd_ossl.so")).then(() => true, () => false)) return;
  }
  throw new Error("rsyslog's TLS driver lmnsd_ossl.so not found: install it with `apt-get install -y rsyslog-openssl`");
}

/** A port free on 127.0.0.1 right now for both TCP and UDP, for a receiver about to bind it. */
export async function freeTcpUdpPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket("udp4");
      socket.once("error", () => resolve(false));
      socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

function tcpReachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function config(dir: string, o: RsyslogOptions, ports: RunningRsyslog["ports"]): string {
  const tls = o.tls;
  const lines = [
    `global(workDirectory="${dir}" maxMessageSize="64k"` +
      (tls === undefined
        ? ")"
        : ` defaultNetstreamDriver="ossl" defaultNetstreamDriverCAFile="${tls.certFile}" defaultNetstreamDriverCertFile="${tls.certFile}" defaultNetstreamDriverKeyFile="${tls.keyFile}")`),
  ];
  if (o.udp) lines.push(`module(load="imudp")`, `input(type="imudp" address="127.0.0.1" port="${ports.udp}")`);
  // The plain TCP input doubles as the readiness probe, so it is always there unless TLS takes imtcp.
  if (tls === undefined) lines.push(`module(load="imtcp")`, `input(type="imtcp" address="127.0.0.1" port="${ports.tcp}")`);
  else {
    lines.push(
      `module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")`,
      `input(type="imtcp" address="127.0.0.1" port="${ports.tls}")`,
    );
  }
  const fields = ["input:inputname", "pri:pri", "hostname:hostname", "app:app-name", "procid:procid", "msgid:msgid", "sd:structured-data", "msg:msg", "raw:rawmsg"];
  lines.push(
    `template(name="osiris_json" type="list" option.jsonf="on") {`,
    `  property(outname="time" name="timereported" dateFormat="rfc3339" format="jsonf")`,
    ...fields.map((f) => {
      const [out, name] = f.split(":");
      return `  property(outname="${out}" name="${name}" format="jsonf")`;
    }),
    `}`,
    // rsyslogd's own status messages are not what the tests sent.
    `if $app-name != "rsyslogd" then action(type="omfile" file="${join(dir, "received.jsonl")}" template="osiris_json")`,
  );
  return lines.join("\n") + "\n";
}

/** Start rsyslogd in the foreground (`-n`) and wait until it accepts connections. */
export async function startRsyslog(options: RsyslogOptions): Promise<RunningRsyslog> {
  const binary = await findRsyslogd();
  const dir = await mkdtemp(join(tmpdir(), "osiris-rsyslog-"));
  const ports = {
    udp: options.ports?.udp ?? (options.udp ? await freeTcpUdpPort() : 0),
    tcp: options.ports?.tcp ?? (options.tls === undefined ? await freeTcpUdpPort() : 0),
    tls: options.ports?.tls ?? (options.tls !== undefined ? await freeTcpUdpPort() : 0),
  };
  const conf = join(dir, "rsyslog.conf");
  await writeFile(conf, config(dir, options, ports));
  const child: ChildProcess = spawn(binary, ["-n", "-f", conf, "-i", join(dir, "rsyslogd.pid")], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let running = true;
  void exited.then(() => (running = false));

  const stop = async () => {
    if (running && child.pid !== undefined) {
      child.kill("SIGTERM");
      const escalate = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(escalate);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const probe = options.tls === undefined ? ports.tcp : ports.tls;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await tcpReachable(probe))) {
    if (!running || Date.now() > deadline) {
      await stop();
      throw new Error(`rsyslogd did not start listening on 127.0.0.1:${probe}: ${output.trim() || "no output"}`);
    }
    await sleep(POLL_MS);
  }

  const received = async (n: number, timeoutMs = 5_000): Promise<ReceivedSyslog[]> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const text = await readFile(join(dir, "received.jsonl"), "utf8").catch(() => "");
      const lines = text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as ReceivedSyslog);
      if (lines.length >= n) return lines;
      if (Date.now() > until) throw new Error(`rsyslog received ${lines.length} of ${n} messages in ${timeoutMs} ms: ${JSON.stringify(lines)} ${output}`);
      await sleep(POLL_MS);
    }
  };
  return { ports, received, stop };
}
