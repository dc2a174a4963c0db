/**
 * `<osiris-learning-page>`: the learning loop, for MSP staff. Shows the thresholds in force (from the relay,
 * the one place they are set), the candidates waiting for a decision with their scope (all sites, or the one
 * site whose own runs proved a fix) and their evidence held against those thresholds (runs, L2 resolutions,
 * success rate, sites, last seen, shadow replay) and approve / reject, the promoted rules with their state
 * history (who, when, why) and daily success chart, and the rules switched
 * off or retired. Approving answers with the signed rule set version that now carries the rule. The MSP
 * administrator changes the thresholds and auto-promotion there too (learning-policy-form.ts).
 */
import { css, html, nothing, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { LearningCandidate, LearningThresholds } from "../../relay-client/mod.ts";
import { plural, relative } from "../format.ts";
import { Load } from "../load.ts";
import { shared } from "../styles.ts";
import { STATE_TEXT } from "./learning-history.ts";
import { Page } from "./page.ts";
import { stackRowHeaders } from "./stack-rows.ts";
import "./learning-history.ts";
import "./learning-policy-form.ts";

const STATE_CLASS: Readonly<Record<string, string>> = { proposed: "info", shadow: "info", approved: "ok", active: "ok", graduated: "ok", auto_disabled: "bad", retired: "none" };
const WAITING = ["proposed", "shadow"];
const PROMOTED = ["approved", "active", "graduated"];

/** The thresholds by step of the loop, in the order the relay describes them. */
const GROUPS: { title: string; names: string[] }[] = [
  { title: "Becoming a candidate", names: ["min_occurrences", "min_l2_resolutions", "min_success_pct", "window_days", "min_sites"] },
  { title: "Shadow replay, before approval", names: ["replay_days", "replay_min_agreement_pct"] },
  { title: "Canary, after going live", names: ["canary_hours", "canary_min_runs", "canary_min_success_pct"] },
  { title: "Drift, later on", names: ["drift_recent_hours", "drift_min_runs", "drift_baseline_days", "drift_drop_points"] },
  { title: "Graduation", names: ["graduate_min_runs", "graduate_after_days"] },
];

/** Where a candidate's rule applies: "all sites", or "site: <name>" for a fix proven at one site alone. */
export function scopeText(c: Pick<LearningCandidate, "scope_site">): string {
  return c.scope_site ? `site: ${c.scope_site.name}` : "all sites";
}

function scopeBadge(c: LearningCandidate): TemplateResult {
  return html`<span class="badge ${c.scope_site ? "warn" : "info"}" title=${c.scope_site ? "Proven at this site only: its rule applies to this site's appliances" : "Proven at enough sites: its rule applies to every site"}>${scopeText(c)}</span>`;
}

interface Evidence {
  what: string;
  value: TemplateResult | string;
  needs: string;
  met: boolean;
}

export class OsirisLearningPage extends Page {
  static override styles = [
    shared,
    stackRowHeaders,
    css`
      .cand h3 {
        display: flex;
        flex-wrap: wrap;
        gap: 0.3rem 0.6rem;
        align-items: center;
      }
      .cand h3:focus {
        outline: none;
      }
      .evidence {
        margin: 0.6rem 0;
      }
      textarea {
        width: 100%;
        min-height: 2.6rem;
      }
      details {
        margin-top: 0.6rem;
      }
      summary {
        cursor: pointer;
        color: var(--link, #0b5c8e);
        font-weight: 600;
        padding: 0.2rem 0;
      }
      .thresholds h3 {
        margin-top: 0.8rem;
      }
      .changed {
        font-weight: 600;
      }
    `,
  ];
  readonly #list = new Load<{ candidates: LearningCandidate[] }>(this, (signal) => this.client.learningCandidates(undefined, signal), { refreshMs: 60_000 });
  readonly #thresholds = new Load<LearningThresholds>(this, (signal) => this.client.learningThresholds(signal));
  #message: { ok: boolean; text: string } | null = null;
  /** Candidates whose (lazily loaded) history the user opened. */
  readonly #opened = new Set<string>();
  #busy = false;

  override updated(): void {
    this.setTitle("Learning");
  }

  #label(c: LearningCandidate): string {
    return `${c.check} → ${c.runbook}`;
  }

  async #decide(c: LearningCandidate, verb: "approve" | "reject" | "retire", form: HTMLFormElement): Promise<void> {
    const reason = String(new FormData(form).get("reason") ?? "").trim();
    if (verb !== "approve" && reason === "") {
      this.#message = { ok: false, text: `Say why you ${verb} ${this.#label(c)}: the reason is kept in its state history.` };
      this.requestUpdate();
      form.querySelector<HTMLElement>("textarea")?.focus();
      return;
    }
    this.#busy = true;
    this.requestUpdate();
    try {
      const r = await this.client.decideCandidate(c.id, verb, reason || undefined);
      form.reset();
      const set = r.ruleset_version !== null ? ` Signed rule set version ${r.ruleset_version}${r.published ? " was published; appliances pull it within a minute" : " carries it"}.` : "";
      this.#message = { ok: true, text: `${this.#label(c)}: now ${STATE_TEXT[r.state] ?? r.state}.${verb === "approve" ? set : ""}` };
      await this.#list.run(true);
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLElement>(`#cand-${c.id}`)?.focus();
    } catch (e) {
      this.#message = { ok: false, text: e instanceof Error ? e.message : String(e) };
    } finally {
      this.#busy = false;
      this.requestUpdate();
    }
  }

  #evidence(c: LearningCandidate, t: LearningThresholds["thresholds"] | undefined): Evidence[] {
    const rows: Evidence[] = [
      {
        what: "Runs of this fix",
        // The demo's seeded history is labelled wherever it counts: it is not evidence of real resolutions.
        value: c.simulated_runs ? html`${c.occurrences} <span class="badge sim">${c.simulated_runs} simulated</span> <span class="hint">(the demo's labelled history, not real resolutions)</span>` : String(c.occurrences),
        needs: t ? `at least ${t.min_occurrences}` : "",
        met: !t || c.occurrences >= t.min_occurrences,
      },
      { what: "Found by the L2 planner", value: String(c.l2_resolutions), needs: t ? `at least ${t.min_l2_resolutions}` : "", met: !t || c.l2_resolutions >= t.min_l2_resolutions },
      { what: "Success rate", value: `${Math.floor(c.success_pct)} % (${c.successes} of ${c.occurrences})`, needs: t ? `at least ${t.min_success_pct} %` : "", met: !t || c.success_pct >= t.min_success_pct },
      {
        what: "Sites where it worked",
        value: c.sites.length ? html`${c.sites.length}: ${c.sites.map((s, i) => html`${i ? ", " : ""}<a href=${`/sites/${s.id}`}>${s.name}</a>`)}` : "0",
        needs: c.scope_site ? "this site (a rule for this site only)" : t ? `at least ${t.min_sites}` : "",
        met: c.scope_site ? c.sites.some((s) => s.id === c.scope_site!.id) : !t || c.sites.length >= t.min_sites,
      },
      {
        what: "Last seen",
        value: c.last_seen ? html`<time datetime=${c.last_seen}>${relative(c.last_seen, Date.now())}</time>` : "not in the window",
        needs: t ? `within ${plural(t.window_days, "day")}` : "",
        met: !t || (c.last_seen !== null && Date.now() - Date.parse(c.last_seen) <= t.window_days * 86_400_000),
      },
    ];
    if (c.replay) {
      rows.push({
        what: "Shadow replay",
        value: `${c.replay.pass ? "passed" : "did not pass"}: would have chosen what worked ${c.replay.agree} of ${c.replay.agree + c.replay.disagree} times (${Math.floor(c.replay.agreement_pct)} %)`,
        needs: t ? `at least ${t.replay_min_agreement_pct} %` : "",
        met: c.replay.pass,
      });
    }
    return rows;
  }

  #evidenceTable(c: LearningCandidate, t: LearningThresholds["thresholds"] | undefined): TemplateResult {
    return html`<div class="table-wrap evidence">
      <table class="stack">
        <caption class="sr-only">Evidence for ${this.#label(c)}</caption>
        <thead><tr><th scope="col">Evidence</th><th scope="col">This fix</th><th scope="col">Threshold</th><th scope="col">Met</th></tr></thead>
        <tbody>
          ${this.#evidence(c, t).map(
            (r) => html`<tr>
              <th scope="row">${r.what}</th>
              <td data-label="This fix">${r.value}</td>
              <td data-label="Threshold">${r.needs || "—"}</td>
              <td data-label="Met"><span class="badge ${r.met ? "ok" : "warn"}">${r.met ? "Met" : "Not met"}</span></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }

  #head(c: LearningCandidate): TemplateResult {
    return html`<h3 id=${`cand-${c.id}`} tabindex="-1">
      <code>${c.check}</code> → <code>${c.runbook}</code>
      <span class="badge none">${c.platform}</span>
      <span class="badge ${STATE_CLASS[c.state] ?? "none"}">${STATE_TEXT[c.state] ?? c.state}</span>
      ${scopeBadge(c)}
    </h3>
    ${Object.keys(c.params).length ? html`<p class="muted">Parameters <code>${JSON.stringify(c.params)}</code></p>` : nothing}`;
  }

  #history(c: LearningCandidate, eager: boolean): TemplateResult {
    const history = html`<osiris-learning-history .client=${this.client} .candidateId=${c.id} .version=${c.updated_at} .label=${this.#label(c)}></osiris-learning-history>`;
    if (eager) return history;
    return html`<details
      @toggle=${(e: Event) => {
        if ((e.target as HTMLDetailsElement).open && !this.#opened.has(c.id)) (this.#opened.add(c.id), this.requestUpdate());
      }}
    >
      <summary>State history and success chart<span class="sr-only"> of ${this.#label(c)}</span></summary>
      ${this.#opened.has(c.id) ? history : nothing}
    </details>`;
  }

  #waiting(c: LearningCandidate, t: LearningThresholds["thresholds"] | undefined): TemplateResult {
    const blocked = c.state === "proposed" ? "Approval opens once the shadow replay has run (next learning cycle)." : c.replay && !c.replay.pass ? "The shadow replay did not pass: this fix cannot be approved." : null;
    return html`<li class="card cand" aria-labelledby=${`cand-${c.id}`}>
      ${this.#head(c)}
      ${this.#evidenceTable(c, t)}
      ${c.unmet.length ? html`<p class="muted">No longer met today: ${c.unmet.join("; ")}.</p>` : nothing}
      <form @submit=${(e: SubmitEvent) => e.preventDefault()}>
        <div class="field">
          <label for=${`r-${c.id}`}>Reason <span class="hint">(optional to approve, required to reject; kept in the state history)</span></label>
          <textarea id=${`r-${c.id}`} name="reason" maxlength="500"></textarea>
        </div>
        ${blocked ? html`<p class="muted" id=${`b-${c.id}`}>${blocked}</p>` : nothing}
        <p class="row">
          <button type="button" ?disabled=${this.#busy || blocked !== null} aria-describedby=${blocked ? `b-${c.id}` : nothing} @click=${(e: Event) => this.#decide(c, "approve", (e.target as HTMLElement).closest("form")!)}>
            Approve<span class="sr-only"> ${this.#label(c)}</span>
          </button>
          <button type="button" class="danger" ?disabled=${this.#busy} @click=${(e: Event) => this.#decide(c, "reject", (e.target as HTMLElement).closest("form")!)}>Reject<span class="sr-only"> ${this.#label(c)}</span></button>
        </p>
      </form>
      ${this.#history(c, false)}
    </li>`;
  }

  #promoted(c: LearningCandidate, t: LearningThresholds["thresholds"] | undefined): TemplateResult {
    const x = c.executions;
    return html`<li class="card cand" aria-labelledby=${`cand-${c.id}`}>
      ${this.#head(c)}
      <p>
        As a rule (L1): ${x.executions ? html`${plural(x.executions, "run")}, ${x.successes} fixed, ${x.failures} failed, at ${plural(x.sites, "site")}; last ${relative(x.last_run_at, Date.now())}` : "no runs yet — appliances use it the next time this check fails"}.
      </p>
      <details>
        <summary>Evidence it was promoted on<span class="sr-only"> for ${this.#label(c)}</span></summary>
        ${this.#evidenceTable(c, t)}
      </details>
      ${this.#history(c, true)}
      <details>
        <summary>Retire this rule<span class="sr-only"> ${this.#label(c)}</span></summary>
        <form @submit=${(e: SubmitEvent) => e.preventDefault()}>
          <div class="field">
            <label for=${`r-${c.id}`}>Why retire it</label>
            <textarea id=${`r-${c.id}`} name="reason" maxlength="500"></textarea>
          </div>
          <button type="button" class="danger" ?disabled=${this.#busy} @click=${(e: Event) => this.#decide(c, "retire", (e.target as HTMLElement).closest("form")!)}>Retire<span class="sr-only"> ${this.#label(c)}</span></button>
        </form>
      </details>
    </li>`;
  }

  #ended(c: LearningCandidate): TemplateResult {
    return html`<li class="card cand" aria-labelledby=${`cand-${c.id}`}>
      ${this.#head(c)}
      ${this.#history(c, false)}
    </li>`;
  }

  #thresholdsCard(t: LearningThresholds): TemplateResult {
    const text = new Map(t.descriptions.map((d) => [d.name, d]));
    // The relay's sentences for one step are fragments of one sentence: joined with commas unless one ends it.
    const group = (names: string[]) =>
      names.map((n, i) => {
        const d = text.get(n);
        if (!d) return nothing;
        const dflt = (t.defaults as Record<string, number>)[n];
        const last = i === names.length - 1 || /[.:;]$/.test(d.text);
        return html`${d.text}${n in t.overrides && dflt !== undefined ? html` <span class="changed">(changed for your MSP; default ${dflt})</span>` : nothing}${last ? "" : ","} `;
      });
    return html`<section class="card thresholds" aria-labelledby="thr-h">
      <h2 id="thr-h">Thresholds in force</h2>
      <h3>${GROUPS[0]!.title}</h3>
      <p>${group(GROUPS[0]!.names)}</p>
      <p>
        <span class="badge ${t.auto_promote ? "warn" : "info"}">Auto-promotion ${t.auto_promote ? "on" : "off"}</span>
        ${t.auto_promote ? "A candidate whose shadow replay passed is approved by policy." : "A person approves every rule before any appliance uses it."}
      </p>
      <details>
        <summary>After approval: replay, canary, drift and graduation</summary>
        ${GROUPS.slice(1).map((g) => html`<h3>${g.title}</h3><p>${group(g.names)}</p>`)}
      </details>
      ${this.userRole === "msp_admin"
        ? html`<details>
            <summary>Change the learning policy</summary>
            <osiris-learning-policy-form .client=${this.client} .policy=${t} @osiris-policy-saved=${() => void this.#thresholds.run(true)}></osiris-learning-policy-form>
          </details>`
        : nothing}
    </section>`;
  }

  #section(id: string, title: string, intro: string, items: LearningCandidate[], render: (c: LearningCandidate) => TemplateResult, empty: string): TemplateResult {
    return html`<section aria-labelledby=${id}>
      <h2 id=${id}>${title} (${items.length})</h2>
      <p class="muted">${intro}</p>
      ${items.length ? html`<ul class="plain stack" aria-labelledby=${id}>${repeat(items, (c) => c.id, render)}</ul>` : html`<p class="card">${empty}</p>`}
    </section>`;
  }

  override render(): TemplateResult {
    const t = this.#thresholds.value?.thresholds;
    return html`
      <h1 tabindex="-1">Learning</h1>
      <p class="muted">Fixes that worked at several sites become rules every appliance applies at once (L1), after a person approves them; a fix proven by one site's own runs becomes a rule for that site only.</p>
      ${this.#thresholds.render("the learning thresholds", (v) => this.#thresholdsCard(v))}
      <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"}>${this.#message.text}</p>` : nothing}</div>
      ${this.#list.render("learning candidates", (v) => {
        const by = (states: string[]) => v.candidates.filter((c) => states.includes(c.state));
        return html`
          ${this.#section("waiting-h", "Waiting for a decision", "Proposed from healing history; approve one to make it a rule at every site, or at its one site when scoped to a site.", by(WAITING), (c) => this.#waiting(c, t), "No candidates are waiting. They appear when the same fix has worked often enough at enough sites.")}
          ${this.#section("promoted-h", "Promoted rules", "Rules in the signed rule set appliances run, with how they have done since.", by(PROMOTED), (c) => this.#promoted(c, t), "No promoted rules yet.")}
          ${this.#section("ended-h", "Switched off or retired", "Rules the loop switched off because they stopped working, and candidates people rejected or retired.", by(["auto_disabled", "retired"]), (c) => this.#ended(c), "None.")}
        `;
      })}
    `;
  }
}

customElements.define("osiris-learning-page", OsirisLearningPage);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-learning-page": OsirisLearningPage;
  }
}
