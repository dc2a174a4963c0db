/**
 * Runs the status page for a running appliance on Node: one HTTP listener per configured bind address, the
 * built page loaded from disk, and — only when `status_page.mdns` is true — the mDNS advertiser. Started and
 * stopped with the daemon (`osiris appliance run`). Node specifics (sockets, files, os interfaces) stay here.
 */
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { serve } from "@hono/node-server";
import { catalogue as defaultCatalogue, type Catalogue } from "../../protocol/catalogue/mod.ts";
import type { Config } from "../config/index.ts";
import type { Clock, Log } from "../engine/types.ts";
import { loadStatusAssets, DEFAULT_ASSETS_DIR } from "./assets.ts";
import { bonjourResponder, dgramProber } from "./mdns-node.ts";
import { MdnsAdvertiser, type InterfaceMap } from "./mdns.ts";
import { createStatusApp } from "./server.ts";
import { buildStatus, type SyncSnapshot } from "./status-api.ts";
import { StatusFeed } from "./status-feed.ts";
import { applianceStatusSource, type StatusAppliance } from "./status-source.ts";

/** Request line, headers and body must arrive within this time (slow-loris clients are cut off). */
export const REQUEST_TIMEOUT_MS = 30_000;
export const HEADERS_TIMEOUT_MS = 10_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Open connections per listener at most: a clinic's screens need a few; this bounds a flood. */
export const MAX_CONNECTIONS = 128;

export interface StatusServerOptions {
  clock?: Clock;
  /** Built page directory (default: ui/dist/status beside the sources). */
  assetsDir?: string;
  /** The sync client's view of the relay (last sync, clock offset); absent: "never synced" or standalone. */
  sync?: () => SyncSnapshot | null;
  /** When the daemon started (ms), for "offline" before the first sync. */
  startedAt?: number;
  catalogue?: Catalogue;
  /** Replaces the mDNS advertiser (tests); `false` turns it off whatever the config says. */
  mdns?: false | ((port: number) => MdnsAdvertiser);
}

export interface RunningStatusServer {
  /** One URL per bind address, e.g. `http://192.168.1.10:8080/`. */
  urls: string[];
  port: number;
  mdns: MdnsAdvertiser | null;
  close(): Promise<void>;
}

interface Listener {
  port: number;
  close(): Promise<void>;
}

function listen(fetch: (req: Request) => Response | Promise<Response>, hostname: string, port: number): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, (info: AddressInfo) => {
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Event streams stay open until closed from this side.
            if ("closeAllConnections" in server) server.closeAllConnections();
          }),
      });
    });
    const http = server as HttpServer;
    http.requestTimeout = REQUEST_TIMEOUT_MS;
    http.headersTimeout = HEADERS_TIMEOUT_MS;
    http.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    http.maxConnections = MAX_CONNECTIONS;
    server.once("error", reject);
  });
}

const urlOf = (address: string, port: number) => `http://${address.includes(":") ? `[${address}]` : address}:${port}/`;

/**
 * Starts the read-only status page of `appliance` on `config.status_page.bind` and `.port` (port 0: a free
 * one, the same for every address), and advertises it over mDNS when `config.status_page.mdns` is true.
 * Rejects (after closing what it opened) when an address cannot be bound.
 */
export async function startStatusServer(appliance: StatusAppliance, config: Config, log: Log, options: StatusServerOptions = {}): Promise<RunningStatusServer> {
  const clock = options.clock ?? { now: () => Date.now() };
  const catalogue = options.catalogue ?? defaultCatalogue;
  const assetsDir = options.assetsDir ?? DEFAULT_ASSETS_DIR;
  const assets = await loadStatusAssets(assetsDir);
  if (!assets) log.warn("status_page_not_built", { dir: assetsDir, note: "serving a plain notice at /; run `npm run build:ui`" });
  const source = applianceStatusSource(appliance, config, { clock, ...(options.startedAt !== undefined ? { startedAt: options.startedAt } : {}), ...(options.sync ? { sync: options.sync } : {}) });
  const feed = new StatusFeed({ build: async () => buildStatus(await source.read(), catalogue), clock });
  const app = createStatusApp({ status: () => feed.current(), assets, clock, log });

  const listeners: Listener[] = [];
  const closeAll = async () => {
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  };
  let port = config.status_page.port;
  try {
    for (const address of config.status_page.bind) {
      const l = await listen(app.fetch, address, port);
      listeners.push(l);
      port = l.port;
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  const urls = config.status_page.bind.map((a) => urlOf(a, port));
  log.info("status_page_listening", { urls, bundle: assets !== null });

  let mdns: MdnsAdvertiser | null = null;
  if (options.mdns !== false && config.status_page.mdns) {
    mdns = options.mdns
      ? options.mdns(port)
      : new MdnsAdvertiser({
          name: config.status_page.mdns_name,
          port,
          bind: config.status_page.bind,
          log,
          networkInterfaces: (): InterfaceMap => networkInterfaces(),
          responder: (ifaces) => bonjourResponder(ifaces, log),
          prober: (ifaces) => dgramProber(ifaces, log),
        });
    try {
      await mdns.start();
    } catch (e) {
      // The page still works by address; a broken advertiser must not take the daemon down.
      log.error("mdns_start_failed", { error: e instanceof Error ? e.message : String(e) });
    }
  }

  return {
    urls,
    port,
    mdns,
    async close() {
      if (mdns) await mdns.stop().catch((e: unknown) => log.warn("mdns_stop_failed", { error: e instanceof Error ? e.message : String(e) }));
      await closeAll();
      log.info("status_page_stopped", {});
    },
  };
}
