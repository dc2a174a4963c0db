import { test } from "uvu";
import * as assert from "uvu/assert";
import type { DeviceType } from "../../protocol/catalogue/mod.ts";
import { classifyDevice, MAX_CONFIDENCE, type DeviceFacts } from "./classify.ts";
import { vendorFor } from "./oui.ts";

const facts = (open_ports: number[], more: Partial<DeviceFacts> = {}): DeviceFacts => ({ open_ports, hostname: null, mdns_name: null, netbios_name: null, vendor: null, ...more });

/**
 * Profiles of real device kinds (ports as a default install exposes them) and what they must be classified
 * as. Confidence = winning score − half the runner-up's; the arithmetic is written out for a few.
 */
const CASES: readonly (readonly [string, DeviceFacts, DeviceType, number?])[] = [
  // DC: 88 (40) + 389 (25) → 65; runner-up file server 445 (15) → 65 − 7.5 = 57.5, rounded 58.
  ["Windows domain controller (88, 389, 445)", facts([88, 389, 445]), "domain_controller", 58],
  ["full DC port set", facts([53, 88, 135, 139, 389, 445, 464, 636, 3268, 3269, 3389, 9389]), "domain_controller"],
  ["file server by NFS", facts([111, 2049]), "file_server"],
  ["Synology NAS (SMB + DSM + vendor)", facts([139, 445, 5000, 5001], { vendor: vendorFor("00:11:32:01:02:03") }), "file_server"],
  ["Windows file server by name", facts([135, 139, 445], { netbios_name: "FS01" }), "file_server"],
  // SQL: 1433 (55); runner-up workstation 135+445 (20) → 55 − 10 = 45.
  ["Microsoft SQL Server", facts([135, 445, 1433]), "sql_server", 45],
  ["practice-management database (SQL Anywhere)", facts([2638]), "sql_server"],
  ["Veeam backup server", facts([135, 445, 6160, 6162, 9392]), "backup_server"],
  ["backup server by name only", facts([22, 873], { hostname: "backup01.clinic.lan" }), "backup_server"],
  ["mail server", facts([25, 110, 143, 443, 587, 993, 995]), "mail_server"],
  // Printer: 9100 (55) + 631 (35) + 515 (35) = 125; web 80 (12) → 125 − 6 = 119 → capped at 95.
  ["network printer (9100, 631, 515, 80)", facts([80, 515, 631, 9100]), "printer", MAX_CONFIDENCE],
  ["Brother printer by vendor and mDNS name", facts([80, 443], { vendor: vendorFor("00:1b:a9:00:00:01"), mdns_name: "BRW001BA9000001.local" }), "printer"],
  ["IP camera (RTSP + web)", facts([80, 554]), "web_device"],
  ["UPS network card (web + APC vendor)", facts([80, 443], { vendor: vendorFor("00:c0:b7:00:00:01") }), "web_device"],
  ["Windows workstation", facts([135, 139, 445, 3389, 5357]), "workstation"],
  ["Mac with screen sharing", facts([22, 3283, 5900], { mdns_name: "Front-Desk-iMac.local" }), "workstation"],
  ["managed switch (telnet, ssh, web, Cisco)", facts([22, 23, 80, 443], { vendor: vendorFor("00:00:0c:01:02:03") }), "network_gear"],
  ["MikroTik router", facts([22, 8291, 8728]), "network_gear"],
  // DICOM 104 (70) alone → 70 − 0 = 70.
  ["DICOM modality on 104", facts([104]), "medical_imaging", 70],
  ["PACS on a Windows server (DICOM 11112 beats SMB/RDP)", facts([135, 139, 445, 3389, 11112]), "medical_imaging"],
  ["HL7 interface engine", facts([2575, 443]), "medical_imaging"],
  ["Orthanc PACS", facts([4242, 8042]), "medical_imaging"],
  ["nothing open and no names", facts([]), "unknown", 0],
  ["a single unusual port", facts([6379 + 1]), "unknown", 0],
];

for (const [name, f, type, confidence] of CASES) {
  test(`${name} → ${type}`, () => {
    const c = classifyDevice(f);
    assert.is(c.device_type, type, JSON.stringify(c));
    if (confidence !== undefined) assert.is(c.confidence, confidence);
    assert.ok(c.confidence >= 0 && c.confidence <= MAX_CONFIDENCE);
    assert.ok(c.evidence.length > 0 && c.evidence.length <= 12);
  });
}

test("the evidence names the ports and names that decided it", () => {
  const c = classifyDevice(facts([88, 389, 445], { netbios_name: "DC01" }));
  assert.ok(c.evidence.includes("port 88/tcp open (kerberos)"), c.evidence.join("; "));
  assert.ok(c.evidence.includes("port 389/tcp open (ldap)"));
  assert.ok(c.evidence.includes("NetBIOS name DC01 matches domain-controller naming"));
  assert.not.ok(c.evidence.some((e) => e.includes("445")), "SMB is not domain-controller evidence");
});

test("a device that looks like two things is less certain than one that looks like one", () => {
  const clear = classifyDevice(facts([1433]));
  const mixed = classifyDevice(facts([1433, 9392]));
  assert.is(clear.device_type, "sql_server");
  assert.ok(mixed.confidence < clear.confidence, `${mixed.confidence} vs ${clear.confidence}`);
});

test("NetBIOS domain-controller names count as evidence", () => {
  const c = classifyDevice(facts([445], { netbios_dc: true }));
  assert.is(c.device_type, "domain_controller");
  assert.ok(c.evidence.includes("NetBIOS registers domain controller names"));
});

test.run();
