/**
 * `<osiris-admin-page>`: setting up clients. MSP administrators create partners, client organisations
 * (directly or through a partner) and their sites, and rename them (names are unique within their parent:
 * the relay refuses a second "Main office" of one clinic); partner administrators do the same for their own
 * clients. The partner's branding (name, logo, colours) is edited here and applied to its users' dashboard,
 * its clinics' portal and their packets. Users (admin-users.ts), API keys (admin-api-keys.ts), notification
 * channels (admin-channels.ts) and, for MSP administrators, the L2 planner's settings (admin-l2.ts) are
 * managed here too.
 */
import { css, html, nothing, type TemplateResult } from "lit";
import type { OrgView, PartnerView } from "../../relay-client/mod.ts";
import { contrast } from "../branding.ts";
import { Load } from "../load.ts";
import { shared } from "../styles.ts";
import { Page } from "./page.ts";
import "./admin-api-keys.ts";
import "./admin-channels.ts";
import "./admin-l2.ts";
import "./admin-users.ts";

/** Largest logo accepted (the relay allows a 200 000-character data URL). */
const MAX_LOGO_BYTES = 140_000;

export class OsirisAdminPage extends Page {
  static override styles = [
    shared,
    css`
      .cols {
        display: grid;
        gap: 1rem;
        grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr));
      }
      .cols + form.card {
        margin-top: 1rem;
      }
      .swatch {
        display: inline-block;
        width: 1.2rem;
        height: 1.2rem;
        border: 1px solid var(--line);
        vertical-align: middle;
      }
    `,
  ];
  readonly #partners = new Load<{ partners: PartnerView[] }>(this, () => this.client.partners());
  readonly #orgs = new Load<{ organisations: OrgView[] }>(this, () => this.client.orgs());
  #message: { ok: boolean; text: string } | null = null;
  #logo: string | undefined = undefined;

  override updated(): void {
    this.setTitle("Admin");
  }

  async #do(fn: () => Promise<string>, form?: HTMLFormElement): Promise<void> {
    try {
      this.#message = { ok: true, text: await fn() };
      form?.reset();
      await Promise.all([this.#partners.run(true), this.#orgs.run(true)]);
    } catch (e) {
      this.#message = { ok: false, text: e instanceof Error ? e.message : String(e) };
    }
    this.requestUpdate();
  }

  #val(e: SubmitEvent, name: string): string {
    return String(new FormData(e.target as HTMLFormElement).get(name) ?? "").trim();
  }

  async #readLogo(e: Event): Promise<void> {
    const file = (e.target as HTMLInputElement).files?.[0];
    this.#logo = undefined;
    if (!file) return;
    if (!["image/png", "image/svg+xml"].includes(file.type) || file.size > MAX_LOGO_BYTES) {
      this.#message = { ok: false, text: `The logo must be a PNG or SVG file of at most ${Math.round(MAX_LOGO_BYTES / 1000)} KB: this one is ${file.type || "of unknown type"}, ${Math.round(file.size / 1000)} KB.` };
      this.requestUpdate();
      return;
    }
    this.#logo = await new Promise<string>((done, fail) => {
      const r = new FileReader();
      r.onload = () => done(String(r.result));
      r.onerror = () => fail(r.error);
      r.readAsDataURL(file);
    });
  }

  /**
   * Renames a partner (MSP administrators), an organisation or a site: one form, the thing picked from a list
   * of the partners and then the organisations, each with its sites.
   */
  #renameForm(partners: PartnerView[], orgs: OrgView[]): TemplateResult {
    const rename = (e: SubmitEvent) => {
      e.preventDefault();
      const [kind, id] = this.#val(e, "rtarget").split(":") as ["partner" | "org" | "site", string];
      const name = this.#val(e, "rname");
      const target = {
        partner: { label: "Partner", was: partners.find((p) => p.id === id)?.name, save: () => this.client.renamePartner(id, name) },
        org: { label: "Organisation", was: orgs.find((o) => o.id === id)?.name, save: () => this.client.renameOrg(id, name) },
        site: { label: "Site", was: orgs.flatMap((o) => o.sites).find((s) => s.id === id)?.name, save: () => this.client.renameSite(id, name) },
      }[kind];
      void this.#do(async () => `${target.label} “${target.was ?? id}” is now “${(await target.save()).name}”.`, e.target as HTMLFormElement);
    };
    return html`<section class="card" aria-labelledby="rename-h">
      <h2 id="rename-h">Rename</h2>
      <form @submit=${rename}>
        <div class="field">
          <label for="rtarget">${partners.length ? "Partner, organisation or site" : "Organisation or site"}</label>
          <select id="rtarget" name="rtarget" required>
            ${partners.length ? html`<optgroup label="Partners">${partners.map((p) => html`<option value=${`partner:${p.id}`}>${p.name} (partner)</option>`)}</optgroup>` : nothing}
            ${orgs.map((o) => html`<optgroup label=${o.name}><option value=${`org:${o.id}`}>${o.name} (organisation)</option>${o.sites.map((s) => html`<option value=${`site:${s.id}`}>${s.name}</option>`)}</optgroup>`)}
          </select>
        </div>
        <div class="field"><label for="rname">New name <span class="hint">(unique within its MSP, partner or organisation)</span></label><input id="rname" name="rname" required maxlength="200" /></div>
        <button type="submit" ?disabled=${orgs.length === 0 && partners.length === 0}>Rename</button>
      </form>
    </section>`;
  }

  #brandingForm(partners: PartnerView[]): TemplateResult {
    const mine = this.userRole === "partner_admin";
    const b = this.session.branding;
    return html`<form class="card" @submit=${(e: SubmitEvent) => {
      e.preventDefault();
      const partnerId = mine ? this.session.user.partner_id! : this.#val(e, "partner");
      const primary = this.#val(e, "primary");
      const accent = this.#val(e, "accent");
      const name = this.#val(e, "bname");
      void this.#do(async () => {
        await this.client.setBranding(partnerId, { ...(name ? { name } : {}), primary, accent, ...(this.#logo ? { logo_data_url: this.#logo } : {}) });
        return `Branding saved. ${contrast(primary, "#ffffff") < 3 ? "Note: the main colour is pale; text on it is shown dark for contrast. " : ""}Users of the partner see it when they next load the dashboard.`;
      });
    }}>
      <h2>Partner branding</h2>
      ${mine ? nothing : html`<div class="field"><label for="partner">Partner</label><select id="partner" name="partner">${partners.map((p) => html`<option value=${p.id}>${p.name}</option>`)}</select></div>`}
      <div class="field"><label for="bname">Name shown</label><input id="bname" name="bname" maxlength="100" .value=${mine ? (b.name ?? "") : ""} /></div>
      <div class="row">
        <div class="field"><label for="primary">Main colour</label><input id="primary" name="primary" type="color" .value=${mine ? (b.primary ?? "#0b3954") : "#0b3954"} /></div>
        <div class="field"><label for="accent">Accent colour</label><input id="accent" name="accent" type="color" .value=${mine ? (b.accent ?? "#0b5c8e") : "#0b5c8e"} /></div>
      </div>
      <div class="field"><label for="logo">Logo <span class="hint">(PNG or SVG, at most ${Math.round(MAX_LOGO_BYTES / 1000)} KB)</span></label><input id="logo" type="file" accept="image/png,image/svg+xml" @change=${this.#readLogo} /></div>
      <button type="submit">Save branding</button>
    </form>`;
  }

  override render(): TemplateResult {
    const msp = this.userRole === "msp_admin";
    const partners = this.#partners.value?.partners ?? [];
    const orgs = this.#orgs.value?.organisations ?? [];
    const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["UTC"];
    return html`
      <h1 tabindex="-1">Admin</h1>
      <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"} role=${this.#message.ok ? "status" : "alert"}>${this.#message.text}</p>` : nothing}</div>
      <div class="cols">
        ${msp
          ? html`<section class="card" aria-labelledby="partners-h">
              <h2 id="partners-h">Partners</h2>
              ${this.#partners.render("partners", (v) => html`<ul>${v.partners.map((p) => html`<li>${p.name} <span class="muted">(${p.organisations} client${p.organisations === 1 ? "" : "s"})</span></li>`)}</ul>`)}
              <form @submit=${(e: SubmitEvent) => (e.preventDefault(), void this.#do(async () => `Partner ${(await this.client.createPartner(this.#val(e, "pname"))).name} created.`, e.target as HTMLFormElement))}>
                <div class="field"><label for="pname">New partner's name</label><input id="pname" name="pname" required maxlength="200" /></div>
                <button type="submit">Create partner</button>
              </form>
            </section>`
          : nothing}
        <section class="card" aria-labelledby="orgs-h">
          <h2 id="orgs-h">Client organisations</h2>
          ${this.#orgs.render(
            "organisations",
            (v) => html`<ul>
              ${v.organisations.map((o) => html`<li><strong>${o.name}</strong>${o.partner_name ? html` <span class="muted">via ${o.partner_name}</span>` : nothing}${o.sites.length ? html`<ul>${o.sites.map((s) => html`<li><a href=${`/sites/${s.id}`}>${s.name}</a> <span class="muted">${s.timezone}</span></li>`)}</ul>` : html` <span class="muted">(no site yet)</span>`}</li>`)}
            </ul>`,
          )}
          <form @submit=${(e: SubmitEvent) => (e.preventDefault(), void this.#do(async () => `Organisation ${(await this.client.createOrg(this.#val(e, "oname"), msp ? this.#val(e, "opartner") || null : null)).name} created.`, e.target as HTMLFormElement))}>
            <div class="field"><label for="oname">New organisation's name</label><input id="oname" name="oname" required maxlength="200" /></div>
            ${msp
              ? html`<div class="field"><label for="opartner">Sold through</label><select id="opartner" name="opartner"><option value="">Direct client of the MSP</option>${partners.map((p) => html`<option value=${p.id}>${p.name}</option>`)}</select></div>`
              : nothing}
            <button type="submit">Create organisation</button>
          </form>
        </section>
        <section class="card" aria-labelledby="sites-h">
          <h2 id="sites-h">New site</h2>
          <form @submit=${(e: SubmitEvent) => (e.preventDefault(), void this.#do(async () => `Site ${(await this.client.createSite(this.#val(e, "sorg"), this.#val(e, "sname"), this.#val(e, "stz"))).name} created: open it to create a claim code.`, e.target as HTMLFormElement))}>
            <div class="field"><label for="sorg">Organisation</label><select id="sorg" name="sorg" required>${orgs.map((o) => html`<option value=${o.id}>${o.name}</option>`)}</select></div>
            <div class="field"><label for="sname">Site name</label><input id="sname" name="sname" required maxlength="200" /></div>
            <div class="field"><label for="stz">Time zone</label><select id="stz" name="stz">${zones.map((z) => html`<option ?selected=${z === "America/Chicago"}>${z}</option>`)}</select></div>
            <button type="submit" ?disabled=${orgs.length === 0}>Create site</button>
          </form>
        </section>
        ${msp || this.userRole === "partner_admin" ? this.#renameForm(msp ? partners : [], orgs) : nothing}
      </div>
      ${msp || this.userRole === "partner_admin" ? (msp && partners.length === 0 ? nothing : this.#brandingForm(partners)) : nothing}
      ${msp || this.userRole === "partner_admin"
        ? html`<osiris-admin-users .client=${this.client} .session=${this.session} .partners=${partners} .orgs=${orgs}></osiris-admin-users>
            <osiris-admin-api-keys .client=${this.client} .session=${this.session} .partners=${partners}></osiris-admin-api-keys>`
        : nothing}
      ${msp || this.userRole === "partner_admin" ? html`<osiris-admin-channels .client=${this.client} .session=${this.session} .partners=${partners} .orgs=${orgs}></osiris-admin-channels>` : nothing}
      ${msp ? html`<osiris-admin-l2 .client=${this.client}></osiris-admin-l2>` : nothing}
    `;
  }
}

customElements.define("osiris-admin-page", OsirisAdminPage);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-admin-page": OsirisAdminPage;
  }
}
