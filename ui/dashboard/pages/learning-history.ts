/**
 * `<osiris-learning-history>`: one learning candidate's state history — the ledger of every transition
 * (when, from → to, who, why) — and its daily success rate over the last 30 days, drawn by the trend chart
 * (uPlot). Loads the candidate's detail itself, and again whenever `version` (its last change) moves.
 */
import { css, html, LitElement, nothing, type TemplateResult } from "lit";
import type { LearningCandidateDetail, RelayClient } from "../../relay-client/mod.ts";
import "../components/trend-chart.ts";
import { fullTime, plural } from "../format.ts";
import { Load } from "../load.ts";
import { shared } from "../styles.ts";

/** Plain words for the ledger's states. */
export const STATE_TEXT: Readonly<Record<string, string>> = {
  proposed: "proposed",
  shadow: "shadow replay",
  approved: "approved",
  active: "active",
  graduated: "graduated",
  auto_disabled: "switched off automatically",
  retired: "retired",
};

const ACTOR_TEXT: Readonly<Record<string, string>> = { system: "the learning loop", policy: "auto-promotion policy" };

export class OsirisLearningHistory extends LitElement {
  static override properties = { client: { attribute: false }, candidateId: { attribute: false }, version: { attribute: false }, label: { attribute: false } };
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      td.why {
        min-width: 14rem;
      }
    `,
  ];
  declare client: RelayClient;
  declare candidateId: string;
  /** The candidate's `updated_at`: a change reloads the history. */
  declare version: string;
  /** What the candidate is called ("windows.defender_realtime → windows.enable_defender_realtime"). */
  declare label: string;

  readonly #detail = new Load<LearningCandidateDetail>(this, (signal) => this.client.learningCandidate(this.candidateId, signal), { auto: false });

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has("candidateId") || changed.has("version")) void this.#detail.run(this.#detail.value?.id === this.candidateId);
  }

  #who(l: LearningCandidateDetail["ledger"][number]): string {
    return l.actor_kind === "user" ? l.actor_name : `${ACTOR_TEXT[l.actor_kind] ?? l.actor_kind}${l.actor_name ? ` (${l.actor_name})` : ""}`;
  }

  #body(d: LearningCandidateDetail): TemplateResult {
    const runs = d.daily.reduce((n, p) => n + p.runs, 0);
    const byRule = d.daily.reduce((n, p) => n + p.by_rule, 0);
    return html`
      <osiris-trend-chart .points=${d.daily.map((p) => ({ day: p.day, value: p.runs ? p.success_pct : null }))} label="Daily success rate"></osiris-trend-chart>
      <p class="muted">${plural(runs, "run")} in the last ${d.daily.length} days${byRule ? html`, ${byRule} of them by the promoted rule itself (L1)` : nothing}.</p>
      <div class="table-wrap">
        <table class="stack">
          <caption>State history of ${this.label}</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Change</th><th scope="col">Who</th><th scope="col">Why</th></tr></thead>
          <tbody>
            ${d.ledger.map(
              (l) => html`<tr>
                <td data-label="When"><time datetime=${l.at}>${fullTime(l.at)}</time></td>
                <td data-label="Change">${l.from ? html`${STATE_TEXT[l.from] ?? l.from} → ` : nothing}<strong>${STATE_TEXT[l.to] ?? l.to}</strong></td>
                <td data-label="Who">${this.#who(l)}</td>
                <td data-label="Why" class="why">${l.reason}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>`;
  }

  override render(): TemplateResult | TemplateResult[] | string {
    return this.#detail.render("the history", (d) => this.#body(d));
  }
}

customElements.define("osiris-learning-history", OsirisLearningHistory);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-learning-history": OsirisLearningHistory;
  }
}
