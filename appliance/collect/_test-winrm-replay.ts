/**
 * Test helper (not a test): a stand-in for a Windows WinRM listener that replays the reconstructed
 * recordings in `fixtures/winrm/*.json` over real HTTP or HTTPS on loopback.
 *
 * For each incoming request it checks what a Windows host would check — path, content type, credentials
 * (Basic; or the NTLM NEGOTIATE and an AUTHENTICATE message verified cryptographically against the fixture's
 * test password, on the same connection), and the SOAP envelope (Action, ResourceURI, MessageID, To,
 * OptionSet, ShellId selector, command line, CommandId, signal code) — against the next recorded exchange,
 * and answers with the recorded response. Placeholders in recorded responses are filled the way a host
 * fills them: `{{RelatesTo}}` (the request's MessageID), `{{To}}` (its endpoint), `{{NtlmChallenge}}`.
 * Anything unexpected is recorded in `errors` and answered with HTTP 400, so a test fails loudly.
 */

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import { createNTHashedPasswordV1 } from "@node-ntlm/core";
import { XMLParser } from "fast-xml-parser";
import { z } from "zod";

const FIXTURE_DIR = new URL("../../fixtures/winrm/", import.meta.url);
const MAX_REQUEST_BYTES = 2 * 1024 * 1024;

const Response = z.object({
  status: z.number().int(),
  headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  body: z.string(),
  delayMs: z.number().int().nonnegative().optional(),
});

const Request = z.object({
  auth: z.enum(["basic", "basic-rejected", "ntlm-negotiate", "ntlm-authenticate"]),
  action: z.string().optional(),
  shellId: z.string().optional(),
  options: z.record(z.string(), z.string()).optional(),
  command: z.string().optional(),
  arguments: z.array(z.string()).optional(),
  argumentsPrefix: z.array(z.string()).optional(),
  encodedCommandContains: z.array(z.string()).optional(),
  commandId: z.string().optional(),
  signalCode: z.string().optional(),
});

const Fixture = z.object({
  description: z.string(),
  provenance: z.string(),
  path: z.string(),
  credentials: z.object({ username: z.string(), password: z.string() }),
  ntlm: z.object({ challenge: z.string() }).optional(),
  unauthorized: Response,
  exchanges: z.array(z.object({ note: z.string(), request: Request, response: Response, repeat: z.boolean().optional() })),
});

export type WinrmFixture = z.infer<typeof Fixture>;
type Exchange = WinrmFixture["exchanges"][number];

export function loadFixture(name: string): WinrmFixture {
  return Fixture.parse(JSON.parse(readFileSync(new URL(name, FIXTURE_DIR), "utf8")));
}

export interface Replay {
  readonly url: string;
  readonly port: number;
  /** Everything that did not match the recording. */
  readonly errors: string[];
  /** Notes of the exchanges served, in order (a repeated one appears each time). */
  readonly served: string[];
  /** Requests answered with the recorded "unauthorized" response. */
  rejected: number;
  /** Every request that reached the server, matched or not. */
  requests: number;
  /** True when every recorded exchange was served. */
  finished(): boolean;
  close(): Promise<void>;
}

export async function startReplay(fixture: WinrmFixture, tls?: { key: string; cert: string }): Promise<Replay> {
  let index = 0;
  let negotiateSocket: Socket | undefined;
  const state = {
    errors: [] as string[],
    served: [] as string[],
    rejected: 0,
    requests: 0,
  };
  let url = "";

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    state.requests++;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.byteLength;
      if (size <= MAX_REQUEST_BYTES) chunks.push(c);
    });
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const fail = (problem: string) => {
        state.errors.push(problem);
        res.writeHead(400, { "Content-Type": "text/plain" }).end(problem);
      };
      let exp = fixture.exchanges[index];
      const next = fixture.exchanges[index + 1];
      const soap = body ? parseSoap(body) : undefined;
      if (exp?.repeat && next && matchesKind(next, req, soap)) {
        index++;
        exp = next;
      }
      if (!exp) return fail(`unexpected request after the recording ended (${soap?.action ?? "no action"})`);
      const note = exp.note;
      if (req.method !== "POST") return fail(`${note}: method ${req.method}`);
      if (req.url !== fixture.path) return fail(`${note}: path ${req.url}`);
      if (!/^application\/soap\+xml;\s*charset=UTF-8$/i.test(req.headers["content-type"] ?? "")) {
        return fail(`${note}: content type ${req.headers["content-type"]}`);
      }
      const authorization = req.headers.authorization ?? "";
      const rq = exp.request;
      const reject = () => {
        state.rejected++;
        reply(res, fixture.unauthorized, {});
      };

      if (rq.auth === "basic" || rq.auth === "basic-rejected") {
        const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(authorization);
        if (!m?.[1]) return fail(`${note}: expected Basic authorization`);
        const decoded = Buffer.from(m[1], "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        const user = decoded.slice(0, colon);
        const password = decoded.slice(colon + 1);
        const good = user === fixture.credentials.username && password === fixture.credentials.password;
        if (rq.auth === "basic" && !good) return reject();
        if (rq.auth === "basic-rejected" && (good || user !== fixture.credentials.username)) {
          return fail(`${note}: expected the recorded user with a wrong password`);
        }
      } else if (rq.auth === "ntlm-negotiate") {
        const token = negotiateTokenOf(authorization);
        if (!token) return fail(`${note}: expected Authorization: Negotiate <NTLM NEGOTIATE>`);
        const problem = checkNegotiate(token);
        if (problem) return fail(`${note}: ${problem}`);
        if (body.length !== 0) return fail(`${note}: NEGOTIATE leg should carry an empty body`);
        negotiateSocket = req.socket;
        state.served.push(note);
        index++;
        return reply(res, exp.response, { NtlmChallenge: fixture.ntlm?.challenge ?? "" });
      } else {
        const token = negotiateTokenOf(authorization);
        if (!token || !fixture.ntlm) return fail(`${note}: expected Authorization: Negotiate <NTLM AUTHENTICATE>`);
        if (req.socket !== negotiateSocket) return fail(`${note}: AUTHENTICATE arrived on a different connection than NEGOTIATE`);
        if (verifyAuthenticate(token, fixture.ntlm.challenge, fixture.credentials) !== undefined) return reject();
      }

      if (!soap) return fail(`${note}: body is not a SOAP envelope`);
      const problem = checkSoap(soap, rq, url);
      if (problem) return fail(`${note}: ${problem}`);
      state.served.push(note);
      if (!exp.repeat) index++;
      const answer = exp.response;
      const send = () => reply(res, answer, { RelatesTo: soap.messageId, To: soap.to });
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  };

  const server: Server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  url = `${tls ? "https" : "http"}://127.0.0.1:${port}${fixture.path}`;
  return {
    url,
    port,
    errors: state.errors,
    served: state.served,
    get rejected() {
      return state.rejected;
    },
    get requests() {
      return state.requests;
    },
    finished: () => index >= fixture.exchanges.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(res: ServerResponse, r: z.infer<typeof Response>, fill: Record<string, string>): void {
  const sub = (s: string) => s.replace(/\{\{(\w+)\}\}/g, (m, k: string) => fill[k] ?? m);
  const body = sub(r.body);
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k] = Array.isArray(v) ? v.map(sub) : sub(v);
  headers["Content-Length"] = String(Buffer.byteLength(body));
  res.writeHead(r.status, headers).end(body);
}

// ---------------------------------------------------------------------------------------------------------
// SOAP checks

interface Soap {
  action: string;
  resourceUri: string;
  messageId: string;
  to: string;
  operationTimeout: string;
  maxEnvelopeSize: string;
  options: Record<string, string>;
  shellId: string | undefined;
  body: unknown;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => name === "Option" || name === "Selector" || name === "Arguments",
});

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const txt = (v: unknown): string => (typeof v === "string" ? v : typeof obj(v)["#text"] === "string" ? String(obj(v)["#text"]) : "");

function parseSoap(body: string): Soap | undefined {
  try {
    const env = obj(obj(parser.parse(body))["Envelope"]);
    const h = obj(env["Header"]);
    if (!env["Header"]) return undefined;
    const options: Record<string, string> = {};
    for (const o of list(obj(h["OptionSet"])["Option"])) options[String(obj(o)["@Name"])] = txt(o);
    const shell = list(obj(h["SelectorSet"])["Selector"]).find((s) => obj(s)["@Name"] === "ShellId");
    return {
      action: txt(h["Action"]),
      resourceUri: txt(h["ResourceURI"]),
      messageId: txt(h["MessageID"]),
      to: txt(h["To"]),
      operationTimeout: txt(h["OperationTimeout"]),
      maxEnvelopeSize: txt(h["MaxEnvelopeSize"]),
      options,
      shellId: shell === undefined ? undefined : txt(shell),
      body: env["Body"],
    };
  } catch {
    return undefined;
  }
}

function matchesKind(e: Exchange, req: IncomingMessage, soap: Soap | undefined): boolean {
  const negotiate = /^Negotiate /.test(req.headers.authorization ?? "") && !soap;
  if (e.request.auth === "ntlm-negotiate") return negotiate;
  return !negotiate && soap?.action === e.request.action;
}

function checkSoap(s: Soap, rq: Exchange["request"], url: string): string | undefined {
  if (s.action !== rq.action) return `action ${s.action}, expected ${rq.action}`;
  if (s.resourceUri !== "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd") return `resource URI ${s.resourceUri}`;
  if (!/^uuid:[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/.test(s.messageId)) return `message id ${s.messageId}`;
  if (s.to !== url) return `To ${s.to}, expected ${url}`;
  if (!/^PT\d+S$/.test(s.operationTimeout)) return `operation timeout ${s.operationTimeout}`;
  if (s.maxEnvelopeSize !== "153600") return `max envelope size ${s.maxEnvelopeSize}`;
  if (JSON.stringify(s.options) !== JSON.stringify(rq.options ?? {})) return `options ${JSON.stringify(s.options)}`;
  if (s.shellId !== rq.shellId) return `ShellId ${s.shellId}, expected ${rq.shellId}`;
  const body = obj(s.body);
  if (rq.command !== undefined) {
    const line = obj(body["CommandLine"]);
    const command = txt(line["Command"]);
    const args = list(line["Arguments"]).map(txt);
    if (command !== rq.command) return `command ${command}`;
    if (rq.arguments && JSON.stringify(args) !== JSON.stringify(rq.arguments)) return `arguments ${JSON.stringify(args)}`;
    if (rq.argumentsPrefix && JSON.stringify(args.slice(0, rq.argumentsPrefix.length)) !== JSON.stringify(rq.argumentsPrefix)) {
      return `arguments ${JSON.stringify(args)}`;
    }
    if (rq.encodedCommandContains) {
      const script = Buffer.from(args[args.length - 1] ?? "", "base64").toString("utf16le");
      const missing = rq.encodedCommandContains.find((part) => !script.includes(part));
      if (missing !== undefined) return `encoded script lacks ${JSON.stringify(missing)}`;
    }
  }
  if (rq.action?.endsWith("/Receive")) {
    const ds = obj(obj(body["Receive"])["DesiredStream"]);
    if (ds["@CommandId"] !== rq.commandId || txt(ds) !== "stdout stderr") return `desired stream ${JSON.stringify(ds)}`;
  }
  if (rq.action?.endsWith("/Signal")) {
    const sig = obj(body["Signal"]);
    if (sig["@CommandId"] !== rq.commandId || txt(sig["Code"]) !== rq.signalCode) return `signal ${JSON.stringify(sig)}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// NTLM: the server side a Windows host runs, reduced to what a test needs.

function negotiateTokenOf(authorization: string): Buffer | undefined {
  const m = /^Negotiate ([A-Za-z0-9+/]+={0,2})$/.exec(authorization);
  return m?.[1] ? Buffer.from(m[1], "base64") : undefined;
}

const NTLMSSP = Buffer.from("NTLMSSP\0", "latin1");
const NEGOTIATE_NTLM = 0x200;

function checkNegotiate(msg: Buffer): string | undefined {
  if (msg.length < 32 || !msg.subarray(0, 8).equals(NTLMSSP)) return "not an NTLMSSP message";
  if (msg.readUInt32LE(8) !== 1) return `NTLM message type ${msg.readUInt32LE(8)}, expected NEGOTIATE (1)`;
  if ((msg.readUInt32LE(12) & NEGOTIATE_NTLM) === 0) return "NEGOTIATE without the NTLM flag";
  return undefined;
}

function field(msg: Buffer, at: number): Buffer {
  const len = msg.readUInt16LE(at);
  const off = msg.readUInt32LE(at + 4);
  if (off + len > msg.length) throw new Error("field out of range");
  return msg.subarray(off, off + len);
}

const hmacMd5 = (key: Buffer, data: Buffer) => createHmac("md5", key).update(data).digest();

/**
 * Verifies an NTLMv2 AUTHENTICATE message as a Windows host would (MS-NLMP §3.3.2): recompute NTProofStr
 * from the password's NT hash, the user and domain in the message, the server challenge and the client's
 * blob, which must carry the challenge's target info. Returns the problem, or undefined when valid.
 */
export function verifyAuthenticate(msg: Buffer, challengeB64: string, creds: { username: string; password: string }): string | undefined {
  try {
    if (!msg.subarray(0, 8).equals(NTLMSSP) || msg.readUInt32LE(8) !== 3) return "not an AUTHENTICATE message";
    const unicode = (msg.readUInt32LE(60) & 1) === 1;
    const str = (b: Buffer) => (unicode ? b.toString("utf16le") : b.toString("latin1"));
    const nt = field(msg, 20);
    const domain = str(field(msg, 28));
    const user = str(field(msg, 36));
    const slash = creds.username.indexOf("\\");
    const wantDomain = slash > 0 ? creds.username.slice(0, slash) : "";
    const wantUser = slash > 0 ? creds.username.slice(slash + 1) : creds.username;
    if (user.toUpperCase() !== wantUser.toUpperCase()) return "wrong user";
    if (domain.toUpperCase() !== wantDomain.toUpperCase()) return "wrong domain";
    if (nt.length <= 24) return "not an NTLMv2 response";
    const challenge = Buffer.from(challengeB64, "base64");
    const serverChallenge = challenge.subarray(24, 32);
    const targetInfo = field(challenge, 40);
    const proof = nt.subarray(0, 16);
    const blob = nt.subarray(16);
    if (blob[0] !== 1 || blob[1] !== 1) return "bad NTLMv2 blob version";
    if (!blob.subarray(28, 28 + targetInfo.length).equals(targetInfo)) return "blob does not carry the challenge's target info";
    const responseKey = hmacMd5(createNTHashedPasswordV1(creds.password), Buffer.from(user.toUpperCase() + domain, "utf16le"));
    const expected = hmacMd5(responseKey, Buffer.concat([serverChallenge, blob]));
    return timingSafeEqual(expected, proof) ? undefined : "wrong password";
  } catch {
    return "malformed AUTHENTICATE message";
  }
}

/** SHA-256 fingerprint of a PEM certificate, as pins.ts formats it. */
export function pemFingerprint(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
  return `SHA256:${createHash("sha256").update(der).digest("base64").replace(/=+$/, "")}`;
}
