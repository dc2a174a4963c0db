/**
 * `<osiris-audit-page>`: who did what, newest first — every change made through the relay (settings,
 * orders, approvals, claim codes, credentials, users, logins) within the user's tenant, optionally for one
 * site, with older entries loaded on demand.
 */
import { css, html, nothing, type TemplateResult } from "lit";
import type { AuditRecord, FleetSite } from "../../relay-client/mod.ts";
import { fullTime, ROLE_TEXT } from "../format.ts";
import { navigate } from "../router.ts";
import { shared } from "../styles.ts";
import { Page } from "./page.ts";

/** Entries fetched per page. */
const PAGE_SIZE = 50;

export class OsirisAuditPage extends Page {
  static override properties = { ...Page.properties, query: { attribute: false } };
  static override styles = [
    shared,
    css`
      td.details {
        max-width: 24rem;
      }
    `,
  ];
  declare query: URLSearchParams;
  #entries: AuditRecord[] = [];
  #sites: FleetSite[] = [];
  #more = false;
  #error: string | null = null;
  #loading = true;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.client.fleet().then((r) => ((this.#sites = r.sites), this.requestUpdate()), () => undefined);
    void this.#load(true);
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has("query") && changed.get("query") !== undefined) void this.#load(true);
  }

  override updated(): void {
    this.setTitle("Audit log");
  }

  async #load(fresh: boolean): Promise<void> {
    this.#loading = true;
    this.requestUpdate();
    try {
      const site = this.query?.get("site_id") ?? undefined;
      const before = fresh ? undefined : this.#entries.at(-1)?.seq;
      const r = await this.client.auditLog({ ...(site ? { site_id: site } : {}), ...(before ? { before } : {}), limit: PAGE_SIZE });
      this.#entries = fresh ? r.entries : [...this.#entries, ...r.entries];
      this.#more = r.entries.length === PAGE_SIZE;
      this.#error = null;
    } catch (e) {
      this.#error = e instanceof Error ? e.message : String(e);
    } finally {
      this.#loading = false;
      this.requestUpdate();
    }
  }

  #details(d: Record<string, unknown>): string {
    const text = JSON.stringify(d);
    return text === "{}" ? "" : text.length > 300 ? `${text.slice(0, 299)}…` : text;
  }

  override render(): TemplateResult {
    const siteName = new Map(this.#sites.map((s) => [s.id, s.name]));
    const current = this.query?.get("site_id") ?? "";
    return html`
      <h1 tabindex="-1">Audit log</h1>
      <p class="muted">Every change made through the relay, by whom and when. Entries are never edited or removed.</p>
      <div class="field">
        <label for="site">Site</label>
        <select id="site" @change=${(e: Event) => navigate(this, (e.target as HTMLSelectElement).value ? `/audit?site_id=${encodeURIComponent((e.target as HTMLSelectElement).value)}` : "/audit", true)}>
          <option value="">All sites and tenant-wide actions</option>
          ${this.#sites.map((s) => html`<option value=${s.id} ?selected=${s.id === current}>${s.name}</option>`)}
        </select>
      </div>
      ${this.#error ? html`<p class="error" role="alert">Could not load the audit log: ${this.#error}</p>` : nothing}
      <div class="table-wrap">
        <table class="stack">
          <caption class="sr-only">Audit log, newest first</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">On</th><th scope="col">Details</th></tr></thead>
          <tbody>
            ${this.#entries.map(
              (e) => html`<tr>
                <td><time datetime=${e.at}>${fullTime(e.at)}</time></td>
                <td data-label="Who">${e.actor_email}<br /><span class="muted">${ROLE_TEXT[e.actor_role] ?? e.actor_role}</span></td>
                <td data-label="Action"><code>${e.action}</code></td>
                <td data-label="On"><code>${e.target}</code>${e.site_id ? html`<br /><span class="muted">${siteName.get(e.site_id) ?? e.site_id}</span>` : nothing}</td>
                <td class="details" data-label="Details"><code>${this.#details(e.details)}</code></td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <p role="status" class="muted">${this.#loading ? "Loading…" : `${this.#entries.length} entries shown.`}</p>
      ${this.#more ? html`<button type="button" class="secondary" @click=${() => this.#load(false)}>Show older entries</button>` : nothing}
    `;
  }
}

customElements.define("osiris-audit-page", OsirisAuditPage);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-audit-page": OsirisAuditPage;
  }
}
