/**
 * `<osiris-status-page>`: the clinic's read-only status page. It shows what the appliance's report already
 * says in plain language — the overall state first, then what needs attention and what happens next, then
 * each area and device — and the details an IT provider asks for at the bottom. It keeps itself current
 * through the event stream (LiveData), announces a changed overall state to screen readers, and never
 * offers an action: there is nothing on the appliance this page could change.
 */
import { html, LitElement, nothing, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import { notMet } from "../../protocol/catalogue/wording.ts";
import { LiveData, type LiveState } from "../shared/live-data.ts";
import { EVENTS_URL, parseStatusReport, STATUS_EVENT, STATUS_URL, type StatusItem, type StatusLevel, type StatusReport, type TimeText } from "./api.ts";
import { styles } from "./styles.ts";

/** A mark beside each state; always next to words that say the same (colour is never the only signal). */
const MARK: Readonly<Record<StatusLevel, string>> = { ok: "✓", attention: "!", unknown: "?" };
const LIVE_TEXT: Readonly<Record<LiveState, string>> = {
  connecting: "connecting",
  live: "updates automatically",
  reconnecting: "reconnecting",
  polling: "refreshed every 30 seconds",
};

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const time = (t: TimeText) => html`<time datetime=${t.at}>${t.text}</time>`;

function offsetText(ms: number | null): string {
  if (ms === null) return "not measured yet";
  const s = Math.abs(ms) / 1000;
  if (s < 1) return "less than a second";
  return `${s < 10 ? s.toFixed(1) : Math.round(s)} seconds ${ms > 0 ? "ahead" : "behind"}`;
}

export class OsirisStatusPage extends LitElement {
  static override styles = styles;

  readonly #live = new LiveData<StatusReport>(this, { eventsUrl: EVENTS_URL, event: STATUS_EVENT, pollUrl: STATUS_URL, parse: parseStatusReport });

  override updated(): void {
    const r = this.#live.value;
    if (r) document.title = `${r.overall.headline} · ${r.site.name} · OsirisCare`;
  }

  override render(): TemplateResult {
    const r = this.#live.value;
    const error = this.#live.error;
    return html`
      <header>
        <h1>${r?.site.name ?? "Clinic status"}</h1>
        <p class="subtitle">Computer safety checks by OsirisCare. This page only shows information; nothing on it changes anything.</p>
        ${r?.simulated
          ? html`<p class="banner simulated" role="note"><strong>SIMULATED</strong> — these devices are a test lab, not this clinic's real computers.</p>`
          : nothing}
        ${r?.relay.banner ? html`<p class="banner offline" role="status">${r.relay.banner}</p>` : nothing}
        ${error
          ? html`<p class="banner error" role="status">The page cannot reach the appliance right now${r ? html`; it shows the status from ${time(r.generated_at)}` : nothing}. It keeps trying.</p>`
          : nothing}
      </header>
      <main>${r ? this.#report(r) : html`<p role="status">Loading the status…</p>`}</main>
      ${r ? this.#footer(r) : nothing}
    `;
  }

  #report(r: StatusReport): TemplateResult {
    return html`
      <section aria-labelledby="overall-h">
        <h2 id="overall-h" class="sr-only">Overall</h2>
        <div class="card overall ${r.overall.level}">
          <span class="mark" aria-hidden="true">${MARK[r.overall.level]}</span>
          <div>
            <p class="headline" aria-live="polite">${r.overall.headline}</p>
            ${r.overall.detail ? html`<p class="detail">${r.overall.detail}</p>` : nothing}
          </div>
        </div>
        <dl class="facts">
          <div><dt>Last check</dt><dd>${r.last_check ? time(r.last_check) : "Not yet"}</dd></div>
          <div><dt>Next maintenance window</dt><dd>${r.next_window ? html`<time datetime=${r.next_window.start.at}>${r.next_window.text}</time>` : "None set"}</dd></div>
          <div><dt>Connection to your IT provider</dt><dd>${r.relay.text}</dd></div>
        </dl>
      </section>
      ${r.attention.length > 0
        ? html`<section aria-labelledby="attention-h">
            <h2 id="attention-h">What needs attention (${r.attention.length})</h2>
            <ul class="plain items">
              ${repeat(r.attention, (i) => `${i.device_id} ${i.check}`, (i) => this.#item(i, r))}
            </ul>
          </section>`
        : nothing}
      <section aria-labelledby="areas-h">
        <h2 id="areas-h">By area</h2>
        <ul class="plain areas">
          ${r.categories.map(
            (c) => html`<li class="card ${c.level}">
              <span class="mark ${c.level}" aria-hidden="true">${MARK[c.level]}</span>
              <span><span class="area-title">${c.title}</span><span class="area-text">${c.text}</span></span>
            </li>`,
          )}
        </ul>
      </section>
      <section aria-labelledby="devices-h">
        <h2 id="devices-h">Devices (${r.devices.length})</h2>
        <ul class="plain devices">
          ${r.devices.map(
            (d) => html`<li class="card device ${d.level}">
              <div class="device-head">
                <span class="mark ${d.level}" aria-hidden="true">${MARK[d.level]}</span>
                <h3>${d.name}</h3>
                <span class="kind">${d.kind_text}</span>
                ${d.simulated ? html`<span class="tag">Simulated</span>` : nothing}
              </div>
              <p class="state">${d.state_text}${d.last_check ? html` · last checked ${time(d.last_check)}` : nothing}</p>
              ${d.items.length > 0 ? html`<ul>${d.items.map((i) => html`<li>${i.title}: <strong>${i.status_text}</strong></li>`)}</ul>` : nothing}
            </li>`,
          )}
        </ul>
      </section>
    `;
  }

  #item(i: StatusItem, r: StatusReport): TemplateResult {
    const area = r.categories.find((c) => c.id === i.category)?.title ?? i.category;
    return html`<li class="card item">
      <p class="where">Problem on ${i.device_name} · ${area} · since ${time(i.since)}</p>
      <h3>${notMet(i.title)}</h3>
      <p class="status ${i.state === "fixed" ? "fixed" : ""}">${capitalise(i.status_text)}</p>
      <details>
        <summary>What does this mean?<span class="sr-only"> (${i.title}, ${i.device_name})</span></summary>
        <p>${i.staff_text}</p>
      </details>
    </li>`;
  }

  #footer(r: StatusReport): TemplateResult {
    return html`<footer aria-labelledby="tech-h">
      <h2 id="tech-h">For your IT provider</h2>
      <dl>
        <dt>Appliance key fingerprint</dt>
        <dd>
          <code class="fingerprint">${r.appliance.fingerprint}</code>
          <p class="note">Compare it with the fingerprint shown when accepting this appliance.</p>
        </dd>
        <dt>Evidence log</dt>
        <dd><code>${r.appliance.evidence.text}</code></dd>
        <dt>Appliance</dt>
        <dd><code>${r.appliance.id}</code></dd>
        <dt>Site</dt>
        <dd><code>${r.site.id}</code> (${r.site.timezone})</dd>
        <dt>Clock difference from the relay</dt>
        <dd>${offsetText(r.relay.clock_offset_ms)}</dd>
        <dt>Page</dt>
        <dd>Updated ${time(r.generated_at)}, ${LIVE_TEXT[this.#live.state]}</dd>
      </dl>
    </footer>`;
  }
}

customElements.define("osiris-status-page", OsirisStatusPage);

declare global {
  interface HTMLElementTagNameMap {
    "osiris-status-page": OsirisStatusPage;
  }
}
