/**
 * Public surface of the status page: the read-only Hono app, the report it serves, the Node runner and the
 * mDNS advertiser.
 *
 *   const page = await startStatusServer(appliance, config, log);   // listens on status_page.bind, advertises if status_page.mdns
 *   ...
 *   await page.close();                                             // goodbye packets, listeners closed
 */
export { startStatusServer, MAX_CONNECTIONS, type RunningStatusServer, type StatusServerOptions } from "./node.ts";
export { createStatusApp, ALLOWED_METHODS, EVENT_POLL_MS, EVENT_STREAM_MAX_MS, MAX_EVENT_STREAMS, SECURITY_HEADERS, type StatusAppOptions } from "./server.ts";
export { buildStatus, CATEGORY_GROUP, OFFLINE_AFTER_INTERVALS, STAFF_CATEGORIES, type LatestScan, type OpenIncident, type StatusInput, type SyncSnapshot } from "./status-api.ts";
export { applianceStatusSource, type StatusAppliance, type StatusSource } from "./status-source.ts";
export { StatusFeed, STATUS_CACHE_MS, type FeedSnapshot } from "./status-feed.ts";
export { loadStatusAssets, DEFAULT_ASSETS_DIR, type Asset, type StatusAssets } from "./assets.ts";
export { MdnsAdvertiser, advertisedAddresses, ADDRESS_POLL_MS, MAX_NAME_ATTEMPTS, type MdnsProber, type MdnsResponder, type Publication } from "./mdns.ts";
export type * from "./status-types.ts";
