/**
 * A Lit reactive controller that keeps one JSON document current: it listens to a server-sent event stream
 * and, whenever the stream has been quiet or broken for `pollMs`, fetches the document directly (with an
 * AbortSignal, as @lit/task does), so a proxy that buffers event streams only slows the page down.
 *
 *   readonly #live = new LiveData(this, { eventsUrl: "/api/events", event: "status", pollUrl: "/api/status", parse });
 *   render() { return this.#live.value ? html`…` : html`Loading…`; }
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";

/** Connection state, for the page to show: "live" (stream open), "reconnecting", or "polling" (stream unavailable). */
export const LIVE_STATES = ["connecting", "live", "reconnecting", "polling"] as const;
export type LiveState = (typeof LIVE_STATES)[number];

export interface LiveDataOptions<T> {
  eventsUrl: string;
  /** The event name that carries a full document. */
  event: string;
  pollUrl: string;
  parse: (text: string) => T;
  /** Fetch directly when nothing arrived for this long (ms). */
  pollMs?: number;
  /** Injected for tests; default the browser's. */
  fetch?: typeof fetch;
  EventSource?: typeof EventSource;
}

/** Fallback polling interval: twice a minute is fresh enough for a status page and cheap for the appliance. */
export const DEFAULT_POLL_MS = 30_000;

export class LiveData<T> implements ReactiveController {
  value: T | undefined = undefined;
  /** Why the last update failed, or null. */
  error: string | null = null;
  state: LiveState = "connecting";
  /** When the last document arrived (ms, this browser's clock). */
  receivedAt: number | null = null;

  readonly #host: ReactiveControllerHost;
  readonly #o: LiveDataOptions<T> & { pollMs: number };
  #source: EventSource | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #abort: AbortController | null = null;

  constructor(host: ReactiveControllerHost, options: LiveDataOptions<T>) {
    this.#host = host;
    this.#o = { ...options, pollMs: options.pollMs ?? DEFAULT_POLL_MS };
    host.addController(this);
  }

  hostConnected(): void {
    const ES = this.#o.EventSource ?? globalThis.EventSource;
    if (ES) {
      const source = new ES(this.#o.eventsUrl);
      source.addEventListener(this.#o.event, (e) => this.#accept((e as MessageEvent<string>).data));
      source.addEventListener("open", () => this.#setState("live"));
      source.addEventListener("error", () => this.#setState(source.readyState === ES.CLOSED ? "polling" : "reconnecting"));
      this.#source = source;
    } else {
      this.#setState("polling");
      void this.#poll();
    }
    // A live stream sends only changes, so silence there is normal; poll when the stream is down, or when it
    // opened but never delivered the first document (a proxy buffering the stream).
    this.#timer = setInterval(() => {
      if (this.state !== "live" || this.value === undefined) void this.#poll();
    }, this.#o.pollMs);
  }

  hostDisconnected(): void {
    this.#source?.close();
    this.#source = null;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#abort?.abort();
    this.#abort = null;
  }

  #setState(state: LiveState): void {
    if (this.state === state) return;
    this.state = state;
    this.#host.requestUpdate();
  }

  #accept(text: string): void {
    try {
      this.value = this.#o.parse(text);
      this.error = null;
      this.receivedAt = Date.now();
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
    this.#host.requestUpdate();
  }

  async #poll(): Promise<void> {
    this.#abort?.abort();
    const abort = new AbortController();
    this.#abort = abort;
    try {
      const res = await (this.#o.fetch ?? fetch)(this.#o.pollUrl, { signal: abort.signal, headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error(`the appliance answered ${res.status}`);
      this.#accept(await res.text());
    } catch (e) {
      if (abort.signal.aborted) return;
      this.error = e instanceof Error ? e.message : String(e);
      this.#host.requestUpdate();
    }
  }
}
