/**
 * A Lit reactive controller for a page's data: runs an async loader with an AbortSignal (as @lit/task does),
 * keeps the last value while reloading, and tells "this relay has no such feature" (a 404 without a route)
 * apart from real errors, so a page can say "not available" instead of failing.
 *
 *   readonly #sites = new Load(this, (signal) => this.client.fleet({}, signal));
 *   render() { return this.#sites.render({ done: (v) => html`…` }); }
 */
import { html, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from "lit";
import { RelayApiError } from "../relay-client/mod.ts";

export type LoadState = "idle" | "loading" | "done" | "error" | "unavailable";

export class Load<T> implements ReactiveController {
  value: T | undefined = undefined;
  error: RelayApiError | Error | null = null;
  state: LoadState = "idle";
  readonly #host: ReactiveControllerHost;
  readonly #fn: (signal: AbortSignal) => Promise<T>;
  #abort: AbortController | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(host: ReactiveControllerHost, fn: (signal: AbortSignal) => Promise<T>, readonly options: { auto?: boolean; refreshMs?: number } = {}) {
    this.#host = host;
    this.#fn = fn;
    host.addController(this);
  }

  hostConnected(): void {
    if (this.options.auto !== false) void this.run();
    if (this.options.refreshMs) this.#timer = setInterval(() => void this.run(true), this.options.refreshMs);
  }

  hostDisconnected(): void {
    this.#abort?.abort();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** (Re)loads; `quiet` keeps showing the old value instead of a loading state. */
  async run(quiet = false): Promise<void> {
    this.#abort?.abort();
    const abort = new AbortController();
    this.#abort = abort;
    // A quiet reload renders nothing until its answer is in, so a message set by the caller
    // ("… is disabled") appears together with the list that shows it, never beside the old one.
    if (!quiet || this.value === undefined) {
      this.state = this.value === undefined ? "loading" : this.state;
      this.#host.requestUpdate();
    }
    try {
      const v = await this.#fn(abort.signal);
      if (abort.signal.aborted) return;
      this.value = v;
      this.error = null;
      this.state = "done";
    } catch (e) {
      if (abort.signal.aborted) return;
      if (e instanceof RelayApiError && e.loginRequired) {
        (this.#host as unknown as EventTarget).dispatchEvent(new CustomEvent("osiris-login-required", { bubbles: true, composed: true }));
      }
      this.error = e instanceof Error ? e : new Error(String(e));
      this.state = e instanceof RelayApiError && e.noRoute ? "unavailable" : "error";
    }
    this.#host.requestUpdate();
  }

  /** Renders the usual states; `what` names the data in messages ("the escalations"). */
  render(what: string, done: (value: T) => TemplateResult | TemplateResult[] | string): TemplateResult | TemplateResult[] | string {
    if (this.state === "unavailable") return html`<p class="unavailable" role="status">Not available on this relay: ${what} are not installed here yet.</p>`;
    if (this.state === "error" && this.value === undefined) return html`<p class="error" role="alert">Could not load ${what}: ${this.error?.message}</p>`;
    if (this.value === undefined) return html`<p role="status" class="muted">Loading ${what}…</p>`;
    return done(this.value);
  }
}
