/**
 * Site overview: the compliance trend (uPlot), the score by area, which controls are ready and why the
 * others are not, and how the site heals (mode, L2, the next maintenance windows).
 */
import { css, html, nothing, type TemplateResult } from "lit";
import type { ControlView } from "../../relay-client/mod.ts";
import "../components/trend-chart.ts";
import { FRAMEWORK_TEXT, HEALING_MODE_TEXT, scoreClass, scoreText } from "../format.ts";

/** Why an appliance heals in another mode than the site setting. */
const MODE_SOURCE_TEXT: Readonly<Record<string, string>> = { order: "set by an order", config: "from its own configuration (it has not received this site\u2019s settings yet)", relay: "from an earlier setting it has not updated yet" };
import { shared } from "../styles.ts";
import { Section } from "./section.ts";

const REASON_TEXT: Readonly<Record<string, string>> = {
  ready: "Ready",
  failing: "A mapped check fails",
  unchecked: "A mapped check could not run",
  stale: "Evidence too old",
  missing: "A mapped check has not reported",
  no_data: "No data",
};

export class OsirisSiteOverview extends Section {
  static override styles = [
    shared,
    css`
      .areas li {
        display: flex;
        justify-content: space-between;
        gap: 0.5rem;
        align-items: center;
      }
      .controls td:first-child {
        white-space: nowrap;
      }
    `,
  ];
  #framework = "hipaa";

  #controls(controls: ControlView[]): TemplateResult {
    const shown = controls.filter((c) => c.framework === this.#framework);
    const ready = shown.filter((c) => c.ready).length;
    return html`
      <div class="row">
        <h2 id="controls-h">Controls</h2>
        <label class="sr-only" for="fw">Framework</label>
        <select id="fw" @change=${(e: Event) => ((this.#framework = (e.target as HTMLSelectElement).value), this.requestUpdate())}>
          ${[...new Set(controls.map((c) => c.framework))].map((f) => html`<option value=${f} ?selected=${f === this.#framework}>${FRAMEWORK_TEXT[f] ?? f}</option>`)}
        </select>
      </div>
      <p>${ready} of ${shown.length} ${FRAMEWORK_TEXT[this.#framework] ?? this.#framework} controls are ready (every mapped check passes with fresh evidence).</p>
      <div class="table-wrap">
        <table class="controls stack" aria-labelledby="controls-h">
          <thead><tr><th scope="col">Control</th><th scope="col">Title</th><th scope="col">State</th><th scope="col">Blocking checks</th></tr></thead>
          <tbody>
            ${shown.map(
              (c) => html`<tr>
                <td><code>${c.id}</code></td>
                <td>${c.title}</td>
                <td data-label="State"><span class="badge ${c.ready ? "ok" : c.reason === "no_data" ? "none" : c.reason === "failing" ? "bad" : "warn"}">${REASON_TEXT[c.reason] ?? c.reason}</span></td>
                <td data-label="Blocking">${c.blocking.length ? html`<code>${c.blocking.join(", ")}</code>` : "—"}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
    `;
  }

  /** Active appliances that reported healing in another mode than the site's setting (an order overrides it). */
  #modeDifferences(): { id: string; mode: string; source: string }[] {
    const d = this.detail;
    return d.appliances
      .filter((a) => a.state === "active" && a.healing_mode !== null && a.healing_mode.mode !== d.settings.healing_mode)
      .map((a) => ({ id: a.id, mode: a.healing_mode!.mode, source: a.healing_mode!.source }));
  }

  override render(): TemplateResult {
    const d = this.detail;
    return html`
      <section aria-labelledby="trend-h">
        <h2 id="trend-h">Compliance trend (30 days)</h2>
        <div class="card"><osiris-trend-chart .points=${d.trend.map((p) => ({ day: p.day, value: p.overall }))} label="Compliance score"></osiris-trend-chart></div>
      </section>
      <section aria-labelledby="areas-h">
        <h2 id="areas-h">By area</h2>
        <ul class="plain grid areas">
          ${d.score.categories.map(
            (c) => html`<li class="card">
              <span><strong>${c.title}</strong><br /><span class="muted">${c.score === null ? "no checks report here" : `${c.pass} of ${c.pass + c.fail + c.error} checks pass`}</span></span>
              <span class="badge ${scoreClass(c.score)}">${scoreText(c.score)}</span>
            </li>`,
          )}
        </ul>
      </section>
      <section aria-labelledby="controls-h">${this.#controls(d.score.controls)}</section>
      <section aria-labelledby="heal-h">
        <h2 id="heal-h">How this site heals</h2>
        <dl class="facts card">
          <dt>Healing mode</dt>
          <dd>
            ${HEALING_MODE_TEXT[d.settings.healing_mode] ?? d.settings.healing_mode}
            ${this.#modeDifferences().map(
              (a) => html`<p class="mode-differs warn" role="note">
                Appliance <code>${a.id}</code> heals in ${a.mode.charAt(0).toUpperCase() + a.mode.slice(1)} mode, ${MODE_SOURCE_TEXT[a.source] ?? a.source}, not as set here. To end that, send
                it a “Set healing mode” order with the mode you want, or change this site's setting (a changed setting overrules an order).
              </p>`,
            )}
          </dd>
          <dt>L2 planner</dt>
          <dd>${d.settings.l2_enabled ? "On: problems without a rule may get a catalogue fix planned by the relay" : "Off: problems without a rule go to a person"}</dd>
          <dt>Maintenance windows</dt>
          <dd>
            ${d.settings.maintenance_windows.length === 0
              ? "None: disruptive fixes wait for a person"
              : html`<ul class="plain">
                  ${d.windows_preview.map((w, i) =>
                    w
                      ? html`<li><strong>${w.description}</strong>${w.windows.length ? html`<br /><span class="muted">Next: ${w.windows.map((o) => o.text).join("; ")}</span>` : nothing}</li>`
                      : html`<li><code>${d.settings.maintenance_windows[i]?.rrule}</code> (cannot be read)</li>`,
                  )}
                </ul>`}
          </dd>
        </dl>
      </section>
    `;
  }
}

customElements.define("osiris-site-overview", OsirisSiteOverview);
