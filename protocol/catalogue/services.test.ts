import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEVICE_TYPE_TITLES, DEVICE_TYPES, findService, listServices, loadServices, probePorts, serviceForPort, type ScanDepth, type ServiceCategory } from "./services.ts";

/**
 * The specification of every shipped mapping: port, service id, category, scan depth. Ports follow the IANA
 * registry or the vendor's documented default (Veeam 6160/6162/9392, Orthanc 4242/8042, Synology 5000/5001,
 * MikroTik 8291/8728, Dahua 37777). A change to the data must change this table too.
 */
const EXPECTED: readonly (readonly [number, string, ServiceCategory, ScanDepth])[] = [
  [21, "ftp", "file_sharing", "quick"],
  [22, "ssh", "remote_access", "quick"],
  [23, "telnet", "remote_access", "quick"],
  [25, "smtp", "mail", "quick"],
  [49, "tacacs", "network", "full"],
  [53, "dns", "name_service", "quick"],
  [80, "http", "web", "quick"],
  [88, "kerberos", "directory", "quick"],
  [104, "dicom", "medical", "quick"],
  [110, "pop3", "mail", "full"],
  [111, "rpcbind", "file_sharing", "full"],
  [135, "msrpc", "windows", "quick"],
  [139, "netbios_ssn", "file_sharing", "quick"],
  [143, "imap", "mail", "full"],
  [179, "bgp", "network", "full"],
  [389, "ldap", "directory", "quick"],
  [443, "https", "web", "quick"],
  [445, "smb", "file_sharing", "quick"],
  [464, "kpasswd", "directory", "full"],
  [465, "smtps", "mail", "full"],
  [502, "modbus", "iot", "full"],
  [515, "lpd", "print", "quick"],
  [548, "afp", "file_sharing", "full"],
  [554, "rtsp", "camera", "quick"],
  [587, "submission", "mail", "full"],
  [593, "rpc_over_http", "windows", "full"],
  [631, "ipp", "print", "quick"],
  [636, "ldaps", "directory", "quick"],
  [830, "netconf", "network", "full"],
  [853, "dns_over_tls", "name_service", "full"],
  [873, "rsync", "backup", "full"],
  [902, "vmware_auth", "virtualization", "full"],
  [993, "imaps", "mail", "full"],
  [995, "pop3s", "mail", "full"],
  [1080, "socks", "network", "full"],
  [1194, "openvpn", "network", "full"],
  [1433, "mssql", "database", "quick"],
  [1521, "oracle", "database", "quick"],
  [1720, "h323", "voip", "full"],
  [1723, "pptp", "network", "full"],
  [1883, "mqtt", "iot", "full"],
  [2000, "cisco_sccp", "voip", "full"],
  [2049, "nfs", "file_sharing", "quick"],
  [2179, "hyperv_vmconnect", "virtualization", "full"],
  [2575, "hl7", "medical", "quick"],
  [2638, "sql_anywhere", "database", "full"],
  [2762, "dicom_tls", "medical", "quick"],
  [3050, "firebird", "database", "full"],
  [3128, "http_proxy", "network", "full"],
  [3260, "iscsi", "storage", "full"],
  [3268, "ldap_gc", "directory", "quick"],
  [3269, "ldap_gc_tls", "directory", "full"],
  [3283, "apple_remote_desktop", "remote_access", "full"],
  [3306, "mysql", "database", "quick"],
  [3389, "rdp", "remote_access", "quick"],
  [4242, "orthanc_dicom", "medical", "full"],
  [4786, "cisco_smart_install", "network", "full"],
  [5000, "nas_admin", "storage", "full"],
  [5001, "nas_admin_tls", "storage", "full"],
  [5060, "sip", "voip", "full"],
  [5061, "sips", "voip", "full"],
  [5222, "xmpp", "messaging", "full"],
  [5357, "wsd", "windows", "quick"],
  [5432, "postgresql", "database", "quick"],
  [5480, "vmware_vami", "virtualization", "full"],
  [5666, "nrpe", "monitoring", "full"],
  [5722, "dfsr", "directory", "full"],
  [5800, "vnc_http", "remote_access", "full"],
  [5900, "vnc", "remote_access", "quick"],
  [5985, "winrm", "windows", "quick"],
  [5986, "winrm_tls", "windows", "quick"],
  [5988, "wbem", "monitoring", "full"],
  [5989, "wbem_tls", "monitoring", "full"],
  [6160, "veeam_installer", "backup", "full"],
  [6162, "veeam_data_mover", "backup", "full"],
  [6379, "redis", "database", "full"],
  [6566, "sane", "print", "full"],
  [7547, "cwmp", "network", "full"],
  [8000, "http_alt", "web", "full"],
  [8006, "proxmox", "virtualization", "full"],
  [8042, "orthanc_http", "medical", "full"],
  [8080, "http_8080", "web", "quick"],
  [8291, "mikrotik_winbox", "network", "full"],
  [8443, "https_alt", "web", "quick"],
  [8554, "rtsp_alt", "camera", "full"],
  [8728, "mikrotik_api", "network", "full"],
  [8883, "mqtt_tls", "iot", "full"],
  [9100, "jetdirect", "print", "quick"],
  [9200, "elasticsearch", "database", "full"],
  [9389, "adws", "directory", "full"],
  [9392, "veeam_console", "backup", "quick"],
  [10000, "ndmp", "backup", "full"],
  [10050, "zabbix_agent", "monitoring", "full"],
  [10051, "zabbix_server", "monitoring", "full"],
  [11112, "dicom_alt", "medical", "quick"],
  [27017, "mongodb", "database", "full"],
  [37777, "dahua_dvr", "camera", "full"],];

for (const [port, service, category, depth] of EXPECTED) {
  test(`port ${port}/tcp maps to ${service} (${category}, ${depth} scan)`, () => {
    const s = serviceForPort(port);
    assert.ok(s, `port ${port} has no mapping`);
    assert.is(s.service, service);
    assert.is(s.category, category);
    assert.is(s.depth, depth);
    assert.is(findService(service)?.port, port);
    assert.ok(s.title.length > 0);
  });
}

test("the catalogue holds at least 70 mappings and exactly the specified ones", () => {
  assert.ok(listServices().length >= 70, `only ${listServices().length} mappings`);
  assert.equal(listServices().map((s) => s.port), EXPECTED.map((e) => e[0]));
});

test("the medical ports the classifier relies on are quick-scan ports: DICOM 104, 11112, 2762 and HL7 2575", () => {
  const quick = probePorts("quick");
  for (const p of [104, 11112, 2762, 2575]) assert.ok(quick.includes(p), `port ${p} missing from the quick scan`);
  assert.is(serviceForPort(104)?.category, "medical");
  assert.is(serviceForPort(2575)?.service, "hl7");
});

test("a full scan probes every mapped port, a quick scan a strict subset, both ascending", () => {
  const quick = probePorts("quick");
  const full = probePorts("full");
  assert.is(full.length, listServices().length);
  assert.ok(quick.length < full.length && quick.length >= 20);
  assert.ok(quick.every((p) => full.includes(p)));
  assert.equal([...full].sort((a, b) => a - b), full);
});

test("an unmapped port has no service", () => {
  assert.is(serviceForPort(4), undefined);
  assert.is(findService("gopher"), undefined);
});

test("loadServices refuses a duplicate port, naming both services", () => {
  assert.throws(
    () => loadServices([{ port: 445, service: "smb", title: "SMB", category: "file_sharing", depth: "quick" }, { port: 445, service: "smb2", title: "SMB 2", category: "file_sharing", depth: "quick" }]),
    (e: unknown) => e instanceof TypeError && /services\[1\]\.port: 445 is already mapped to smb/.test(e.message),
  );
});

test("loadServices refuses an unknown category and a port out of range, saying where and what was seen", () => {
  assert.throws(
    () => loadServices([{ port: 1, service: "x1", title: "X", category: "toys", depth: "quick" }]),
    (e: unknown) => e instanceof TypeError && e.message.startsWith("services[0].category:") && e.message.includes("toys"),
  );
  assert.throws(() => loadServices([{ port: 70000, service: "x1", title: "X", category: "web", depth: "quick" }]), (e: unknown) => e instanceof TypeError && e.message.startsWith("services[0].port:"));
  assert.throws(() => loadServices([{ port: 80, service: "x1", title: "X", category: "web", depth: "quick", extra: 1 }]), (e: unknown) => e instanceof TypeError);
});

test("every device type has a plain-language title, and unknown is one of them", () => {
  assert.ok(DEVICE_TYPES.includes("unknown"));
  assert.ok(DEVICE_TYPES.includes("medical_imaging"));
  for (const t of DEVICE_TYPES) assert.ok(DEVICE_TYPE_TITLES[t].length > 0, t);
});

test.run();
