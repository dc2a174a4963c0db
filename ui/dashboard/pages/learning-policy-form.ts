/**
 * `<osiris-learning-policy-form>`: the MSP administrator's form for the learning loop's policy — every
 * threshold (prefilled with the value in force, its default beside it) and auto-promotion. A value equal to
 * its default is sent as `null` (back to the default), so a later change of the default applies; the relay
 * owns the bounds and its refusal is shown as it says it, with nothing changed. Fires
 * `osiris-policy-saved` once saved.
 */
import { css, html, LitElement, type TemplateResult } from "lit";
import type { LearningThresholds, LearningThresholdsChange, RelayClient } from "../../relay-client/mod.ts";
import { panelStyles, shared } from "../styles.ts";
import { Submission } from "../submission.ts";

/** Short labels, in the units the relay counts in. */
const LABELS: Readonly<Record<string, string>> = {
  min_occurrences: "Runs needed",
  min_l2_resolutions: "Of them found by L2",
  min_success_pct: "Success rate needed (%)",
  window_days: "Counting the last (days)",
  min_sites: "Sites for a fleet-wide rule",
  replay_days: "Replay looks back (days)",
  replay_min_agreement_pct: "Replay agreement needed (%)",
  canary_hours: "Canary watch (hours)",
  canary_min_runs: "Canary judged after (runs)",
  canary_min_success_pct: "Canary success needed (%)",
  drift_recent_hours: "Drift: recent period (hours)",
  drift_min_runs: "Drift: runs needed",
  drift_baseline_days: "Drift: baseline (days)",
  drift_drop_points: "Drift: drop that switches off (points)",
  graduate_min_runs: "Graduates after (runs)",
  graduate_after_days: "Graduates after (days live)",
};

export class OsirisLearningPolicyForm extends LitElement {
  static override properties = { client: { attribute: false }, policy: { attribute: false } };
  static override styles = [
    shared,
    panelStyles,
    css`
      input[type="number"] {
        width: 8rem;
      }
      .check {
        display: flex;
        gap: 0.5rem;
        align-items: center;
      }
      .check label {
        display: inline;
        margin: 0;
      }
    `,
  ];
  declare client: RelayClient;
  /** The policy in force. */
  declare policy: LearningThresholds;
  readonly #submit = new Submission(this);

  /** The form as the API's change, or a sentence naming the field that is not a whole number. */
  #change(form: HTMLFormElement): LearningThresholdsChange | string {
    const f = new FormData(form);
    const thresholds: Record<string, number | null> = {};
    for (const d of this.policy.descriptions) {
      const text = String(f.get(d.name) ?? "").trim();
      const value = Number(text);
      if (text === "" || !Number.isInteger(value)) return `${LABELS[d.name] ?? d.name}: enter a whole number; current value is "${text}".`;
      const dflt = (this.policy.defaults as Record<string, number>)[d.name];
      thresholds[d.name] = value === dflt ? null : value;
    }
    return { thresholds, auto_promote: f.get("auto_promote") === "on" };
  }

  async #save(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const change = this.#change(e.target as HTMLFormElement);
    if (typeof change === "string") return this.#submit.refuse(change);
    await this.#submit.run(async () => {
      const saved = await this.client.setLearningThresholds(change);
      this.dispatchEvent(new CustomEvent("osiris-policy-saved", { detail: saved, bubbles: true, composed: true }));
      const changed = Object.keys(saved.overrides).length;
      return `Learning policy saved: ${changed === 0 ? "every threshold at its default" : `${changed} threshold${changed === 1 ? "" : "s"} changed from the default`}, auto-promotion ${saved.auto_promote ? "on" : "off"}. The next learning cycle uses it.`;
    }, "The learning policy was not changed");
  }

  #field(name: string, value: number): TemplateResult {
    const dflt = (this.policy.defaults as Record<string, number>)[name];
    return html`<div class="field">
      <label for=${`thr-${name}`}>${LABELS[name] ?? name} <span class="hint">(default ${dflt})</span></label>
      <input id=${`thr-${name}`} name=${name} type="number" step="1" required .value=${String(value)} />
    </div>`;
  }

  override render(): TemplateResult {
    const values = this.policy.thresholds as Record<string, number>;
    return html`<form novalidate aria-label="Change the learning policy" @submit=${(e: SubmitEvent) => this.#save(e)}>
      <div class="cols">${this.policy.descriptions.map((d) => this.#field(d.name, values[d.name] ?? d.value))}</div>
      <p class="check">
        <input id="thr-auto" name="auto_promote" type="checkbox" .checked=${this.policy.auto_promote} />
        <label for="thr-auto">Auto-promotion: approve a candidate by policy once its shadow replay passes</label>
      </p>
      <button type="submit" ?disabled=${this.#submit.busy}>Save learning policy</button>
      ${this.#submit.render()}
    </form>`;
  }
}

customElements.define("osiris-learning-policy-form", OsirisLearningPolicyForm);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-learning-policy-form": OsirisLearningPolicyForm;
  }
}
