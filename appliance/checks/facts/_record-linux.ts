/**
 * Tool (not a test): records `fixtures/facts/linux-debian-raw.txt`, the raw output of the Linux fact script on
 * this Debian machine, gathered through the real ssh transport from a throwaway OpenSSH server on loopback
 * (appliance/collect/_test-sshd.ts). A self-signed certificate valid for 365 days is made in a temporary
 * directory and given as the host's certificate path, so the certificate probe reads a real file.
 *
 *   node --import tsx appliance/checks/facts/_record-linux.ts
 *
 * The test sshd runs in a private mount namespace where /etc/passwd and /etc/shadow are the harness's small
 * stand-ins and /run is a fresh tmpfs; the recording reflects that (see fixtures/facts/README.md).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryPinStore } from "../../collect/pins.ts";
import { createSshTransport } from "../../collect/ssh.ts";
import { startSshd } from "../../collect/_test-sshd.ts";
import { linuxScript } from "./linux.ts";

/** The script runs in about a second; allow for a loaded machine. */
const RECORD_TIMEOUT_MS = 60_000;

const out = new URL("../../../fixtures/facts/linux-debian-raw.txt", import.meta.url);
const dir = mkdtempSync(join(tmpdir(), "osiris-cert-"));
const sshd = await startSshd("none");
const transport = createSshTransport({ host: "127.0.0.1", port: sshd.port, username: "root", auth: { kind: "key", privateKey: sshd.userKey }, pins: memoryPinStore() });
try {
  const cert = join(dir, "server.crt");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "server.key"), "-out", cert, "-days", "365", "-subj", "/CN=osiris-fixture"], { stdio: "ignore" });
  const r = await transport.run({ script: linuxScript({ certPaths: [cert, "/etc/letsencrypt/live/*/cert.pem"] }), shell: "sh" }, { timeoutMs: RECORD_TIMEOUT_MS });
  if (r.exitCode !== 0) throw new Error(`script exited ${r.exitCode}: ${r.stderr}`);
  writeFileSync(out, r.stdout);
  console.log(`wrote ${out.pathname} (${r.stdout.length} characters in ${r.durationMs} ms)`);
} finally {
  await transport.close();
  await sshd.stop();
  rmSync(dir, { recursive: true, force: true });
}
