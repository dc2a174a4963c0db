/**
 * Test helpers (not shipped behaviour): real receivers on loopback for notification tests. A real SMTP
 * server (`smtp-server`) keeping every message it accepts, and an HTTP receiver that checks the webhook HMAC
 * over the raw body it read (the way an MSP's receiver must) and answers with scripted statuses.
 * Syslog tests use a real rsyslog (node/syslog/_rsyslog.ts).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { SMTPServer } from "smtp-server";

export interface Mail {
  to: string[];
  raw: string;
  /** Subject header, decoded when it was RFC 2047 encoded. */
  subject: string;
  /** The text body with quoted-printable soft breaks undone. */
  text: string;
}

export interface SmtpSink {
  port: number;
  messages: Mail[];
  close(): Promise<void>;
}

function decodeQp(s: string): string {
  return s.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/**
 * An unfolded header value with its RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`) decoded;
 * white space between two adjacent encoded words is dropped, as RFC 2047 §6.2 says.
 */
function decodeHeader(value: string): string {
  const word = /=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g;
  // Each word to its bytes (one char per byte), then the whole value from UTF-8: a character may be split
  // across two words.
  const bytes = value.replace(/(\?=)\s+(?==\?)/g, "$1").replace(word, (_m, _charset: string, enc: string, data: string) =>
    enc.toUpperCase() === "B" ? Buffer.from(data, "base64").toString("latin1") : data.replace(/_/g, " ").replace(/=([0-9A-Fa-f]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16))),
  );
  return Buffer.from(bytes, "latin1").toString("utf8");
}

export async function smtpSink(): Promise<SmtpSink> {
  const messages: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, callback) {
      let raw = "";
      stream.setEncoding("utf8");
      stream.on("data", (d: string) => (raw += d));
      stream.on("end", () => {
        const [head = "", ...rest] = raw.split(/\r?\n\r?\n/);
        const subject = decodeHeader(/^Subject: (.*(?:\r?\n[ \t].*)*)/im.exec(head)?.[1]?.replace(/\r?\n[ \t]/g, " ") ?? "");
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, subject, text: decodeQp(rest.join("\n\n")) });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return { port, messages, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  /** The HMAC in X-Osiris-Signature matched the secret over the raw body. */
  signatureValid: boolean;
  json: unknown;
}

export interface HttpReceiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** An HTTP receiver; `status(i)` is the status of the i-th request (default 200). */
export async function httpReceiver(secret: string | null, status: (i: number) => number = () => 200): Promise<HttpReceiver> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const sent = String(req.headers["x-osiris-signature"] ?? "");
      let signatureValid = false;
      if (secret !== null && sent.startsWith("sha256=")) {
        const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(body).digest("hex")}`);
        signatureValid = expected.length === sent.length && timingSafeEqual(expected, Buffer.from(sent));
      }
      let json: unknown = null;
      try {
        json = JSON.parse(body.toString("utf8"));
      } catch {
        /* kept raw */
      }
      received.push({ path: req.url ?? "", headers: req.headers, raw: body.toString("utf8"), signatureValid, json });
      res.writeHead(status(received.length - 1), { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}
