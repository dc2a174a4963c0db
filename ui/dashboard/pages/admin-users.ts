/**
 * `<osiris-admin-users>`: who may sign in. MSP administrators see every user of their MSP, create users of
 * any role (partner roles for a partner, clinic roles for an organisation) and disable users (their sessions
 * end at once); partner administrators see, create and disable their partner's and their clinics' users
 * (nobody disables themselves or the MSP's last active admin). Each row says when the user
 * last signed in. Clinic users may have no password: they sign in with an e-mailed link.
 */
import { css, html, LitElement, nothing, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { NewUserInput, OrgView, PartnerView, RelayClient, Role, Session, UserListing } from "../../relay-client/mod.ts";
import { Confirm } from "../components/confirm.ts";
import { fullTime, ROLE_TEXT } from "../format.ts";
import { Load } from "../load.ts";
import { panelStyles, shared } from "../styles.ts";
import { stackRowHeaders } from "./stack-rows.ts";

/** The relay's password policy (relay/auth/password.ts MIN_PASSWORD_LENGTH), checked by the browser first. */
const MIN_PASSWORD = 12;

/** Roles a caller may grant, as relay/auth/users.ts mayCreateRole allows. */
export function grantableRoles(callerRole: string): Role[] {
  if (callerRole === "msp_admin") return ["msp_admin", "msp_tech", "partner_admin", "partner_tech", "partner_billing", "client_owner", "client_viewer"];
  if (callerRole === "partner_admin") return ["partner_admin", "partner_tech", "partner_billing", "client_owner", "client_viewer"];
  return [];
}

export class OsirisAdminUsers extends LitElement {
  static override properties = { client: { attribute: false }, session: { attribute: false }, partners: { attribute: false }, orgs: { attribute: false } };
  static override styles = [
    shared,
    panelStyles,
    stackRowHeaders,
    css`
      td.email {
        overflow-wrap: anywhere;
      }
    `,
  ];
  declare client: RelayClient;
  declare session: Session;
  declare partners: PartnerView[];
  declare orgs: OrgView[];

  readonly #list = new Load<{ users: UserListing[] }>(this, (signal) => this.client.users(signal));
  #role: Role = "msp_tech";
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
    const roles = grantableRoles(this.session.user.role);
    if (!roles.includes(this.#role)) this.#role = roles.includes("partner_tech") ? "partner_tech" : (roles[0] ?? "msp_tech");
  }

  #tenant(u: UserListing): string {
    if (u.org_id) return `Clinic: ${this.orgs.find((o) => o.id === u.org_id)?.name ?? u.org_id}`;
    if (u.partner_id) return `Partner: ${this.partners.find((p) => p.id === u.partner_id)?.name ?? u.partner_id}`;
    return "The MSP";
  }

  #body(f: FormData): NewUserInput {
    const v = (k: string) => String(f.get(k) ?? "").trim();
    const role = this.#role;
    const password = String(f.get("upassword") ?? "");
    return {
      email: v("uemail"),
      name: v("uname"),
      role,
      ...(role.startsWith("partner_") ? { partner_id: this.#msp ? v("upartner") : (this.session.user.partner_id ?? "") } : {}),
      ...(role.startsWith("client_") ? { org_id: v("uorg") } : {}),
      ...(password ? { password } : {}),
    };
  }

  async #create(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    try {
      const u = await this.client.createUser(this.#body(new FormData(form)));
      this.#message = { ok: true, text: `User ${u.email} created as ${ROLE_TEXT[u.role] ?? u.role}${u.role.startsWith("client_") && !new FormData(form).get("upassword") ? ": they sign in with a link e-mailed to them" : ""}.` };
      form.reset();
      await this.#list.run(true);
    } catch (err) {
      this.#message = { ok: false, text: err instanceof Error ? err.message : String(err) };
    }
    // The password never stays in the page, whatever happened.
    for (const el of form.querySelectorAll<HTMLInputElement>("input[type=password]")) el.value = "";
    this.requestUpdate();
  }

  async #disable(u: UserListing): Promise<void> {
    try {
      await this.client.disableUser(u.id);
      this.#message = { ok: true, text: `${u.email} is disabled: their sessions have ended and they can no longer sign in.` };
      await this.#list.run(true);
    } catch (err) {
      this.#message = { ok: false, text: err instanceof Error ? err.message : String(err) };
    }
    this.requestUpdate();
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>("#users-h")?.focus();
  }

  #action(u: UserListing): TemplateResult | typeof nothing {
    if (u.disabled || u.id === this.session.user.id) return nothing;
    return this.#confirm.button(u.id, { verb: "Disable", target: u.email, consequence: "Their sessions end at once and they can no longer sign in." }, () => this.#disable(u));
  }

  #row(u: UserListing): TemplateResult {
    return html`<tr>
      <th scope="row" data-label="Name">${u.name}${u.id === this.session.user.id ? html` <span class="muted">(you)</span>` : nothing}</th>
      <td data-label="E-mail" class="email">${u.email}</td>
      <td data-label="Role">${ROLE_TEXT[u.role] ?? u.role}</td>
      <td data-label="Belongs to">${this.#tenant(u)}</td>
      <td data-label="Two-factor">${u.totp_enabled ? "On" : html`<span class="muted">Off</span>`}</td>
      <td data-label="Created">${fullTime(u.created_at)}</td>
      <td data-label="Last sign-in">${u.last_login_at ? fullTime(u.last_login_at) : html`<span class="muted">Never</span>`}</td>
      <td data-label="Status">${u.disabled ? html`<span class="badge bad">Disabled</span>` : html`<span class="badge ok">Active</span>`}</td>
      <td>${this.#action(u)}</td>
    </tr>`;
  }

  #form(): TemplateResult {
    const role = this.#role;
    const client = role.startsWith("client_");
    return html`<form @submit=${(e: SubmitEvent) => this.#create(e)} aria-labelledby="adduser-h">
      <h3 id="adduser-h">Add a user</h3>
      <div class="cols">
        <div class="field"><label for="uemail">E-mail address</label><input id="uemail" name="uemail" type="email" required maxlength="254" autocomplete="off" /></div>
        <div class="field"><label for="uname">Full name</label><input id="uname" name="uname" required maxlength="200" autocomplete="off" /></div>
        <div class="field">
          <label for="urole">Role</label>
          <select id="urole" @change=${(e: Event) => ((this.#role = (e.target as HTMLSelectElement).value as Role), this.requestUpdate())}>
            ${grantableRoles(this.session.user.role).map((r) => html`<option value=${r} ?selected=${r === role}>${ROLE_TEXT[r] ?? r}</option>`)}
          </select>
        </div>
        ${role.startsWith("partner_") && this.#msp
          ? html`<div class="field"><label for="upartner">Of the partner</label><select id="upartner" name="upartner" required><option value="">Choose a partner</option>${this.partners.map((p) => html`<option value=${p.id}>${p.name}</option>`)}</select></div>`
          : nothing}
        ${client
          ? html`<div class="field"><label for="uorg">Of the clinic</label><select id="uorg" name="uorg" required><option value="">Choose a clinic</option>${this.orgs.map((o) => html`<option value=${o.id}>${o.name}</option>`)}</select></div>`
          : nothing}
        <div class="field">
          <label for="upassword">Password <span class="hint">(${client ? "optional: without one they sign in with an e-mailed link" : `at least ${MIN_PASSWORD} characters; give it to them in person or over the phone`})</span></label>
          <input id="upassword" name="upassword" type="password" ?required=${!client} minlength=${MIN_PASSWORD} maxlength="256" autocomplete="new-password" />
        </div>
      </div>
      <button type="submit">Add user</button>
    </form>`;
  }

  override render(): TemplateResult {
    return html`<section class="card" aria-labelledby="users-h">
      <h2 id="users-h" tabindex="-1">Users</h2>
      <p class="muted">${this.#msp ? "Everyone who may sign in to this MSP's dashboard and clinic portal." : "Your partner's staff and your clinics' users."}</p>
      <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"} role=${this.#message.ok ? "status" : "alert"}>${this.#message.text}</p>` : nothing}</div>
      ${this.#list.render("users", (v) =>
        v.users.length === 0
          ? html`<p>No users yet.</p>`
          : html`<div class="table-wrap">
              <table class="stack">
                <caption class="sr-only">Users</caption>
                <thead><tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">Belongs to</th><th scope="col">Two-factor</th><th scope="col">Created</th><th scope="col">Last sign-in</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Disable</span></th></tr></thead>
                <tbody>${repeat(v.users, (u) => u.id, (u) => this.#row(u))}</tbody>
              </table>
            </div>`,
      )}
      ${this.#form()}
    </section>`;
  }
}

customElements.define("osiris-admin-users", OsirisAdminUsers);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-admin-users": OsirisAdminUsers;
  }
}
