/** Public surface of network discovery: scope, scanner, classifier, the nightly/order job and its config. */
export { ScanScope, parseCidr, hostsOf, hostCount, ipToInt, intToIp, MIN_PREFIX, type Subnet } from "./cidr.ts";
export { DiscoveryError, type DiscoveryErrorCode } from "./errors.ts";
export { Scanner, probeOrder, LIVENESS_ORDER, MAX_PLANNED_PROBES, type ScanRequest, type ScanResult, type ScannerDeps, type ScannerOptions } from "./scanner.ts";
export { classifyDevice, MIN_SCORE, MAX_CONFIDENCE, type Classification, type DeviceFacts } from "./classify.ts";
export { DiscoveryJob, nextNightly, toReport, SCHEDULE_TICK_MS, type DiscoveryJobDeps, type ScanJobOutcome, type ScanJobRequest } from "./job.ts";
export { discoveryConfigSchema, parseDiscoveryConfig, type DiscoveryConfig } from "./options.ts";
export { parseArpTable, readArpTable, DEFAULT_ARP_PATH, type ArpEntry } from "./arp.ts";
export { DEFAULT_OUI_TABLE, ouiTable, vendorFor, type OuiTable, type Vendor, type VendorKind } from "./oui.ts";
export { nodeNameSources, mdnsNameSource, netbiosSource, reverseDnsSource, type NameSources, type NetbiosInfo } from "./names.ts";
export { tcpConnectProbe, type ConnectProbe, type ProbeResult } from "./probe.ts";
export { echoAnswer, pingArgv, systemPing, PING_PATH_PATTERN, type EchoAnswer, type EchoProbe, type EchoResult } from "./icmp.ts";
export { Throttle, realSleep, type Sleep } from "./throttle.ts";
