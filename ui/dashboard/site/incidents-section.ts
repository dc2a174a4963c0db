/**
 * The incident timeline: open incidents first, each with its tier (L1 rule, L2 plan, L3 person), the outcome
 * of the latest healing attempt, and the attempts themselves in order. Every time is in the viewer's zone, as
 * on the site's other pages, and the section says which zone that is (the site's own zone is in the header).
 */
import { css, html, nothing, type TemplateResult } from "lit";
import { notMet } from "../../../protocol/catalogue/wording.ts";
import type { IncidentView } from "../../relay-client/mod.ts";
import { fullTime, OUTCOME_CLASS, OUTCOME_TEXT, relative } from "../format.ts";
import { shared } from "../styles.ts";
import { attemptOutcomeText, outcomeBadgeText, readableTimes } from "./attempt-words.ts";
import { Section } from "./section.ts";

const TIER_TEXT: Readonly<Record<string, string>> = { L1: "L1 · rule", L2: "L2 · planned", L3: "L3 · person" };
const STATUS_CLASS: Readonly<Record<string, string>> = { open: "bad", escalated: "bad", resolved: "ok" };

export class OsirisSiteIncidents extends Section {
  static override styles = [
    shared,
    css`
      ol.timeline {
        list-style: none;
        margin: 0;
        padding: 0 0 0 1rem;
        border-left: 3px solid var(--line);
      }
      ol.timeline > li {
        position: relative;
        margin-bottom: 0.9rem;
      }
      ol.attempts {
        margin: 0.4rem 0 0;
        padding-left: 1.2rem;
      }
      ol.attempts li {
        margin-bottom: 0.25rem;
      }
    `,
  ];

  /** The host's reported name (its id in a tooltip), or its id when it never reported a name. */
  #host(hostId: string | null): TemplateResult {
    if (hostId === null) return html`the site`;
    const name = this.detail.devices.find((d) => d.host_id === hostId)?.hostname;
    return name ? html`<span title=${`Host ${hostId}`}>${name}</span>` : html`<code>${hostId}</code>`;
  }

  #incident(i: IncidentView, now: number): TemplateResult {
    return html`<li class="card">
      <h3>${notMet(i.title)}</h3>
      <p class="row">
        <span class="badge ${STATUS_CLASS[i.status] ?? "none"}">${i.status === "resolved" ? "Resolved" : i.status === "escalated" ? "Escalated" : "Open"}</span>
        ${i.tier ? html`<span class="badge info">${TIER_TEXT[i.tier] ?? i.tier}</span>` : html`<span class="badge none">No fix tried yet</span>`}
        ${i.outcome ? html`<span class="badge ${OUTCOME_CLASS[i.outcome] ?? "none"}">${i.attempts[0] ? outcomeBadgeText(i.attempts[0]) : (OUTCOME_TEXT[i.outcome] ?? i.outcome)}</span>` : nothing}
        <span class="muted">severity ${i.severity}</span>
      </p>
      <p class="muted">
        On ${this.#host(i.host_id)} · opened <time datetime=${i.opened_at} title=${fullTime(i.opened_at)}>${relative(i.opened_at, now)}</time>
        ${i.resolved_at ? html` · resolved <time datetime=${i.resolved_at}>${relative(i.resolved_at, now)}</time>` : nothing} · seen ${i.occurrences} time${i.occurrences === 1 ? "" : "s"}
      </p>
      ${i.attempts.length
        ? html`<ol class="attempts" aria-label="Healing attempts, newest first">
            ${i.attempts.map(
              (a) => html`<li>
                <time datetime=${a.finished_at}>${fullTime(a.finished_at)}</time> — ${TIER_TEXT[a.tier] ?? a.tier}${a.runbook ? html` <code>${a.runbook}</code>` : nothing}:
                <strong>${attemptOutcomeText(a)}</strong>${a.detail ? html` <span class="muted">(${readableTimes(a.detail)})</span>` : nothing}
              </li>`,
            )}
          </ol>`
        : nothing}
    </li>`;
  }

  override render(): TemplateResult {
    const list = this.detail.incidents;
    const open = list.filter((i) => i.status !== "resolved").length;
    const now = Date.now();
    return html`<h2>Incidents</h2>
      <p>${open} open, ${list.length - open} resolved (newest ${list.length} shown).</p>
      <p class="muted">Times are in your time zone (${Intl.DateTimeFormat().resolvedOptions().timeZone}).</p>
      ${list.length === 0 ? html`<p class="card">No incidents reported by this site's appliances.</p>` : html`<ol class="timeline" aria-label="Incident timeline">${list.map((i) => this.#incident(i, now))}</ol>`}`;
  }
}

customElements.define("osiris-site-incidents", OsirisSiteIncidents);
