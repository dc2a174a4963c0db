import { test } from "uvu";
import * as assert from "uvu/assert";
import { XMLParser } from "fast-xml-parser";
import { CollectError } from "./errors.ts";
import { loadFixture } from "./_test-winrm-replay.ts";
import {
  ACTION,
  commandBody,
  envelope,
  faultOf,
  isOperationTimeout,
  parseCommandId,
  parseEnvelope,
  parseReceive,
  parseShellId,
  receiveBody,
  signalBody,
  xmlEscape,
} from "./winrm-soap.ts";

const SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";

function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, CollectError);
    assert.is((err as CollectError).code, code);
    if (message) assert.match((err as CollectError).message, message);
    return;
  }
  assert.unreachable("expected a CollectError");
}

/** The recorded answer of a fixture exchange, with placeholders filled as the host would. */
function recorded(fixture: string, note: string, messageId = "uuid:00000000-0000-0000-0000-000000000001"): string {
  const e = loadFixture(fixture).exchanges.find((x) => x.note === note);
  if (!e) throw new Error(`no exchange ${note}`);
  return e.response.body.replaceAll("{{RelatesTo}}", messageId).replaceAll("{{To}}", "https://h:5986/wsman");
}

test("envelope() builds a well-formed WS-Management request with escaped values", () => {
  const xml = envelope(
    { to: "https://h:5986/wsman", action: ACTION.command, messageId: "uuid:ABC", operationTimeoutS: 20, shellId: "S-1", options: { WINRS_SKIP_CMD_SHELL: "TRUE" } },
    commandBody("prog.exe", ["<a&b>", `"q'`]),
  );
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", removeNSPrefix: true, isArray: (n) => n === "Arguments" }).parse(xml) as {
    Envelope: { Header: Record<string, unknown>; Body: { CommandLine: { Command: string; Arguments: string[] } } };
  };
  const h = doc.Envelope.Header;
  assert.equal(h["Action"], { "#text": ACTION.command, "@mustUnderstand": "true" });
  assert.is(h["MessageID"], "uuid:ABC");
  assert.is(h["OperationTimeout"], "PT20S");
  assert.equal(h["SelectorSet"], { Selector: { "#text": "S-1", "@Name": "ShellId" } });
  assert.equal(doc.Envelope.Body.CommandLine.Arguments, ["<a&b>", `"q'`]);
  assert.is(xmlEscape(`<&>"'`), "&lt;&amp;&gt;&quot;&apos;");
});

test("receiveBody() and signalBody() name the command", () => {
  assert.match(receiveBody("C-1"), /<rsp:DesiredStream CommandId="C-1">stdout stderr<\/rsp:DesiredStream>/);
  assert.match(signalBody("C-1"), new RegExp(`<rsp:Code>${SHELL}/signal/terminate</rsp:Code>`));
});

test("parseShellId() reads a recorded CreateResponse, and falls back to the ShellId selector", () => {
  const env = parseEnvelope(recorded("basic-success.json", "Create shell"));
  assert.is(env.action, "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse");
  assert.is(env.relatesTo, "uuid:00000000-0000-0000-0000-000000000001");
  assert.is(parseShellId(env), "6E3F2C71-9B8A-4D25-A1C4-37E0F5B9D812");
  const selectorOnly = recorded("basic-success.json", "Create shell").replace(/<rsp:Shell xmlns.*<\/rsp:Shell>/, "");
  assert.is(parseShellId(parseEnvelope(selectorOnly)), "6E3F2C71-9B8A-4D25-A1C4-37E0F5B9D812");
});

test("parseCommandId() reads a recorded CommandResponse", () => {
  const env = parseEnvelope(recorded("basic-success.json", "Command: powershell.exe -EncodedCommand"));
  assert.is(parseCommandId(env), "B04D7A9E-52C3-4F1B-8E6A-9D2C15F7E340");
});

test("parseReceive() decodes chunks, ignores other commands' streams and reads Done with the exit code", () => {
  const cid = "C-1";
  const xml = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="${SHELL}">` +
    `<s:Header><a:Action>${SHELL}/ReceiveResponse</a:Action><a:RelatesTo>uuid:X</a:RelatesTo></s:Header><s:Body><rsp:ReceiveResponse>` +
    `<rsp:Stream Name="stdout" CommandId="${cid}">${Buffer.from("hé").toString("base64")}</rsp:Stream>` +
    `<rsp:Stream Name="stdout" CommandId="OTHER">${Buffer.from("nope").toString("base64")}</rsp:Stream>` +
    `<rsp:Stream Name="stderr" CommandId="${cid}">${Buffer.from("err").toString("base64")}</rsp:Stream>` +
    `<rsp:Stream Name="stdout" CommandId="${cid}" End="true"></rsp:Stream>` +
    `<rsp:CommandState CommandId="${cid}" State="${SHELL}/CommandState/Done"><rsp:ExitCode>4294967295</rsp:ExitCode></rsp:CommandState>` +
    `</rsp:ReceiveResponse></s:Body></s:Envelope>`;
  const r = parseReceive(parseEnvelope(xml), cid);
  assert.is(Buffer.concat(r.stdout).toString(), "hé");
  assert.is(Buffer.concat(r.stderr).toString(), "err");
  assert.ok(r.done);
  assert.is(r.exitCode, 4294967295);
  const running = parseReceive(parseEnvelope(recorded("basic-success.json", "Receive: first stdout chunk, still running")), "B04D7A9E-52C3-4F1B-8E6A-9D2C15F7E340");
  assert.not.ok(running.done);
  assert.is(running.stdout.length, 1);
});

test("parseReceive() rejects a stream that is not base64", () => {
  const xml = recorded("ntlm-success.json", "Receive: output, Done, exit code 0: NTLM AUTHENTICATE + envelope").replace(/V0lOLURDMDENCg==/, "not*base64");
  throwsCode(() => parseReceive(parseEnvelope(xml), "7A2E5C91-0D4B-4F63-9E18-B6C3A5F2D047"), "protocol", /not base64/);
});

test("parseEnvelope() decodes numeric character references in text", () => {
  const xml = recorded("soap-fault-access-denied.json", "Create shell denied").replace("Access is denied. </s:Text>", "Access &#60;is&#x3E; denied &amp; logged. </s:Text>");
  assert.is(faultOf(parseEnvelope(xml))?.reason, "Access <is> denied & logged.");
});

test("faultOf() reads recorded TimedOut, AccessDenied and QuotaLimit faults", () => {
  const timedOut = faultOf(parseEnvelope(recorded("basic-success.json", "Receive: no output within OperationTimeout")));
  assert.ok(timedOut && isOperationTimeout(timedOut));
  assert.is(timedOut?.machine, "WIN-DC01.clinic.local");
  const denied = faultOf(parseEnvelope(recorded("soap-fault-access-denied.json", "Create shell denied")));
  assert.equal(denied, { code: "s:Sender", subcode: "w:AccessDenied", wsmanCode: "5", machine: "WIN-DC01.clinic.local", reason: "Access is denied." });
  assert.not.ok(denied && isOperationTimeout(denied));
  const quota = faultOf(parseEnvelope(recorded("soap-fault-quota.json", "Create shell over quota")));
  assert.is(quota?.wsmanCode, "2150859173");
  assert.is(faultOf(parseEnvelope(recorded("basic-success.json", "Delete shell"))), undefined);
});

test("parseEnvelope() rejects truncated XML, a DOCTYPE, non-SOAP XML and a missing Action", () => {
  throwsCode(() => parseEnvelope(recorded("malformed-xml.json", "Create shell, truncated answer")), "protocol", /not well-formed XML/);
  throwsCode(() => parseEnvelope(`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`), "protocol", /DOCTYPE/);
  throwsCode(() => parseEnvelope("<html><body>Proxy error</body></html>"), "protocol", /not a SOAP envelope/);
  throwsCode(() => parseEnvelope(`<s:Envelope xmlns:s="x"><s:Header/><s:Body/></s:Envelope>`), "protocol", /no WS-Addressing Action/);
  throwsCode(() => parseEnvelope(""), "protocol");
});

test.run();
