/**
 * RFC 5424 syslog message formatter for reseller SIEMs. Pure: the caller supplies the time and host name, and
 * gets back the exact text to send (transports are in `syslog-net.ts`, queueing in `syslog-sender.ts`).
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [osiris@32473 site="..." ...] BOM MSG
 *
 * Header fields are PRINTUSASCII (RFC 5424 §6.2); characters outside it are replaced by `_` so a hostile or
 * odd host name can never break the frame. Structured-data values escape `"`, `\` and `]` (§6.3.3). The
 * message is UTF-8 with a BOM (§6.4) and is truncated, on a character boundary, so the whole message fits the
 * transport's size limit; the header and structured data are never truncated.
 */

/** Facility codes (RFC 5424 §6.2.1, table 1). */
export const FACILITIES = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10,
  ftp: 11, ntp: 12, audit: 13, alert: 14, clock: 15, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20,
  local5: 21, local6: 22, local7: 23,
} as const;
export type Facility = keyof typeof FACILITIES;

/** Severity codes (RFC 5424 §6.2.1, table 2). */
export const SEVERITIES = {
  emergency: 0, alert: 1, critical: 2, error: 3, warning: 4, notice: 5, info: 6, debug: 7,
} as const;
export type Severity = keyof typeof SEVERITIES;

/**
 * SD-ID of our parameters. 32473 is the Private Enterprise Number RFC 5612 reserves for documentation; it is
 * what the reseller integration guide names, and changes only with a registered PEN.
 */
export const OSIRIS_SD_ID = "osiris@32473";
export const OSIRIS_APP_NAME = "osiris";

/** rsyslog's default `maxMessageSize`; the usual ceiling of TCP/TLS receivers. */
export const STREAM_MAX_MESSAGE_BYTES = 8192;
/** RFC 5426 §3.2: UDP receivers SHOULD accept 2048 octets; more risks fragmentation and silent loss. */
export const UDP_MAX_MESSAGE_BYTES = 2048;
/** RFC 5424 §6.1: receivers MUST accept 480 octets, so no limit below that makes sense. */
export const MIN_MESSAGE_BYTES = 480;

/** Field lengths from the RFC 5424 ABNF (§6). */
const MAX_HOSTNAME = 255;
const MAX_APP_NAME = 48;
const MAX_PROCID = 128;
const MAX_MSGID = 32;
const SD_NAME = /^[!#-<>-\\^-~]{1,32}$/; // PRINTUSASCII except '=', SP, ']', '"'
const BOM = "\uFEFF";

export type SdValue = string | number | boolean | null | undefined;

export interface SyslogMessage {
  facility: Facility;
  severity: Severity;
  /** When the event happened; sent as RFC 3339 UTC with milliseconds. */
  time: Date | number;
  hostname: string;
  appName?: string;
  procId?: string | number;
  msgId?: string;
  /** Parameters of the `osiris@32473` element, in this order; null/undefined ones are left out. */
  data?: Readonly<Record<string, SdValue>>;
  message: string;
}

export interface FormatOptions {
  /** Byte limit of the whole message (default `STREAM_MAX_MESSAGE_BYTES`). */
  maxBytes?: number;
}

function headerField(value: string | number | undefined, max: number): string {
  const s = value === undefined ? "" : String(value);
  if (s === "") return "-";
  return s.slice(0, max).replace(/[^!-~]/g, "_");
}

/** Escape a PARAM-VALUE (RFC 5424 §6.3.3): backslash first, so the other escapes are not doubled. */
export function escapeSdValue(value: string): string {
  return value.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

function structuredData(data: Readonly<Record<string, SdValue>> | undefined): string {
  let out = `[${OSIRIS_SD_ID}`;
  for (const [name, value] of Object.entries(data ?? {})) {
    if (!SD_NAME.test(name)) {
      throw new TypeError(`Cannot format syslog structured data as parameter name ${JSON.stringify(name)} is not 1-32 printable ASCII characters without '=', ' ', ']' or '"'`);
    }
    if (value === null || value === undefined) continue;
    out += ` ${name}="${escapeSdValue(String(value))}"`;
  }
  return `${out}]`;
}

/** Cut a UTF-8 encoding to at most `max` bytes without splitting a character. */
function truncateUtf8(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--; // step back off continuation bytes
  return bytes.subarray(0, end);
}

/** Format one RFC 5424 message. Throws RangeError on an invalid time or a limit too small for the header. */
export function formatSyslog(msg: SyslogMessage, options: FormatOptions = {}): string {
  const maxBytes = options.maxBytes ?? STREAM_MAX_MESSAGE_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < MIN_MESSAGE_BYTES) {
    throw new RangeError(`Cannot format syslog message as 'maxBytes' must be an integer >= ${MIN_MESSAGE_BYTES}: current value is ${maxBytes}`);
  }
  const time = new Date(msg.time);
  if (Number.isNaN(time.getTime())) throw new RangeError(`Cannot format syslog message as its time is invalid: ${String(msg.time)}`);
  const pri = FACILITIES[msg.facility] * 8 + SEVERITIES[msg.severity];
  const head =
    `<${pri}>1 ${time.toISOString()} ${headerField(msg.hostname, MAX_HOSTNAME)} ` +
    `${headerField(msg.appName ?? OSIRIS_APP_NAME, MAX_APP_NAME)} ${headerField(msg.procId, MAX_PROCID)} ` +
    `${headerField(msg.msgId, MAX_MSGID)} ${structuredData(msg.data)}`;
  const encoder = new TextEncoder();
  const headBytes = encoder.encode(head).length;
  if (msg.message === "") {
    if (headBytes > maxBytes) throw new RangeError(`Cannot format syslog message as its header and structured data take ${headBytes} bytes: the limit is ${maxBytes}`);
    return head;
  }
  const prefix = ` ${BOM}`;
  const room = maxBytes - headBytes - encoder.encode(prefix).length;
  if (room < 0) throw new RangeError(`Cannot format syslog message as its header and structured data take ${headBytes} bytes: the limit is ${maxBytes}`);
  const body = new TextDecoder().decode(truncateUtf8(encoder.encode(msg.message), room));
  return head + prefix + body;
}
