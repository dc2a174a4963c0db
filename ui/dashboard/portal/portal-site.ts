/**
 * `<osiris-portal-site>`: one of the clinic's sites for its staff, in plain words: score and 30-day trend,
 * what needs attention and what happens next, problems a person is handling, and the monthly reports with
 * "Verify our evidence" (tab `reports` lists every month). The other parts of the site (devices and checks,
 * incidents, evidence, escalations) are the dashboard's read-only sections, reached through the same
 * navigation. A site of another organisation answers "Site not found", like one that does not exist.
 */
import { html, nothing, type TemplateResult } from "lit";
import { RelayApiError, type Escalation, type Packet, type SiteDetail } from "../../relay-client/mod.ts";
import "../components/trend-chart.ts";
import { CONNECTION_CLASS, CONNECTION_TEXT, relative, scoreClass, scoreText } from "../format.ts";
import { Load } from "../load.ts";
import { Page } from "../pages/page.ts";
import { shared, tabStyles } from "../styles.ts";
import { attentionItems } from "./attention.ts";
import { attentionList, escalationList, overall, packetList } from "./parts.ts";
import { unlessMissing } from "./portal-data.ts";
import { PORTAL_REFRESH_MS } from "./portal-home.ts";
import { CLIENT_SITE_TABS } from "./portal-route.ts";
import { portalStyles } from "./portal-styles.ts";

interface SiteData {
  detail: SiteDetail;
  escalations: Escalation[] | null;
  packets: Packet[] | null;
}

export class OsirisPortalSite extends Page {
  static override properties = { ...Page.properties, siteId: { attribute: false }, tab: { attribute: false } };
  static override styles = [shared, tabStyles, portalStyles];
  declare siteId: string;
  declare tab: "overview" | "reports";

  readonly #data = new Load<SiteData>(
    this,
    async (signal) => {
      const [detail, escalations, packets] = await Promise.all([
        this.client.site(this.siteId, { days: 30 }, signal),
        unlessMissing(this.client.escalations(this.siteId, { active: true }, signal).then((r) => r.escalations)),
        unlessMissing(this.client.packets(this.siteId, signal).then((r) => r.packets)),
      ]);
      return { detail, escalations, packets };
    },
    { refreshMs: PORTAL_REFRESH_MS },
  );

  get provider(): string {
    return this.session.branding.name ?? "your IT provider";
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has("siteId") && changed.get("siteId") !== undefined) {
      this.#data.value = undefined;
      void this.#data.run();
    }
  }

  override updated(): void {
    const d = this.#data.value?.detail;
    this.setTitle(d ? `${this.tab === "reports" ? "Monthly reports" : "Overview"} · ${d.site.name}` : "Site");
  }

  #header(d: SiteDetail, now: number): TemplateResult {
    const last = d.appliances.map((a) => a.last_sync ?? a.last_contact).filter((x): x is string => x !== null).sort().at(-1) ?? null;
    const connection = d.appliances.length === 0 ? "no_appliance" : d.appliances.some((a) => a.connection === "online") ? "online" : d.appliances.some((a) => a.last_contact) ? "offline" : "never";
    return html`
      <p class="crumbs"><a href="/">Our sites</a> › ${d.site.org_name}</p>
      <div class="head">
        <div>
          <h1 tabindex="-1">${d.site.name}</h1>
          <p class="muted">${d.site.org_name} · looked after by ${this.provider}</p>
          <p class="row">
            <span class="badge ${CONNECTION_CLASS[connection]}">${CONNECTION_TEXT[connection]}</span>
            <span class="muted">${d.appliances.length ? `Last report ${relative(last, now)}` : "No appliance installed yet"}</span>
            ${d.simulated ? html`<span class="badge sim">Simulated</span>` : nothing}
          </p>
        </div>
        <div class="score ${scoreClass(d.score.overall)}">${scoreText(d.score.overall)}<small>compliance score</small></div>
      </div>
      ${d.simulated ? html`<p class="banner sim" role="note"><strong>SIMULATED</strong> — this site's appliance checks a test lab, not a real clinic's computers.</p>` : nothing}
      <nav class="tabs" aria-label="Parts of this site">
        <ul>
          ${CLIENT_SITE_TABS.map((t) => html`<li><a href=${`/sites/${this.siteId}${t.id === "overview" ? "" : `/${t.id}`}`} aria-current=${t.id === this.tab ? "page" : "false"}>${t.text}</a></li>`)}
        </ul>
      </nav>
    `;
  }

  #overview(v: SiteData, now: number): TemplateResult {
    const d = v.detail;
    const items = attentionItems(d, now, this.provider);
    const latest = v.packets?.[0];
    return html`
      ${overall(items, [d.score.overall], this.provider)}
      <section aria-labelledby="trend-h">
        <h2 id="trend-h">Compliance score, last 30 days</h2>
        <div class="card"><osiris-trend-chart .points=${d.trend.map((p) => ({ day: p.day, value: p.overall }))} label="Compliance score"></osiris-trend-chart></div>
      </section>
      <section aria-labelledby="attention-h">
        <h2 id="attention-h">What needs attention${items.length ? ` (${items.length})` : ""}</h2>
        ${attentionList(items, now, () => d.site.timezone, false)}
      </section>
      <section aria-labelledby="escalations-h">
        <h2 id="escalations-h">Problems a person is handling</h2>
        ${v.escalations === null ? html`<p class="unavailable">Escalations are not available on this server yet.</p>` : escalationList(v.escalations, [d], this.provider, now, false)}
      </section>
      <section aria-labelledby="reports-h">
        <h2 id="reports-h">Latest monthly report</h2>
        ${packetList(latest ? [latest] : [], v.packets === null)}
        ${v.packets && v.packets.length > 1 ? html`<p><a href=${`/sites/${this.siteId}/reports`}>All ${v.packets.length} monthly reports</a></p>` : nothing}
      </section>
    `;
  }

  #reports(v: SiteData): TemplateResult {
    return html`<section aria-labelledby="reports-h">
      <h2 id="reports-h">Monthly reports</h2>
      ${packetList(v.packets ?? [], v.packets === null)}
    </section>`;
  }

  override render(): TemplateResult {
    const s = this.#data;
    if (s.state === "error" && s.value === undefined) {
      const notFound = s.error instanceof RelayApiError && s.error.status === 404;
      return html`<h1 tabindex="-1">${notFound ? "Site not found" : "Cannot load this site"}</h1>
        <p class="error" role="alert">${notFound ? "There is no site here that you may see. It may belong to another organisation, or the link is wrong." : s.error?.message}</p>
        <p><a href="/">Back to our sites</a></p>`;
    }
    if (!s.value) return html`<h1 tabindex="-1">Site</h1><p role="status" class="muted">Loading the site…</p>`;
    const now = Date.now();
    return html`${this.#header(s.value.detail, now)}${this.tab === "reports" ? this.#reports(s.value) : this.#overview(s.value, now)}`;
  }
}

customElements.define("osiris-portal-site", OsirisPortalSite);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-portal-site": OsirisPortalSite;
  }
}
