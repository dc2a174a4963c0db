/**
 * Test fixture (not shipped behaviour): a real S3 server with Object Lock — a single-node Ceph cluster
 * (one monitor, one memstore OSD, one RADOS gateway) from Debian's `ceph-mon ceph-osd radosgw ceph-common`,
 * on loopback, with its state in a temporary directory. Recipe: ../shared/reference/anchors-sync-style.md §4.3
 * (cephx off, so the `ms_*_mode = crc` lines are required; pool size 1).
 *
 *   const rgw = await startRgw();          // ~15 s: boot it once per test file
 *   try { await rgw.createLockedBucket("b", 1); … } finally { await rgw.stop(); }
 *
 * memstore keeps objects in RAM: stopping the OSD wipes the "immutable" test data, which is what tests need.
 * `stopGateway()` / `startGateway()` take only the HTTP gateway down and up (objects survive in the OSD), for
 * outage tests. Every daemon runs in the foreground as a child of this process and is stopped by its pid.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
import { md5 } from "@noble/hashes/legacy.js";
import { toBase64, utf8 } from "../../protocol/encoding.ts";
import { freePort } from "../../node/_test-ports.ts";

/** The Debian packages that provide the binaries below (what `.ci/run` installs). */
export const RGW_PACKAGES = ["ceph-mon", "ceph-osd", "radosgw", "ceph-common"] as const;
const BINARIES = ["monmaptool", "ceph-mon", "ceph-osd", "ceph", "radosgw", "radosgw-admin"] as const;
/** Gateway boot (pool creation) takes ~10 s here; a loaded 2-core CI machine gets three times that. */
const GATEWAY_TIMEOUT_MS = 60_000;
/** One `ceph`/`radosgw-admin` command (each waits for the monitor). */
const COMMAND_TIMEOUT_MS = 60_000;
/** The gateway shuts down in ~2 s on SIGTERM; after this long it is killed. */
const GRACEFUL_STOP_MS = 10_000;
/** memstore's RAM budget for the OSD: test objects are small. */
const MEMSTORE_BYTES = 512 * 1024 * 1024;

export const RGW_REGION = "us-east-1";

export interface Rgw {
  /** `http://127.0.0.1:PORT` (path-style bucket addressing). */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly dir: string;
  /** Milliseconds from the first command to a gateway that answers with the user created. */
  readonly bootMs: number;
  /** A SigV4 client for this gateway (the test's own view of the bucket). */
  readonly client: AwsClient;
  /** Creates a versioned bucket with Object Lock and default retention COMPLIANCE `days`. */
  createLockedBucket(name: string, days: number): Promise<void>;
  /** Stops only the HTTP gateway (objects stay in the OSD); requests then fail with connection refused. */
  stopGateway(): Promise<void>;
  /** Starts the gateway again on the same port and waits until it answers. */
  startGateway(): Promise<void>;
  /** The tail of the gateway's and daemons' logs (for a failing test's message). */
  output(): string;
  /** Stops every daemon and removes the directory. */
  stop(): Promise<void>;
}

/** Why the RGW tests cannot run here (a binary missing from `env.PATH`), or undefined when they can. */
export function rgwMissing(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const b of BINARIES) {
    if (spawnSync("/bin/sh", ["-c", `command -v ${b}`], { stdio: "ignore", env }).status !== 0) {
      return `${b} not found: install Debian's ${RGW_PACKAGES.join(" ")} (apt-get install -y --no-install-recommends)`;
    }
  }
  return undefined;
}

interface Daemon {
  child: ChildProcess;
  exited: Promise<void>;
}

/** Boots mon → OSD → gateway in a fresh temporary directory and creates an S3 user. */
export async function startRgw(): Promise<Rgw> {
  const missing = rgwMissing();
  if (missing) throw new Error(`Cannot start Ceph RGW: ${missing}`);
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), "osiris-rgw-"));
  const conf = join(dir, "ceph.conf");
  const monPort = await freePort();
  const rgwPort = await freePort();
  const fsid = crypto.randomUUID();
  const accessKeyId = `OSIRISTEST${toHexUpper(crypto.getRandomValues(new Uint8Array(5)))}`;
  const secretAccessKey = toBase64(crypto.getRandomValues(new Uint8Array(30))).replace(/[+/=]/g, "x");
  const daemons = new Map<string, Daemon>();
  let output = "";
  const keep = (name: string) => (d: Buffer) => {
    output = (output + `[${name}] ${d.toString()}`).slice(-32 * 1024);
  };
  const onExit = () => {
    for (const d of daemons.values()) d.child.kill("SIGKILL");
  };
  process.once("exit", onExit);

  const daemon = (name: string, cmd: string, args: string[]) => {
    // -f: stay in the foreground (a child we own, killed by pid); logs go to $dir/log.
    const child = spawn(cmd, ["-c", conf, "-f", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", keep(name));
    child.stderr!.on("data", keep(name));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    daemons.set(name, { child, exited });
  };
  const stopDaemon = async (name: string, graceful: boolean) => {
    const d = daemons.get(name);
    if (!d) return;
    daemons.delete(name);
    if (d.child.exitCode === null && d.child.signalCode === null) {
      d.child.kill(graceful ? "SIGTERM" : "SIGKILL");
      const timer = graceful ? setTimeout(() => d.child.kill("SIGKILL"), GRACEFUL_STOP_MS) : undefined;
      await d.exited;
      clearTimeout(timer);
    }
  };
  const stopAll = async () => {
    // SIGKILL: the data is throwaway (memstore), and the OSD takes 5 s to honour SIGTERM.
    for (const name of ["rgw", "osd", "mon"]) await stopDaemon(name, false);
    process.off("exit", onExit);
  };
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  const waitForGateway = async () => {
    const deadline = Date.now() + GATEWAY_TIMEOUT_MS;
    for (;;) {
      const gw = daemons.get("rgw");
      if (!gw || gw.child.exitCode !== null) throw new Error(`radosgw exited before answering on ${endpoint}:\n${output}`);
      try {
        const res = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status < 500) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`radosgw did not answer on ${endpoint} within ${GATEWAY_TIMEOUT_MS} ms:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  try {
    await Promise.all(["run", "log", "mon", "osd0"].map((d) => mkdir(join(dir, d))));
    await writeFile(conf, cephConf(dir, fsid, monPort, rgwPort));
    await command("monmaptool", ["--create", "--add", "a", `v2:127.0.0.1:${monPort}`, "--fsid", fsid, "--enable-all-features", "--clobber", join(dir, "monmap")]);
    await command("ceph-mon", ["-c", conf, "--mkfs", "-i", "a", "--monmap", join(dir, "monmap")]);
    daemon("mon", "ceph-mon", ["-i", "a"]);
    const osdUuid = crypto.randomUUID();
    await command("ceph", ["-c", conf, "--connect-timeout", "30", "osd", "new", osdUuid]);
    await command("ceph-osd", ["-c", conf, "-i", "0", "--mkfs", "--osd-uuid", osdUuid]);
    // osd_crush_update_on_start (the default) files osd.0 under host=<hostname>, root=default by itself.
    daemon("osd", "ceph-osd", ["-i", "0"]);
    daemon("rgw", "radosgw", ["-n", "client.rgw.a"]);
    await waitForGateway();
    // A different -n from the running gateway, or their admin sockets collide.
    await command("radosgw-admin", ["-c", conf, "-n", "client.admin", "user", "create", "--uid=osiris-test", "--display-name=osiris test", `--access-key=${accessKeyId}`, `--secret=${secretAccessKey}`]);
  } catch (e) {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  const client = new AwsClient({ accessKeyId, secretAccessKey, service: "s3", region: RGW_REGION });
  const createLockedBucket = async (name: string, days: number) => {
    const created = await client.fetch(`${endpoint}/${name}`, { method: "PUT", headers: { "x-amz-bucket-object-lock-enabled": "true" } });
    if (created.status !== 200) throw new Error(`create bucket ${name}: ${created.status} ${await created.text()}`);
    await created.arrayBuffer();
    const xml =
      `<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled>` +
      `<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>${days}</Days></DefaultRetention></Rule></ObjectLockConfiguration>`;
    const body = utf8(xml);
    const locked = await client.fetch(`${endpoint}/${name}?object-lock`, { method: "PUT", body: new Uint8Array(body), headers: { "content-md5": toBase64(md5(body)) } });
    if (locked.status !== 200) throw new Error(`object lock configuration of ${name}: ${locked.status} ${await locked.text()}`);
    await locked.arrayBuffer();
  };
  try {
    // The first object written creates the data and index pools (~4 s): do it here, so boot time is honest
    // and the first test is not the slow one.
    await createLockedBucket("osiris-warm-up", 1);
    const warm = await client.fetch(`${endpoint}/osiris-warm-up/warm-up`, { method: "PUT", body: "warm", headers: { "content-md5": toBase64(md5(utf8("warm"))) } });
    if (warm.status !== 200) throw new Error(`warm-up upload: ${warm.status} ${await warm.text()}`);
    await warm.arrayBuffer();
  } catch (e) {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    endpoint,
    region: RGW_REGION,
    accessKeyId,
    secretAccessKey,
    dir,
    bootMs: Date.now() - started,
    client,
    createLockedBucket,
    // SIGTERM: a gateway killed outright stays registered as a watcher of the cluster's control objects, and
    // every later bucket change then waits ~30 s for its notify to time out.
    stopGateway: () => stopDaemon("rgw", true),
    startGateway: async () => {
      if (daemons.has("rgw")) return;
      daemon("rgw", "radosgw", ["-n", "client.rgw.a"]);
      await waitForGateway();
    },
    output: () => output,
    stop: async () => {
      await stopAll();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon_host = v2:127.0.0.1:${monPort}
public_network = 127.0.0.0/8
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
# with auth none the ms_*_mode lines are required, or clients hang ("get_initial_auth_request returned -13")
ms_client_mode = crc
ms_mon_client_mode = crc
ms_service_mode = crc
ms_mon_service_mode = crc
ms_cluster_mode = crc
ms_mon_cluster_mode = crc
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
run_dir = ${dir}/run
log_file = ${dir}/log/$name.log
admin_socket = ${dir}/run/$name.asok
pid_file = ${dir}/run/$name.pid
[mon.a]
mon_data = ${dir}/mon
[osd.0]
osd_data = ${dir}/osd0
osd_objectstore = memstore
memstore_device_bytes = ${MEMSTORE_BYTES}
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:${rgwPort}
`;
}

/** Runs a setup command to completion; a non-zero exit throws with its output. */
function command(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-8192)));
    child.stderr!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-8192)));
    const timer = setTimeout(() => child.kill("SIGKILL"), COMMAND_TIMEOUT_MS);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.slice(0, 4).join(" ")} … failed (${code ?? signal}):\n${out}`));
    });
  });
}

function toHexUpper(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join("");
}
