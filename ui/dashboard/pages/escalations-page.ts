/**
 * `<osiris-escalations-page>`: every escalation the user may see, across the fleet, most urgent first, with
 * SLA timers counting down and acknowledge / resolve for MSP and partner staff. `?status=active` (default),
 * `resolved` or `all`; each filter is its own address.
 */
import { css, html, type TemplateResult } from "lit";
import type { FleetSite } from "../../relay-client/mod.ts";
import { Load } from "../load.ts";
import { ESCALATION_FILTERS, type EscalationFilter } from "../site/escalation-list.ts";
import { shared } from "../styles.ts";
import { Page } from "./page.ts";
import "../site/escalation-list.ts";

const FILTER_TEXT: Readonly<Record<EscalationFilter, string>> = { active: "Open and acknowledged", resolved: "Resolved", all: "All" };

export class OsirisEscalationsPage extends Page {
  static override properties = { ...Page.properties, query: { attribute: false } };
  static override styles = [
    shared,
    css`
      nav ul {
        margin: 1rem 0;
        gap: 0.5rem;
      }
      nav a {
        display: inline-block;
        padding: 0.3rem 0.8rem;
        border: 1px solid var(--line);
        border-radius: 999px;
        text-decoration: none;
        font-weight: 600;
        background: var(--card);
      }
      nav a[aria-current="page"] {
        background: var(--accent, #0b5c8e);
        border-color: var(--accent, #0b5c8e);
        color: var(--accent-ink, #fff);
      }
    `,
  ];
  declare query: URLSearchParams;
  readonly #sites = new Load<{ sites: FleetSite[] }>(this, (signal) => this.client.fleet({}, signal));

  get #filter(): EscalationFilter {
    const f = this.query?.get("status") ?? "active";
    return (ESCALATION_FILTERS as readonly string[]).includes(f) ? (f as EscalationFilter) : "active";
  }

  override updated(): void {
    this.setTitle("Escalations");
  }

  override render(): TemplateResult {
    const names = new Map((this.#sites.value?.sites ?? []).map((s) => [s.id, s.name]));
    const filter = this.#filter;
    return html`<h1 tabindex="-1">Escalations</h1>
      <p class="muted">Problems appliances handed to people, at every clinic you look after. Each must be acknowledged, then resolved, within its priority's time limits.</p>
      <nav aria-label="Which escalations">
        <ul class="plain row">
          ${ESCALATION_FILTERS.map((f) => html`<li><a href=${`/escalations?status=${f}`} aria-current=${f === filter ? "page" : "false"}>${FILTER_TEXT[f]}</a></li>`)}
        </ul>
      </nav>
      <h2>${FILTER_TEXT[filter]}</h2>
      <osiris-escalation-list .client=${this.client} .session=${this.session} .siteId=${null} .siteNames=${names} .filter=${filter}></osiris-escalation-list>`;
  }
}

customElements.define("osiris-escalations-page", OsirisEscalationsPage);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-escalations-page": OsirisEscalationsPage;
  }
}
