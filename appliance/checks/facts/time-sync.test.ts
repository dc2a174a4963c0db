/**
 * `time.synchronized` from chrony, systemd-timesyncd or the kernel flag.
 *
 * FIXTURES: systemd does not run as PID 1 on the machine these tests were written on, so `timedatectl
 * show-timesync --all` could not print real answers here. The timesyncd outputs below are written BY HAND from
 * the documented format — systemd's src/timedate/timedatectl.c (`print_timesync_property`: `NTPMessage={ Leap=%u,
 * Version=%u, Mode=%u, Stratum=%u, Precision=%i, RootDelay=…, RootDispersion=…, Reference=…,
 * OriginateTimestamp=…, ReceiveTimestamp=…, TransmitTimestamp=…, DestinationTimestamp=…, Ignored=yes|no,
 * PacketCount=%lu, Jitter=… }`, omitted while PacketCount is 0) and the property list of
 * org.freedesktop.timesync1.Manager. What IS real: the error timedatectl and systemctl print on a machine
 * without systemd (captured here, systemd 252), and the last test runs the appliance script for real.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { createLocalTransport } from "../../collect/local.ts";
import type { TargetRef } from "../../engine/types.ts";
import { createApplianceGatherer, parseApplianceDoc, type ApplianceContext } from "./appliance.ts";
import { chronySynchronized, parseShowTimesync, timeSynchronized, timesyncdSynchronized } from "./time-sync.ts";

/** Hand-written from the documented format (see the header). A NixOS appliance synchronized to the pool. */
const SYNCED = `LinkNTPServers=
SystemNTPServers=0.nixos.pool.ntp.org 1.nixos.pool.ntp.org 2.nixos.pool.ntp.org 3.nixos.pool.ntp.org
RuntimeNTPServers=
FallbackNTPServers=
ServerName=0.nixos.pool.ntp.org
ServerAddress=162.159.200.123
RootDistanceMaxUSec=5s
PollIntervalMinUSec=32s
PollIntervalMaxUSec=34min 8s
PollIntervalUSec=2min 8s
NTPMessage={ Leap=0, Version=4, Mode=4, Stratum=3, Precision=-25, RootDelay=10.131ms, RootDispersion=518us, Reference=A29FC87B, OriginateTimestamp=Sat 2026-11-28 10:00:00 UTC, ReceiveTimestamp=Sat 2026-11-28 10:00:00 UTC, TransmitTimestamp=Sat 2026-11-28 10:00:00 UTC, DestinationTimestamp=Sat 2026-11-28 10:00:00 UTC, Ignored=no, PacketCount=12, Jitter=1.174ms }
Frequency=-1234567
`;
/** Hand-written: timesyncd started, no server answered yet (egress to NTP blocked): no NTPMessage line. */
const NO_ANSWER = `LinkNTPServers=
SystemNTPServers=0.nixos.pool.ntp.org 1.nixos.pool.ntp.org
RuntimeNTPServers=
FallbackNTPServers=
ServerName=0.nixos.pool.ntp.org
ServerAddress=
RootDistanceMaxUSec=5s
PollIntervalMinUSec=32s
PollIntervalMaxUSec=34min 8s
PollIntervalUSec=32s
Frequency=0
`;
/** Hand-written: the server answers but says it is not synchronized itself (leap 3, stratum 16). */
const UNSYNCED_SERVER = SYNCED.replace("Leap=0", "Leap=3").replace("Stratum=3", "Stratum=16");
/** Hand-written: a stratum-1 server prints its reference as text (`Reference=GPS`). */
const STRATUM1 = SYNCED.replace("Stratum=3", "Stratum=1").replace("Reference=A29FC87B", "Reference=GPS");
/** Real, captured on this machine (systemd 252 installed, not PID 1): what timedatectl prints, exit 1. */
const NO_SYSTEMD = "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down";
/** chrony -c tracking (format from chronyc(1); the fixtures under fixtures/facts use the same). */
const CHRONY_OK = "C0A80101,192.168.1.1,3,1795791540.118310720,0.000012904,0.000004217,0.000021350,-9.412,0.002,0.031,0.011427432,0.000522916,1030.1,Normal";
const CHRONY_LOCAL = "7F7F0101,127.127.1.1,10,1795791540.118310720,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,0.000000000,0.000000000,64.0,Not synchronised";

const none = () => "did not run";

test("parseShowTimesync reads the server and the last NTP answer", () => {
  assert.equal(parseShowTimesync(SYNCED), { serverName: "0.nixos.pool.ntp.org", serverAddress: "162.159.200.123", message: { leap: 0, stratum: 3, packetCount: 12, ignored: false } });
  assert.equal(parseShowTimesync(NO_ANSWER)?.message, null);
  assert.equal(parseShowTimesync(STRATUM1)?.message, { leap: 0, stratum: 1, packetCount: 12, ignored: false });
  assert.is(parseShowTimesync(NO_SYSTEMD), undefined, "an error message is not a timesyncd answer");
  assert.is(parseShowTimesync(""), undefined);
});

test("timesyncd: synchronized only with an answer, leap not 3, stratum 1..15 and the kernel flag not 'no'", () => {
  const s = (text: string, td?: "yes" | "no") => timesyncdSynchronized(parseShowTimesync(text)!, td);
  assert.equal(s(SYNCED, "yes"), { synchronized: true, why: "synchronized to 0.nixos.pool.ntp.org (162.159.200.123), stratum 3" });
  assert.is(s(SYNCED).synchronized, true);
  assert.is(s(STRATUM1, "yes").synchronized, true);
  assert.equal(s(NO_ANSWER, "no"), { synchronized: false, why: "timesyncd has no answer from 0.nixos.pool.ntp.org yet" });
  assert.match(s(UNSYNCED_SERVER, "yes").why, /not synchronized \(leap indicator 3\)/);
  assert.match(s(SYNCED, "no").why, /kernel clock is not marked synchronized yet/);
});

test("chrony stays an alternative: Normal leap status with a real reference", () => {
  assert.is(chronySynchronized(CHRONY_OK), true);
  assert.is(chronySynchronized(CHRONY_LOCAL), false);
  assert.is(chronySynchronized("506 Cannot talk to daemon"), undefined);
});

test("timeSynchronized prefers chrony, then timesyncd, then the kernel flag, and says why when none answered", () => {
  assert.equal(timeSynchronized({ chrony: CHRONY_OK, timesync: NO_ANSWER, ntpSynchronized: "no", describe: none }), { value: true });
  assert.equal(timeSynchronized({ chrony: undefined, timesync: SYNCED, ntpSynchronized: "yes", describe: none }), { value: true });
  assert.equal(timeSynchronized({ chrony: undefined, timesync: NO_ANSWER, ntpSynchronized: "yes", describe: none }), { value: false });
  assert.equal(timeSynchronized({ chrony: undefined, timesync: undefined, ntpSynchronized: "yes", describe: none }), { value: true });
  const missing = timeSynchronized({ chrony: undefined, timesync: undefined, ntpSynchronized: undefined, describe: (k) => `${k} exited 1: ${NO_SYSTEMD.split("\n")[0]}` });
  assert.ok("missing" in missing);
  assert.match("missing" in missing ? missing.missing : "", /^no time service answered: chrony exited 1: .*; timesync exited 1: .*; timedatectl exited 1: System has not been booted with systemd/);
});

const unpinned: ApplianceContext = { pinnedSystem: null, expectedAvSha256: null, firewallBaselineSha256: null, firewallBaselineSignatureValid: false };
const probe = (out: string, rc = 0) => ({ rc, size: out.length, out });

test("the appliance parser takes time.synchronized from timesyncd when chrony is absent (as on the NixOS module)", () => {
  const doc = { schema: "osiris.appliance-raw/v1", now: probe("1795780800"), systemd: probe(""), timesync: probe(SYNCED), timedatectl: probe("yes") };
  const g = parseApplianceDoc(doc, "appliance", { now: Date.parse("2026-11-28T10:00:00.000Z"), context: unpinned, backupConfigured: false });
  assert.is((g.facts["time"] as Record<string, unknown>)["synchronized"], true);
  const noAnswer = { ...doc, timesync: probe(NO_ANSWER), timedatectl: probe("no") };
  const g2 = parseApplianceDoc(noAnswer, "appliance", { now: Date.parse("2026-11-28T10:00:00.000Z"), context: unpinned, backupConfigured: false });
  assert.is((g2.facts["time"] as Record<string, unknown>)["synchronized"], false);
});

test("run for real here (no systemd): the script asks timesyncd, and the fact is unavailable with timedatectl's own error", async () => {
  if (existsSync("/run/systemd/system")) return; // with systemd running the answer depends on the machine's time service
  const local = createLocalTransport();
  try {
    const gather = createApplianceGatherer(local, { clock: { now: () => Date.now() }, context: () => unpinned, canary: false });
    const g = await gather({ id: "appliance", name: "appliance", platform: "appliance", collector: "local", simulated: false } satisfies TargetRef, { timeoutMs: 60_000 });
    const reason = g.unavailable["time.synchronized"] ?? "";
    assert.match(reason, /^no time service answered: /);
    if (existsSync("/usr/bin/timedatectl")) assert.match(reason, /timesync exited 1: System has not been booted with systemd as init system/);
  } finally {
    await local.close();
  }
});

test.run();
