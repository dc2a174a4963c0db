/**
 * `<osiris-learning-page>`: the learning loop for MSP staff — candidate rules with their evidence
 * (occurrences, success rate, sites, shadow replay), approve or reject, and for each one its state history and
 * daily success chart. Shown as not available on a relay without the learning routes.
 */
import { css, html, nothing, type TemplateResult } from "lit";
import type { LearningCandidate, LearningCandidateDetail, LearningThresholds } from "../../relay-client/mod.ts";
import "../components/trend-chart.ts";
import { fullTime, relative } from "../format.ts";
import { Load } from "../load.ts";
import { shared } from "../styles.ts";
import { Page } from "./page.ts";

const STATE_CLASS: Readonly<Record<string, string>> = { proposed: "info", shadow: "info", approved: "ok", active: "ok", graduated: "ok", auto_disabled: "bad", retired: "none" };

export class OsirisLearningPage extends Page {
  static override styles = [
    shared,
    css`
      .nums {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem 1.2rem;
      }
    `,
  ];
  readonly #list = new Load<{ candidates: LearningCandidate[] }>(this, () => this.client.learningCandidates());
  readonly #thresholds = new Load<LearningThresholds>(this, () => this.client.learningThresholds());
  #open: LearningCandidateDetail | null = null;
  #message: { ok: boolean; text: string } | null = null;

  override updated(): void {
    this.setTitle("Learning");
  }

  async #show(c: LearningCandidate): Promise<void> {
    try {
      this.#open = await this.client.learningCandidate(c.id);
    } catch (e) {
      this.#message = { ok: false, text: e instanceof Error ? e.message : String(e) };
    }
    this.requestUpdate();
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>("#detail-h")?.focus();
  }

  async #decide(c: LearningCandidate, verb: "approve" | "reject"): Promise<void> {
    try {
      const r = await this.client.decideCandidate(c.id, verb, verb === "reject" ? "rejected from the dashboard" : undefined);
      this.#message = { ok: true, text: `${c.check} → ${c.runbook}: now ${r.state}.` };
      await this.#list.run(true);
    } catch (e) {
      this.#message = { ok: false, text: e instanceof Error ? e.message : String(e) };
    }
    this.requestUpdate();
  }

  #candidate(c: LearningCandidate): TemplateResult {
    const decidable = c.state === "proposed" || c.state === "shadow";
    return html`<li class="card">
      <h2>${c.check} → <code>${c.runbook}</code> <span class="badge ${STATE_CLASS[c.state] ?? "none"}">${c.state.replace("_", " ")}</span></h2>
      <p class="nums">
        <span>${c.occurrences} occurrences (${c.l2_resolutions} by L2)</span><span>${Math.round(c.success_pct)} % success</span><span>${c.sites.length} site${c.sites.length === 1 ? "" : "s"}: ${c.sites.map((s) => s.name).join(", ")}</span>
        <span>last seen ${relative(c.last_seen, Date.now())}</span>
        ${c.replay ? html`<span>shadow replay ${c.replay.pass ? "passed" : "did not pass"} (${Math.round(c.replay.agreement_pct)} % agreement)</span>` : nothing}
        ${c.executions.executions ? html`<span>as a rule: ${c.executions.successes}/${c.executions.executions} runs fixed it</span>` : nothing}
      </p>
      ${c.unmet.length ? html`<p class="muted">Not yet: ${c.unmet.join("; ")}</p>` : nothing}
      <p class="row">
        <button type="button" class="secondary" @click=${() => this.#show(c)}>History and chart<span class="sr-only"> of ${c.check} → ${c.runbook}</span></button>
        ${decidable ? html`<button type="button" @click=${() => this.#decide(c, "approve")}>Approve<span class="sr-only"> ${c.check} → ${c.runbook}</span></button><button type="button" class="danger" @click=${() => this.#decide(c, "reject")}>Reject<span class="sr-only"> ${c.check} → ${c.runbook}</span></button>` : nothing}
      </p>
    </li>`;
  }

  #detail(d: LearningCandidateDetail): TemplateResult {
    return html`<section class="card" aria-labelledby="detail-h">
      <h2 id="detail-h" tabindex="-1">${d.check} → ${d.runbook}</h2>
      <osiris-trend-chart .points=${d.daily.map((p) => ({ day: p.day, value: p.runs ? p.success_pct : null }))} label="Daily success rate"></osiris-trend-chart>
      <h3>State history</h3>
      <ol>${d.ledger.map((l) => html`<li>${fullTime(l.at)}: ${l.from ?? "—"} → <strong>${l.to}</strong> by ${l.actor_name} — ${l.reason}</li>`)}</ol>
    </section>`;
  }

  override render(): TemplateResult {
    return html`
      <h1 tabindex="-1">Learning</h1>
      <p class="muted">Fixes that worked at several sites become rules every appliance applies at once (L1), after a person approves them.</p>
      ${this.#thresholds.state === "done" && this.#thresholds.value
        ? html`<details><summary>Thresholds a candidate must meet</summary><p>${this.#thresholds.value.descriptions.map((d) => d.text).join(" ")}</p></details>`
        : nothing}
      <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"}>${this.#message.text}</p>` : nothing}</div>
      ${this.#open ? this.#detail(this.#open) : nothing}
      ${this.#list.render("learning candidates", (v) => (v.candidates.length === 0 ? html`<p class="card">No candidates yet.</p>` : html`<ul class="plain stack">${v.candidates.map((c) => this.#candidate(c))}</ul>`))}
    `;
  }
}

customElements.define("osiris-learning-page", OsirisLearningPage);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-learning-page": OsirisLearningPage;
  }
}
