/**
 * WS-Management messages for the Windows Remote Shell (MS-WSMV §3.1.4.1.x), pure: build request envelopes,
 * parse responses. No I/O, so every shape is testable against recorded exchanges.
 *
 * A command runs as: Create (a cmd shell) → Command (returns a CommandId) → Receive, repeated until
 * CommandState is Done (each answer carries base64 chunks of stdout/stderr; a Receive with no output before
 * OperationTimeout ends in a `w:TimedOut` fault, which only means "ask again") → Signal terminate → Delete.
 *
 * Responses are parsed with fast-xml-parser after validation; a DOCTYPE is refused outright (WinRM never
 * sends one, and it is the door to entity tricks). Element names are matched without their namespace prefix:
 * Windows uses fixed prefixes, but a prefix is not a contract.
 */

import { XMLParser, XMLValidator } from "fast-xml-parser";
import { CollectError } from "./errors.ts";

export const NS = {
  soap: "http://www.w3.org/2003/05/soap-envelope",
  addressing: "http://schemas.xmlsoap.org/ws/2004/08/addressing",
  wsman: "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
  wsmv: "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
  shell: "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
} as const;

export const ACTION = {
  create: "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
  delete: "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
  command: `${NS.shell}/Command`,
  receive: `${NS.shell}/Receive`,
  signal: `${NS.shell}/Signal`,
  fault: "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault",
} as const;

export const RESOURCE_URI_CMD = `${NS.shell}/cmd`;
const ANONYMOUS = `${NS.addressing}/role/anonymous`;
const COMMAND_STATE_DONE = `${NS.shell}/CommandState/Done`;
export const SIGNAL_TERMINATE = `${NS.shell}/signal/terminate`;
/** WSManFault code of "no output within OperationTimeout" (0x80338029). */
export const WSMAN_OPERATION_TIMEOUT = "2150858793";
/** Windows' default MaxEnvelopeSize (150 KiB); the server fits every answer under what we announce. */
export const MAX_ENVELOPE_SIZE = 153_600;
/** Fault texts come from the host; an operator needs a sentence, not pages. */
export const MAX_FAULT_TEXT_CHARS = 500;

export interface RequestHeader {
  /** The endpoint URL, e.g. `https://host:5986/wsman`. */
  readonly to: string;
  readonly action: string;
  /** `uuid:` + upper-case UUID, as Windows clients send it. */
  readonly messageId: string;
  readonly operationTimeoutS: number;
  readonly shellId?: string;
  readonly options?: Readonly<Record<string, string>>;
}

/** XML 1.0 text/attribute escaping; input has already been checked free of NUL. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => XML_ENTITIES[c] ?? c);
}
const XML_ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

export function envelope(h: RequestHeader, body: string): string {
  const options = h.options
    ? `<wsman:OptionSet s:mustUnderstand="true">${Object.entries(h.options)
      .map(([k, v]) => `<wsman:Option Name="${xmlEscape(k)}">${xmlEscape(v)}</wsman:Option>`)
      .join("")}</wsman:OptionSet>`
    : "";
  const selectors = h.shellId === undefined
    ? ""
    : `<wsman:SelectorSet><wsman:Selector Name="ShellId">${xmlEscape(h.shellId)}</wsman:Selector></wsman:SelectorSet>`;
  return `<s:Envelope xmlns:s="${NS.soap}" xmlns:wsa="${NS.addressing}" xmlns:wsman="${NS.wsman}" xmlns:wsmv="${NS.wsmv}" xmlns:rsp="${NS.shell}">` +
    `<s:Header><wsa:Action s:mustUnderstand="true">${h.action}</wsa:Action>` +
    `<wsmv:DataLocale s:mustUnderstand="false" xml:lang="en-US"/><wsman:Locale s:mustUnderstand="false" xml:lang="en-US"/>` +
    `<wsman:MaxEnvelopeSize s:mustUnderstand="true">${MAX_ENVELOPE_SIZE}</wsman:MaxEnvelopeSize>` +
    `<wsa:MessageID>${xmlEscape(h.messageId)}</wsa:MessageID>` +
    `<wsman:OperationTimeout>PT${h.operationTimeoutS}S</wsman:OperationTimeout>` +
    `<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">${ANONYMOUS}</wsa:Address></wsa:ReplyTo>` +
    `<wsman:ResourceURI s:mustUnderstand="true">${RESOURCE_URI_CMD}</wsman:ResourceURI>` +
    `<wsa:To>${xmlEscape(h.to)}</wsa:To>${options}${selectors}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

/** Create a cmd shell; UTF-8 code page so output decodes the same on every Windows language. */
export function createShellBody(): string {
  return "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>";
}
export const CREATE_SHELL_OPTIONS = { WINRS_NOPROFILE: "TRUE", WINRS_CODEPAGE: "65001" } as const;

/** Run `command` with `args` as separate Arguments elements (Windows joins them with spaces). */
export function commandBody(command: string, args: readonly string[]): string {
  return `<rsp:CommandLine><rsp:Command>${xmlEscape(command)}</rsp:Command>${args
    .map((a) => `<rsp:Arguments>${xmlEscape(a)}</rsp:Arguments>`)
    .join("")}</rsp:CommandLine>`;
}
/** No cmd.exe in between: the command line reaches CreateProcess as sent. */
export const COMMAND_OPTIONS = { WINRS_CONSOLEMODE_STDIN: "TRUE", WINRS_SKIP_CMD_SHELL: "TRUE" } as const;

export function receiveBody(commandId: string): string {
  return `<rsp:Receive><rsp:DesiredStream CommandId="${xmlEscape(commandId)}">stdout stderr</rsp:DesiredStream></rsp:Receive>`;
}
export const RECEIVE_OPTIONS = { WSMAN_CMDSHELL_OPTION_KEEPALIVE: "TRUE" } as const;

export function signalBody(commandId: string, code: string = SIGNAL_TERMINATE): string {
  return `<rsp:Signal CommandId="${xmlEscape(commandId)}"><rsp:Code>${code}</rsp:Code></rsp:Signal>`;
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

type Node = Record<string, unknown>;

const parser = (): XMLParser =>
  new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@",
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    // Also decodes numeric character references (&#60;), which are plain XML but off by default here.
    htmlEntities: true,
    isArray: (name) => name === "Stream" || name === "Selector" || name === "Text",
  });

function isNode(v: unknown): v is Node {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function child(n: unknown, name: string): unknown {
  return isNode(n) ? n[name] : undefined;
}

function text(n: unknown): string | undefined {
  if (typeof n === "string") return n;
  if (isNode(n)) {
    const t = n["#text"];
    return typeof t === "string" ? t : t === undefined ? "" : undefined;
  }
  return undefined;
}

function attr(n: unknown, name: string): string | undefined {
  const v = child(n, `@${name}`);
  return typeof v === "string" ? v : undefined;
}

function protocolError(message: string): CollectError {
  return new CollectError("protocol", message);
}

export interface ParsedEnvelope {
  readonly action: string;
  readonly relatesTo: string | undefined;
  readonly body: unknown;
}

/** Validates and parses a SOAP envelope; anything else is a `protocol` error naming what was wrong. */
export function parseEnvelope(xml: string): ParsedEnvelope {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw protocolError("WinRM response contains a DOCTYPE, which WinRM never sends");
  // fast-xml-parser's XMLValidator is marked for a move to the fast-xml-validator package; it still ships here.
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw protocolError(`WinRM response is not well-formed XML (line ${valid.err.line}, column ${valid.err.col}: ${valid.err.code})`);
  }
  const doc: unknown = parser().parse(xml);
  const env = child(doc, "Envelope");
  if (!isNode(env)) throw protocolError("WinRM response is XML but not a SOAP envelope");
  const header = child(env, "Header");
  const action = text(child(header, "Action"));
  if (!action) throw protocolError("WinRM response has no WS-Addressing Action");
  return { action, relatesTo: text(child(header, "RelatesTo")), body: child(env, "Body") };
}

export interface SoapFault {
  /** e.g. `s:Sender`, `s:Receiver`. */
  readonly code: string;
  /** e.g. `w:AccessDenied`, `w:TimedOut`. */
  readonly subcode: string;
  /** WSManFault Code attribute (a Windows error number), when present. */
  readonly wsmanCode: string | undefined;
  readonly machine: string | undefined;
  readonly reason: string;
}

/** The fault in a parsed envelope's body, or undefined when the body holds none. */
export function faultOf(env: ParsedEnvelope): SoapFault | undefined {
  const fault = child(env.body, "Fault");
  if (fault === undefined) return undefined;
  const code = child(fault, "Code");
  const wsmanFault = child(child(fault, "Detail"), "WSManFault");
  const reasons = child(child(fault, "Reason"), "Text");
  const reason = (Array.isArray(reasons) ? reasons.map(text).find((t) => t) : undefined) ??
    text(child(wsmanFault, "Message")) ?? "";
  return {
    code: text(child(code, "Value")) ?? "",
    subcode: text(child(child(code, "Subcode"), "Value")) ?? "",
    wsmanCode: attr(wsmanFault, "Code"),
    machine: attr(wsmanFault, "Machine"),
    reason: reason.replace(/\s+/g, " ").trim().slice(0, MAX_FAULT_TEXT_CHARS),
  };
}

export function isOperationTimeout(f: SoapFault): boolean {
  return f.wsmanCode === WSMAN_OPERATION_TIMEOUT || f.subcode.endsWith(":TimedOut") || f.subcode === "TimedOut";
}

/** ShellId from a CreateResponse: `rsp:Shell/rsp:ShellId`, or the ShellId selector of the created resource. */
export function parseShellId(env: ParsedEnvelope): string {
  const fromShell = text(child(child(env.body, "Shell"), "ShellId"));
  if (fromShell) return fromShell;
  const selectors = child(child(child(child(env.body, "ResourceCreated"), "ReferenceParameters"), "SelectorSet"), "Selector");
  const selector = Array.isArray(selectors) ? selectors.find((s) => attr(s, "Name") === "ShellId") : undefined;
  const id = text(selector);
  if (!id) throw protocolError("WinRM CreateResponse names no ShellId");
  return id;
}

export function parseCommandId(env: ParsedEnvelope): string {
  const id = text(child(child(env.body, "CommandResponse"), "CommandId"));
  if (!id) throw protocolError("WinRM CommandResponse names no CommandId");
  return id;
}

export interface ReceiveChunk {
  readonly stdout: Uint8Array[];
  readonly stderr: Uint8Array[];
  readonly done: boolean;
  readonly exitCode: number | undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes the streams of one ReceiveResponse for `commandId` and whether the command is Done. */
export function parseReceive(env: ParsedEnvelope, commandId: string): ReceiveChunk {
  const rr = child(env.body, "ReceiveResponse");
  if (!isNode(rr)) throw protocolError("WinRM answer to Receive has no ReceiveResponse");
  const out: ReceiveChunk = { stdout: [], stderr: [], done: false, exitCode: undefined };
  const streams = child(rr, "Stream");
  for (const s of Array.isArray(streams) ? streams : []) {
    const name = attr(s, "Name");
    const cid = attr(s, "CommandId");
    if (cid !== undefined && cid !== commandId) continue;
    const data = (text(s) ?? "").replace(/\s+/g, "");
    if (!BASE64.test(data)) throw protocolError(`WinRM ${name ?? "output"} stream is not base64`);
    if (data && (name === "stdout" || name === "stderr")) out[name].push(Buffer.from(data, "base64"));
  }
  const state = child(rr, "CommandState");
  if (state === undefined) return out;
  const stateCid = attr(state, "CommandId");
  if (stateCid !== undefined && stateCid !== commandId) return out;
  if (attr(state, "State") !== COMMAND_STATE_DONE) return out;
  const codeText = text(child(state, "ExitCode"));
  const exitCode = codeText === undefined || codeText === "" ? undefined : Number(codeText);
  if (exitCode !== undefined && !Number.isSafeInteger(exitCode)) throw protocolError("WinRM ExitCode is not an integer");
  return { ...out, done: true, exitCode };
}
