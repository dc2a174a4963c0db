/**
 * The current status report, serialised once and shared by every request and event stream: a short cache
 * (several open pages and `/api/events` streams cost one store read per STATUS_CACHE_MS), concurrent callers
 * share one build, and each snapshot carries its ETag and gzip bytes. Web-standard only (crypto.subtle,
 * CompressionStream).
 *
 * The ETag covers the report without `generated_at`, so it changes when what staff see changes, not every
 * time it is built; event streams use it to send only changes.
 */
import type { Clock } from "../engine/types.ts";
import type { StatusReport } from "./status-types.ts";

/** A report is rebuilt at most this often: a page polls every few seconds, the store need not. */
export const STATUS_CACHE_MS = 2_000;

export interface FeedSnapshot {
  report: StatusReport;
  /** UTF-8 JSON bytes of the report. */
  json: string;
  body: Uint8Array;
  gzip: Uint8Array;
  /** Strong ETag, quoted, e.g. `"5f1c…"`. */
  etag: string;
}

export interface StatusFeedOptions {
  build: () => Promise<StatusReport>;
  clock: Clock;
  maxAgeMs?: number;
}

const toHex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** gzip with the web-standard CompressionStream. */
export async function gzipBytes(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export class StatusFeed {
  readonly #o: Required<StatusFeedOptions>;
  #cached: { at: number; snapshot: FeedSnapshot } | null = null;
  #building: Promise<FeedSnapshot> | null = null;

  constructor(options: StatusFeedOptions) {
    const maxAgeMs = options.maxAgeMs ?? STATUS_CACHE_MS;
    if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) throw new RangeError(`Cannot create a status feed as 'maxAgeMs' must be a non-negative number: current value is ${maxAgeMs}`);
    this.#o = { ...options, maxAgeMs };
  }

  /** The report as of at most `maxAgeMs` ago. Rejects when building fails (nothing stale is served as fresh). */
  current(): Promise<FeedSnapshot> {
    const now = this.#o.clock.now();
    if (this.#cached && now - this.#cached.at < this.#o.maxAgeMs && now >= this.#cached.at) return Promise.resolve(this.#cached.snapshot);
    if (this.#building) return this.#building;
    const building = this.#build(now).finally(() => {
      if (this.#building === building) this.#building = null;
    });
    this.#building = building;
    return building;
  }

  async #build(startedAt: number): Promise<FeedSnapshot> {
    const report = await this.#o.build();
    const json = JSON.stringify(report);
    const body = new TextEncoder().encode(json);
    const { generated_at: _omit, ...stable } = report;
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(stable)));
    const snapshot: FeedSnapshot = { report, json, body, gzip: await gzipBytes(body), etag: `"${toHex(digest).slice(0, 32)}"` };
    this.#cached = { at: startedAt, snapshot };
    return snapshot;
  }
}
