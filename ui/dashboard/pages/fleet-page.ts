/**
 * `<osiris-fleet-page>`: every clinic the user may see, each with its compliance score (or "No data"), a
 * 30-day sparkline, what needs attention, connection state and last sync, and a "simulated" tag for lab
 * appliances; searchable and filterable, with the filter kept in the address so it can be shared and the
 * back button works. Refreshes itself every minute.
 */
import { css, html, nothing, type TemplateResult } from "lit";
import type { FleetFilter, FleetSite, PartnerView } from "../../relay-client/mod.ts";
import "../components/trend-chart.ts";
import { CONNECTION_CLASS, CONNECTION_TEXT, fullTime, plural, relative, scoreClass, scoreText } from "../format.ts";
import { Load } from "../load.ts";
import { navigate } from "../router.ts";
import { shared } from "../styles.ts";
import { Page } from "./page.ts";

/** The fleet is refreshed this often while the page is open. */
export const FLEET_REFRESH_MS = 60_000;
const SEARCH_DEBOUNCE_MS = 300;

const STATUS_OPTIONS: [FleetFilter["status"] | "", string][] = [
  ["", "All clinics"],
  ["attention", "Need attention"],
  ["online", "Online"],
  ["offline", "Offline"],
  ["no_data", "No data yet"],
  ["simulated", "Simulated (lab)"],
];

export class OsirisFleetPage extends Page {
  static override properties = { ...Page.properties, query: { attribute: false } };
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .filters {
        display: flex;
        flex-wrap: wrap;
        gap: 0.75rem 1rem;
        align-items: flex-end;
        margin: 1rem 0;
      }
      .filters .field {
        margin: 0;
        min-width: 12rem;
        flex: 1 1 12rem;
        max-width: 22rem;
      }
      .summary {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
      }
      ul.sites > li {
        display: grid;
        grid-template-columns: minmax(12rem, 2fr) 7rem 8rem minmax(10rem, 2fr);
        gap: 0.5rem 1rem;
        align-items: center;
        margin-bottom: 0.6rem;
      }
      .name a {
        font-weight: 700;
        font-size: 1.05rem;
      }
      .score {
        white-space: nowrap;
        font-size: 1.35rem;
        font-weight: 700;
        border-radius: 8px;
        padding: 0.2rem 0.5rem;
        text-align: center;
      }
      .score small {
        display: block;
        font-size: 0.75rem;
        font-weight: 600;
      }
      .facts {
        display: flex;
        flex-wrap: wrap;
        gap: 0.35rem;
        align-items: center;
      }
      .sync {
        font-size: 0.9rem;
        color: var(--muted);
        width: 100%;
      }
      @media (max-width: 48rem) {
        ul.sites > li {
          grid-template-columns: 1fr auto;
        }
        .facts {
          grid-column: 1 / -1;
        }
      }
    `,
  ];
  declare query: URLSearchParams;
  #partners: PartnerView[] = [];
  #searchTimer: ReturnType<typeof setTimeout> | null = null;

  readonly #fleet = new Load(this, (signal) => this.client.fleet(this.#filter(), signal), { refreshMs: FLEET_REFRESH_MS });

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.isMspStaff) void this.client.partners().then((r) => ((this.#partners = r.partners), this.requestUpdate()), () => undefined);
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has("query") && changed.get("query") !== undefined) void this.#fleet.run(true);
  }

  #filter(): FleetFilter {
    const q = this.query ?? new URLSearchParams();
    const status = q.get("status");
    return {
      ...(q.get("q") ? { q: q.get("q")! } : {}),
      ...(status && STATUS_OPTIONS.some(([v]) => v === status) ? { status: status as FleetFilter["status"] } : {}),
      ...(q.get("partner_id") ? { partner_id: q.get("partner_id")! } : {}),
    };
  }

  #setFilter(name: string, value: string): void {
    const q = new URLSearchParams(this.query);
    if (value) q.set(name, value);
    else q.delete(name);
    const s = q.toString();
    navigate(this, s ? `/?${s}` : "/", true);
  }

  #onSearch(e: InputEvent): void {
    const value = (e.target as HTMLInputElement).value.trim();
    if (this.#searchTimer) clearTimeout(this.#searchTimer);
    this.#searchTimer = setTimeout(() => this.#setFilter("q", value), SEARCH_DEBOUNCE_MS);
  }

  override updated(): void {
    this.setTitle(this.userRole.startsWith("client_") ? "Our sites" : "Clinics");
  }

  #site(s: FleetSite, now: number): TemplateResult {
    const attention = s.failing + s.unchecked + s.pending_approvals + s.integrity_incidents + s.never_connected.length;
    const never = s.never_connected;
    return html`<li class="card">
      <div class="name">
        <a href=${`/sites/${s.id}`}>${s.name}</a>
        <p class="muted">${s.org_name}${s.partner_name ? html` · via ${s.partner_name}` : nothing}</p>
      </div>
      <div class="score ${scoreClass(s.score)}">${scoreText(s.score)}<small>score</small></div>
      <osiris-trend-chart compact .points=${s.trend.map((p) => ({ day: p.day, value: p.overall }))} label=${`30-day trend of ${s.name}`}></osiris-trend-chart>
      <div class="facts">
        <span class="badge ${CONNECTION_CLASS[s.connection]}">${CONNECTION_TEXT[s.connection]}</span>
        ${s.open_incidents ? html`<span class="badge bad">${plural(s.open_incidents, "open incident")}</span>` : nothing}
        ${s.failing ? html`<span class="badge warn">${plural(s.failing, "failing check")}</span>` : nothing}
        ${s.unchecked ? html`<span class="badge warn" title="A check that errored or a device that did not answer counts as not passing">${plural(s.unchecked, "check")} could not run</span>` : nothing}
        ${s.pending_approvals ? html`<span class="badge warn">${plural(s.pending_approvals, "approval")} waiting</span>` : nothing}
        ${s.integrity_incidents ? html`<span class="badge bad">${plural(s.integrity_incidents, "integrity incident")}</span>` : nothing}
        ${never.length && s.connection !== "never"
          ? html`<span class="badge warn" title=${never.map((a) => `${a.id} enrolled ${fullTime(a.enrolled_at)}`).join("\n")}>${plural(never.length, "appliance")} never connected</span>`
          : nothing}
        ${attention === 0 && s.open_incidents === 0 && s.score !== null ? html`<span class="badge ok">Nothing needs attention</span>` : nothing}
        ${s.simulated ? html`<span class="badge sim">Simulated</span>` : nothing}
        <span class="sync">${this.#syncLine(s, now)}</span>
      </div>
    </li>`;
  }

  /** Last sync and appliance count; for appliances that never connected, when they were enrolled (the oldest first). */
  #syncLine(s: FleetSite, now: number): TemplateResult | string {
    if (s.appliances === 0) return "No active appliance";
    const oldest = s.never_connected[0];
    const enrolled = oldest ? html`<span title=${fullTime(oldest.enrolled_at)}>${s.never_connected.length > 1 ? "first enrolled" : "enrolled"} ${relative(oldest.enrolled_at, now)}</span>` : nothing;
    if (s.connection === "never") return html`Never connected · ${enrolled} · ${plural(s.appliances, "appliance")}`;
    return html`Last sync ${relative(s.last_sync ?? s.last_contact, now)} · ${plural(s.appliances, "appliance")}${oldest ? html` · ${plural(s.never_connected.length, "appliance")} never connected, ${enrolled}` : nothing}`;
  }

  #list(sites: FleetSite[]): TemplateResult {
    const now = Date.now();
    const online = sites.filter((s) => s.connection === "online").length;
    const attention = sites.filter((s) => s.failing + s.unchecked + s.open_incidents + s.pending_approvals + s.integrity_incidents + s.never_connected.length > 0 || s.connection === "offline").length;
    const filtered = Object.keys(this.#filter()).length > 0;
    return html`
      <p class="summary" role="status">
        <span class="badge info">${plural(sites.length, filtered ? "match" : "clinic", filtered ? "matches" : "clinics")}</span>
        <span class="badge ok">${online} online</span>
        <span class="badge ${attention ? "warn" : "ok"}">${attention} need attention</span>
      </p>
      ${sites.length === 0
        ? html`<p class="card">${filtered ? "No clinic matches this search or filter." : "No clinics yet."}</p>`
        : html`<ul class="plain sites" aria-label="Clinics">${sites.map((s) => this.#site(s, now))}</ul>`}
    `;
  }

  override render(): TemplateResult {
    const f = this.#filter();
    const client = this.userRole.startsWith("client_");
    return html`
      <h1 tabindex="-1">${client ? "Our sites" : "Clinics"}</h1>
      <p class="muted">${client ? "Your sites' compliance checks, as your IT provider sees them." : "Every clinic you look after: score, trend, what needs attention and whether its appliance is online."}</p>
      <div class="filters" role="search">
        <div class="field">
          <label for="q">Search</label>
          <input id="q" type="search" placeholder="Clinic, organisation or partner" .value=${f.q ?? ""} @input=${this.#onSearch} />
        </div>
        <div class="field">
          <label for="status">Show</label>
          <select id="status" @change=${(e: Event) => this.#setFilter("status", (e.target as HTMLSelectElement).value)}>
            ${STATUS_OPTIONS.map(([v, t]) => html`<option value=${v ?? ""} ?selected=${(f.status ?? "") === v}>${t}</option>`)}
          </select>
        </div>
        ${this.#partners.length
          ? html`<div class="field">
              <label for="partner">Partner</label>
              <select id="partner" @change=${(e: Event) => this.#setFilter("partner_id", (e.target as HTMLSelectElement).value)}>
                <option value="">All partners and direct clients</option>
                ${this.#partners.map((p) => html`<option value=${p.id} ?selected=${f.partner_id === p.id}>${p.name}</option>`)}
              </select>
            </div>`
          : nothing}
      </div>
      ${this.#fleet.state === "error" && this.#fleet.value ? html`<p class="error" role="alert">Could not refresh: ${this.#fleet.error?.message}. Showing the last list.</p>` : nothing}
      ${this.#fleet.render("the clinics", (v) => this.#list(v.sites))}
    `;
  }
}

customElements.define("osiris-fleet-page", OsirisFleetPage);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-fleet-page": OsirisFleetPage;
  }
}
