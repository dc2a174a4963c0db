/**
 * `<osiris-admin-l2>`: the MSP's L2 planner settings (MSP administrators only, as the relay allows). Shows
 * whether a model endpoint is configured on the relay (never its key), how many model calls were made in the
 * last hour and day, a kill switch (every L2 request then escalates to a person without calling the model),
 * and the budgets and confidence floor, all saved with PUT /api/l2/settings and audited by the relay.
 */
import { css, html, LitElement, nothing, type TemplateResult } from "lit";
import type { L2SettingsChange, L2SettingsView, RelayClient } from "../../relay-client/mod.ts";
import { fullTime } from "../format.ts";
import { Load } from "../load.ts";
import { panelStyles, shared } from "../styles.ts";

/** The relay's ceiling for a budget (relay/l2/settings.ts MAX_BUDGET). */
const MAX_BUDGET = 100_000;

const BUDGETS = [
  ["site_per_hour", "Per site, per hour"],
  ["site_per_day", "Per site, per day"],
  ["global_per_hour", "Whole MSP, per hour"],
  ["global_per_day", "Whole MSP, per day"],
] as const;

export class OsirisAdminL2 extends LitElement {
  static override properties = { client: { attribute: false } };
  static override styles = [
    shared,
    panelStyles,
    css`
      .state {
        margin: 0.5rem 0 0.75rem;
      }
      .narrow {
        max-width: 24rem;
      }
    `,
  ];
  declare client: RelayClient;

  readonly #view = new Load<L2SettingsView>(this, (signal) => this.client.l2Settings(signal));
  #message: { ok: boolean; text: string } | null = null;

  async #save(change: L2SettingsChange, said: (v: L2SettingsView) => string): Promise<void> {
    try {
      const v = await this.client.updateL2Settings(change);
      this.#view.value = v;
      this.#message = { ok: true, text: said(v) };
    } catch (err) {
      this.#message = { ok: false, text: err instanceof Error ? err.message : String(err) };
    }
    this.requestUpdate();
  }

  #submit(e: SubmitEvent): void {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const n = (k: string) => Number(String(f.get(k) ?? "").trim());
    const change: L2SettingsChange = { min_confidence: Math.round(n("l2conf")) / 100 };
    for (const [k] of BUDGETS) change[k] = n(`l2_${k}`);
    void this.#save(change, () => "L2 budgets and confidence floor saved.");
  }

  #model(v: L2SettingsView): TemplateResult {
    return v.llm.configured
      ? html`<span class="badge ok">Configured</span> ${v.llm.model ?? "model"} at <code>${v.llm.host}</code>`
      : html`<span class="badge warn">Not configured</span> The relay was started without a model endpoint (<code>--l2-url</code> / <code>--l2-config</code>): every L2 request escalates to a person.`;
  }

  #settings(v: L2SettingsView): TemplateResult {
    return html`
      <dl class="facts">
        <dt>Model endpoint</dt>
        <dd>${this.#model(v)}</dd>
        <dt>Model calls</dt>
        <dd>${v.usage.last_hour} in the last hour (budget ${v.global_per_hour}), ${v.usage.last_day} in the last day (budget ${v.global_per_day})</dd>
        <dt>Last changed</dt>
        <dd>${v.updated_at ? fullTime(v.updated_at) : html`<span class="muted">never: the defaults apply</span>`}</dd>
      </dl>
      <div class="state">
        ${v.enabled
          ? html`<p><span class="badge ok">Planner on</span> Incidents the rules cannot fix are sent to the model, within the budgets below.</p>
              <button type="button" class="danger" @click=${() => this.#save({ enabled: false }, () => "Kill switch on: the L2 planner is stopped; every L2 request escalates to a person.")}>Stop the L2 planner (kill switch)</button>`
          : html`<p><span class="badge bad">Planner stopped</span> Kill switch on: every L2 request escalates to a person without calling the model.</p>
              <button type="button" @click=${() => this.#save({ enabled: true }, () => "The L2 planner is on again.")}>Turn the L2 planner back on</button>`}
      </div>
      <form @submit=${(e: SubmitEvent) => this.#submit(e)} aria-labelledby="l2form-h">
        <h3 id="l2form-h">Budgets and confidence</h3>
        <fieldset>
          <legend>Model calls allowed <span class="hint">(0 to ${MAX_BUDGET.toLocaleString("en-GB")}; over a budget, incidents escalate without calling the model)</span></legend>
          <div class="cols">
            ${BUDGETS.map(([k, label]) => html`<div class="field"><label for=${`l2_${k}`}>${label}</label><input id=${`l2_${k}`} name=${`l2_${k}`} type="number" inputmode="numeric" min="0" max=${MAX_BUDGET} step="1" required .value=${String(v[k])} /></div>`)}
          </div>
        </fieldset>
        <div class="field narrow">
          <label for="l2conf">Minimum confidence, % <span class="hint">(plans the model is less sure of escalate to a person)</span></label>
          <input id="l2conf" name="l2conf" type="number" inputmode="numeric" min="0" max="100" step="1" required .value=${String(Math.round(v.min_confidence * 100))} />
        </div>
        <button type="submit">Save L2 settings</button>
      </form>
    `;
  }

  override render(): TemplateResult {
    return html`<section class="card" aria-labelledby="l2-h">
      <h2 id="l2-h">L2 planner</h2>
      <p class="muted">The AI planner that picks a catalogue runbook for an incident the rules cannot fix. It never runs anything itself: the appliance applies its own gates.</p>
      <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"} role=${this.#message.ok ? "status" : "alert"}>${this.#message.text}</p>` : nothing}</div>
      ${this.#view.render("L2 settings", (v) => this.#settings(v))}
    </section>`;
  }
}

customElements.define("osiris-admin-l2", OsirisAdminL2);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-admin-l2": OsirisAdminL2;
  }
}
