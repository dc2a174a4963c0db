/**
 * RFC 5424 syslog, client side: message formatting (syslog.ts), UDP/TCP/TLS connections with certificate
 * pinning (syslog-net.ts) and a bounded, retrying sender (syslog-sender.ts). Node-only and shared: the
 * appliance's reseller outputs and the relay's notification channels both send through it.
 */
export {
  escapeSdValue,
  formatSyslog,
  FACILITIES,
  MIN_MESSAGE_BYTES,
  OSIRIS_APP_NAME,
  OSIRIS_SD_ID,
  SEVERITIES,
  STREAM_MAX_MESSAGE_BYTES,
  UDP_MAX_MESSAGE_BYTES,
  type Facility,
  type FormatOptions,
  type SdValue,
  type Severity,
  type SyslogMessage,
} from "./syslog.ts";
export { SyslogSender, SYSLOG_SENDER_DEFAULTS, type SyslogConnect, type SyslogConnection, type SyslogLog, type SyslogSenderOptions, type SyslogSenderStats } from "./syslog-sender.ts";
export { normalizeFingerprint, syslogConnector, type SyslogEndpoint, type SyslogTlsOptions, type SyslogTransport } from "./syslog-net.ts";
