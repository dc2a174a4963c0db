/**
 * `<osiris-admin-channels>`: where escalations, missed SLAs and digests are sent — e-mail, a signed webhook,
 * a Slack-compatible incoming webhook or syslog — for the whole MSP, one partner or one site. MSP
 * administrators manage all of their MSP's channels, partner administrators their partner's and its sites'.
 * Secrets (webhook URL and signing secret, the Slack URL) are write-only: sent once when the channel is added,
 * never shown again; the list says only where a channel points.
 */
import { css, html, LitElement, nothing, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { ChannelView, NewChannelInput, OrgView, PartnerView, RelayClient, Session } from "../../relay-client/mod.ts";
import { Confirm } from "../components/confirm.ts";
import { fullTime } from "../format.ts";
import { Load } from "../load.ts";
import { panelStyles, shared } from "../styles.ts";
import { stackRowHeaders } from "./stack-rows.ts";

type ChannelType = ChannelView["type"];
type Scope = ChannelView["scope"];

const TYPE_TEXT: Readonly<Record<ChannelType, string>> = { email: "E-mail", webhook: "Webhook (signed)", slack: "Slack-compatible webhook", syslog: "Syslog" };
const PRIORITIES = ["low", "medium", "high", "critical"] as const;
const FACILITIES = ["local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7", "user", "daemon", "auth", "authpriv"] as const;

/** Where a channel sends to, from what the relay shows (never a secret). */
export function destination(c: Pick<ChannelView, "config">): string {
  const cfg = c.config;
  switch (cfg.type) {
    case "email":
      return cfg.to.join(", ");
    case "webhook":
      return `${cfg.origin}/…`;
    case "slack":
      return `https://${cfg.host}/…`;
    case "syslog":
      return `${cfg.host}:${cfg.port} over ${cfg.transport.toUpperCase()}, facility ${cfg.facility}`;
  }
}

export class OsirisAdminChannels extends LitElement {
  static override properties = { client: { attribute: false }, session: { attribute: false }, partners: { attribute: false }, orgs: { attribute: false } };
  static override styles = [
    shared,
    panelStyles,
    stackRowHeaders,
    css`
      td.dest {
        max-width: 20rem;
        overflow-wrap: break-word;
      }
    `,
  ];
  declare client: RelayClient;
  declare session: Session;
  declare partners: PartnerView[];
  declare orgs: OrgView[];

  readonly #list = new Load<{ channels: ChannelView[] }>(this, (signal) => this.client.channels(signal));
  #type: ChannelType = "email";
  #scope: Scope = "msp";
  #audience: "staff" | "client" = "staff";
  readonly #confirm = new Confirm(this);
  #message: { ok: boolean; text: string } | null = null;

  constructor() {
    super();
    this.partners = [];
    this.orgs = [];
  }

  get #msp(): boolean {
    return this.session.user.role === "msp_admin";
  }

  override willUpdate(): void {
    if (!this.#msp && this.#scope === "msp") this.#scope = "partner";
    if (this.#audience === "client" && (this.#type !== "email" || this.#scope !== "site")) this.#audience = "staff";
  }

  #covers(c: ChannelView): string {
    if (c.scope === "msp") return "Every clinic (whole MSP)";
    if (c.scope === "partner") return `Partner: ${this.partners.find((p) => p.id === c.partner_id)?.name ?? c.partner_id ?? "?"}`;
    for (const o of this.orgs) for (const s of o.sites) if (s.id === c.site_id) return `Site: ${s.name} (${o.name})`;
    return `Site: ${c.site_id ?? "?"}`;
  }

  #body(f: FormData): NewChannelInput {
    const v = (k: string) => String(f.get(k) ?? "").trim();
    const common = {
      name: v("cname"),
      scope: this.#scope,
      min_priority: v("cmin") as (typeof PRIORITIES)[number],
      ...(this.#scope === "partner" ? { partner_id: this.#msp ? v("cpartner") : (this.session.user.partner_id ?? "") } : {}),
      ...(this.#scope === "site" ? { site_id: v("csite") } : {}),
    };
    switch (this.#type) {
      case "email":
        return {
          ...common,
          type: "email",
          audience: this.#audience,
          to: v("cto")
            .split(/[\s,;]+/)
            .filter(Boolean),
          ...(this.#audience === "client" ? { digest: v("cdigest") as "off" | "daily" | "weekly" } : {}),
        };
      case "webhook":
        return { ...common, type: "webhook", url: v("curl"), secret: String(f.get("csecret") ?? "") };
      case "slack":
        return { ...common, type: "slack", url: v("cslack") };
      case "syslog":
        return { ...common, type: "syslog", host: v("chost"), port: Number(v("cport") || "514"), transport: v("ctransport") as "udp" | "tcp" | "tls", facility: v("cfacility") as (typeof FACILITIES)[number] };
    }
  }

  async #add(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    try {
      const c = await this.client.createChannel(this.#body(new FormData(form)));
      this.#message = { ok: true, text: `Channel “${c.name}” added${c.has_secret ? "; its secret is stored encrypted and will not be shown again" : ""}.` };
      form.reset();
      await this.#list.run(true);
    } catch (err) {
      this.#message = { ok: false, text: err instanceof Error ? err.message : String(err) };
    }
    // Secrets never stay in the page, whatever happened.
    for (const el of form.querySelectorAll<HTMLInputElement>("input[type=password]")) el.value = "";
    this.requestUpdate();
  }

  async #delete(c: ChannelView): Promise<void> {
    try {
      await this.client.deleteChannel(c.channel_id);
      this.#message = { ok: true, text: `Channel “${c.name}” deleted. Its delivery log is kept.` };
      await this.#list.run(true);
    } catch (err) {
      this.#message = { ok: false, text: err instanceof Error ? err.message : String(err) };
    }
    this.requestUpdate();
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>("#channels-h")?.focus();
  }

  #row(c: ChannelView): TemplateResult {
    return html`<tr>
      <th scope="row" data-label="Name">${c.name}</th>
      <td data-label="Kind">${TYPE_TEXT[c.type]}${c.type === "email" ? html`<br /><span class="muted">${c.audience === "client" ? `to clinic staff${c.digest !== "off" ? `, ${c.digest} digest` : ""}` : "to IT staff"}</span>` : nothing}</td>
      <td data-label="Covers">${this.#covers(c)}</td>
      <td data-label="Sends to" class="dest">${c.config.type === "email" ? c.config.to.map((a, i) => html`${i ? html`<br />` : nothing}${a}`) : destination(c)}</td>
      <td data-label="From priority">${c.min_priority}</td>
      <td data-label="Secret">${c.has_secret ? html`<span class="badge ok">Stored, write-only</span>` : html`<span class="muted">none</span>`}</td>
      <td data-label="Added">${fullTime(c.created_at)}</td>
      <td>
        ${this.#confirm.button(c.channel_id, { verb: "Delete", target: c.name, consequence: "Nothing more is sent to it; its delivery log is kept." }, () => this.#delete(c))}
      </td>
    </tr>`;
  }

  #typeFields(): TemplateResult {
    switch (this.#type) {
      case "email":
        return html`<div class="field"><label for="cto">Recipients <span class="hint">(e-mail addresses, separated by commas)</span></label><input id="cto" name="cto" required autocomplete="off" /></div>
          ${this.#scope === "site"
            ? html`<fieldset>
                <legend>Who reads it</legend>
                <label class="check"><input type="radio" name="caud" value="staff" .checked=${this.#audience === "staff"} @change=${() => ((this.#audience = "staff"), this.requestUpdate())} /> IT staff: full details</label>
                <label class="check"><input type="radio" name="caud" value="client" .checked=${this.#audience === "client"} @change=${() => ((this.#audience = "client"), this.requestUpdate())} /> Clinic staff: no clinic or patient details, a link to the portal, and the digest</label>
              </fieldset>`
            : nothing}
          ${this.#audience === "client"
            ? html`<div class="field"><label for="cdigest">Digest</label><select id="cdigest" name="cdigest"><option value="daily" selected>Daily</option><option value="weekly">Weekly</option><option value="off">Off</option></select></div>`
            : nothing}`;
      case "webhook":
        return html`<div class="field"><label for="curl">Webhook URL <span class="hint">(https; stored encrypted, never shown again)</span></label><input id="curl" name="curl" type="url" required autocomplete="off" /></div>
          <div class="field"><label for="csecret">Signing secret <span class="hint">(16 characters or more; each request carries an HMAC-SHA256 signature made with it)</span></label><input id="csecret" name="csecret" type="password" required minlength="16" autocomplete="new-password" /></div>`;
      case "slack":
        return html`<div class="field"><label for="cslack">Incoming webhook URL <span class="hint">(the URL is the credential: stored encrypted, never shown again)</span></label><input id="cslack" name="cslack" type="password" required autocomplete="off" /></div>`;
      case "syslog":
        return html`<div class="cols">
          <div class="field"><label for="chost">Syslog host</label><input id="chost" name="chost" required autocomplete="off" /></div>
          <div class="field"><label for="cport">Port</label><input id="cport" name="cport" type="number" min="1" max="65535" value="514" /></div>
          <div class="field"><label for="ctransport">Transport</label><select id="ctransport" name="ctransport"><option value="udp">UDP</option><option value="tcp">TCP</option><option value="tls">TLS</option></select></div>
          <div class="field"><label for="cfacility">Facility</label><select id="cfacility" name="cfacility">${FACILITIES.map((f) => html`<option>${f}</option>`)}</select></div>
        </div>`;
    }
  }

  #form(): TemplateResult {
    const sites = this.orgs.flatMap((o) => o.sites.map((s) => ({ id: s.id, name: `${s.name} (${o.name})` })));
    const scopes: [Scope, string][] = [...(this.#msp ? ([["msp", "Every clinic (whole MSP)"]] as [Scope, string][]) : []), ["partner", this.#msp ? "One partner's clinics" : "All our clinics (the partner)"], ["site", "One site"]];
    return html`<form @submit=${(e: SubmitEvent) => this.#add(e)} aria-labelledby="addch-h">
      <h3 id="addch-h">Add a channel</h3>
      <div class="cols">
        <div class="field"><label for="cname">Name</label><input id="cname" name="cname" required maxlength="200" autocomplete="off" /></div>
        <div class="field">
          <label for="ctype">Kind</label>
          <select id="ctype" @change=${(e: Event) => ((this.#type = (e.target as HTMLSelectElement).value as ChannelType), this.requestUpdate())}>
            ${(Object.keys(TYPE_TEXT) as ChannelType[]).map((t) => html`<option value=${t} ?selected=${t === this.#type}>${TYPE_TEXT[t]}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="cscope">Covers</label>
          <select id="cscope" @change=${(e: Event) => ((this.#scope = (e.target as HTMLSelectElement).value as Scope), this.requestUpdate())}>
            ${scopes.map(([s, t]) => html`<option value=${s} ?selected=${s === this.#scope}>${t}</option>`)}
          </select>
        </div>
        ${this.#scope === "partner" && this.#msp
          ? html`<div class="field"><label for="cpartner">Partner</label><select id="cpartner" name="cpartner" required>${this.partners.map((p) => html`<option value=${p.id}>${p.name}</option>`)}</select></div>`
          : nothing}
        ${this.#scope === "site" ? html`<div class="field"><label for="csite">Site</label><select id="csite" name="csite" required>${sites.map((s) => html`<option value=${s.id}>${s.name}</option>`)}</select></div>` : nothing}
        <div class="field">
          <label for="cmin">From priority</label>
          <select id="cmin" name="cmin">${PRIORITIES.map((p) => html`<option value=${p}>${p}</option>`)}</select>
        </div>
      </div>
      ${this.#typeFields()}
      <button type="submit">Add channel</button>
    </form>`;
  }

  override render(): TemplateResult {
    return html`<section class="card" aria-labelledby="channels-h">
      <h2 id="channels-h" tabindex="-1">Notification channels</h2>
      <p class="muted">Where escalations, missed response or resolution times, and clinic digests are sent.</p>
      <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"} role=${this.#message.ok ? "status" : "alert"}>${this.#message.text}</p>` : nothing}</div>
      ${this.#list.render("notification channels", (v) =>
        v.channels.length === 0
          ? html`<p>No channels yet: escalations are only shown in the dashboard.</p>`
          : html`<div class="table-wrap">
              <table class="stack">
                <caption class="sr-only">Notification channels</caption>
                <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Covers</th><th scope="col">Sends to</th><th scope="col">From priority</th><th scope="col">Secret</th><th scope="col">Added</th><th scope="col"><span class="sr-only">Delete</span></th></tr></thead>
                <tbody>${repeat(v.channels, (c) => c.channel_id, (c) => this.#row(c))}</tbody>
              </table>
            </div>`,
      )}
      ${this.#form()}
    </section>`;
  }
}

customElements.define("osiris-admin-channels", OsirisAdminChannels);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-admin-channels": OsirisAdminChannels;
  }
}
