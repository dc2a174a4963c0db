/**
 * Reseller outputs for the daemon: in reseller deployment mode every healing event and escalation is also
 * sent, scrubbed, to the reseller's syslog receiver and webhook from the config. Built once at start-up; the
 * healing engine calls `publish` only while the site is in reseller mode.
 */
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import type { Config } from "../config/index.ts";
import type { Log } from "../engine/types.ts";
import type { PublishReseller } from "../heal/index.ts";
import { publishResellerEvent, STREAM_MAX_MESSAGE_BYTES, SyslogSender, syslogConnector, UDP_MAX_MESSAGE_BYTES, webCryptoHmacSha256, type ResellerChannels } from "../outputs/index.ts";

export interface ResellerOutputs {
  publish: PublishReseller | null;
  close(): Promise<void>;
}

/** Bound on waiting for queued syslog lines at shutdown. */
const CLOSE_FLUSH_MS = 2_000;

export async function resellerOutputs(config: Config, log: Log): Promise<ResellerOutputs> {
  const channels: ResellerChannels = {};
  let sender: SyslogSender | null = null;
  const s = config.reseller?.syslog;
  if (s) {
    sender = new SyslogSender({ connect: syslogConnector({ transport: s.transport, host: s.host, port: s.port }), log: (level, message, fields) => log[level](message, fields) });
    channels.syslog = { sender, facility: "local4", hostname: hostname(), maxBytes: s.transport === "udp" ? UDP_MAX_MESSAGE_BYTES : STREAM_MAX_MESSAGE_BYTES };
  }
  const w = config.reseller?.webhook;
  if (w) {
    // The secret is read once into memory; it is never logged or written anywhere else.
    const secret = (await readFile(w.secret_file, "utf8")).trim();
    channels.webhook = {
      target: { url: w.url, secret },
      deps: { fetch, hmac: webCryptoHmacSha256, now: Date.now, random: Math.random, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
    };
  }
  if (!channels.syslog && !channels.webhook) return { publish: null, close: async () => undefined };
  return {
    publish: (event) => publishResellerEvent(event, channels),
    close: async () => {
      await sender?.close(CLOSE_FLUSH_MS);
    },
  };
}
