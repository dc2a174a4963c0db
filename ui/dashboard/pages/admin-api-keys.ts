/**
 * `<osiris-admin-api-keys>`: API keys for automation and AI assistants (MCP). MSP administrators manage the
 * MSP's own keys (an MSP role) and any partner's keys (a partner role); partner administrators their
 * partner's. A new key's text is shown once, right after it is created, with a copy button and a warning:
 * the relay keeps only its hash. A revoked key is refused at once (401 api_key_revoked), an expired one too
 * (401 api_key_expired): every new key expires, after 90 days unless its creator picks another lifetime, and
 * the list says when (keys made before keys expired say "never", so an administrator can replace them).
 */
import { css, html, LitElement, nothing, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { ApiKeyRecord, PartnerView, RelayClient, Role, Session } from "../../relay-client/mod.ts";
import { Confirm } from "../components/confirm.ts";
import { fullTime, relative, ROLE_TEXT } from "../format.ts";
import { Load } from "../load.ts";
import { panelStyles, shared } from "../styles.ts";
import { stackRowHeaders } from "./stack-rows.ts";

/** Roles a key may take, by whose key it is (relay/auth/api-keys.ts); the first is the relay's default. */
const KEY_ROLES: Readonly<Record<"msp" | "partner", readonly Role[]>> = { msp: ["msp_tech", "msp_admin"], partner: ["partner_tech", "partner_admin", "partner_billing"] };
/** Lifetimes offered, in days (the relay allows 1 to API_KEY_MAX_DAYS); the one selected is the relay's default, API_KEY_DEFAULT_DAYS. */
const KEY_LIFETIMES = [30, 90, 180, 365] as const;
const DEFAULT_LIFETIME = 90;
/** How long before its end a key is flagged as expiring soon: time to make and roll out its successor. */
const EXPIRING_SOON_MS = 14 * 86_400_000;

export class OsirisAdminApiKeys extends LitElement {
  static override properties = { client: { attribute: false }, session: { attribute: false }, partners: { attribute: false } };
  static override styles = [
    shared,
    panelStyles,
    stackRowHeaders,
    css`
      .owner {
        max-width: 24rem;
      }
      .secret {
        border: 2px solid var(--warn-ink);
        background: var(--warn-bg);
        border-radius: 8px;
        padding: 0.75rem 1rem;
        margin: 1rem 0;
      }
      .secret h3 {
        margin-top: 0;
      }
      .secret input {
        font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
        width: 100%;
        background: #fff;
      }
      .secret .row {
        margin-top: 0.5rem;
        align-items: center;
      }
    `,
  ];
  declare client: RelayClient;
  declare session: Session;
  declare partners: PartnerView[];

  /** Whose keys are shown and created: null is the MSP's own. */
  #owner: string | null = null;
  readonly #list = new Load<{ api_keys: ApiKeyRecord[] }>(this, (signal) => this.client.apiKeys(this.#owner, signal), { auto: false });
  #created: { name: string; key: string; owner: string; expires_at: string } | null = null;
  #copied = "";
  readonly #confirm = new Confirm(this);
  #message: { ok: boolean; text: string } | null = null;

  constructor() {
    super();
    this.partners = [];
  }

  get #msp(): boolean {
    return this.session.user.role === "msp_admin";
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#owner = this.#msp ? null : (this.session.user.partner_id ?? null);
    void this.#list.run();
  }

  #ownerName(owner: string | null): string {
    return owner === null ? "the MSP" : (this.partners.find((p) => p.id === owner)?.name ?? (this.#msp ? owner : "your partner"));
  }

  async #create(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    const name = String(f.get("kname") ?? "").trim();
    try {
      const k = await this.client.createApiKey(this.#owner, { name, role: String(f.get("krole")) as Role, expires_in_days: Number(f.get("kdays")) });
      this.#created = { name, key: k.key, owner: this.#ownerName(this.#owner), expires_at: k.expires_at };
      this.#copied = "";
      this.#message = null;
      form.reset();
      await this.#list.run(true);
    } catch (err) {
      this.#message = { ok: false, text: err instanceof Error ? err.message : String(err) };
    }
    this.requestUpdate();
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLInputElement>("#newkey")?.focus();
  }

  async #copy(): Promise<void> {
    const input = this.renderRoot.querySelector<HTMLInputElement>("#newkey");
    input?.select();
    try {
      await navigator.clipboard.writeText(this.#created?.key ?? "");
      this.#copied = "Copied to the clipboard.";
    } catch {
      this.#copied = "The browser did not allow copying: the key is selected, press Ctrl+C (⌘C on a Mac).";
    }
    this.requestUpdate();
  }

  async #revoke(k: ApiKeyRecord): Promise<void> {
    try {
      await this.client.revokeApiKey(k.id);
      this.#message = { ok: true, text: `Key “${k.name}” revoked: anything still using it is refused from now on.` };
      await this.#list.run(true);
    } catch (err) {
      this.#message = { ok: false, text: err instanceof Error ? err.message : String(err) };
    }
    this.requestUpdate();
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>("#keys-h")?.focus();
  }

  #action(k: ApiKeyRecord): TemplateResult | typeof nothing {
    if (k.revoked_at) return nothing;
    return this.#confirm.button(k.id, { verb: "Revoke", target: k.name, consequence: "Anything still using this key is refused from then on; it cannot be turned back on." }, () => this.#revoke(k));
  }

  #status(k: ApiKeyRecord, now: number): TemplateResult {
    if (k.revoked_at) return html`<span class="badge bad">Revoked</span> <span class="muted">${fullTime(k.revoked_at)}</span>`;
    const end = k.expires_at === null ? null : Date.parse(k.expires_at);
    if (end !== null && end <= now) return html`<span class="badge bad">Expired</span>`;
    if (end !== null && end - now <= EXPIRING_SOON_MS) return html`<span class="badge warn">Expires soon</span>`;
    return html`<span class="badge ok">Active</span>`;
  }

  #expires(k: ApiKeyRecord, now: number): TemplateResult {
    if (k.expires_at === null) return html`<span class="muted">never (made before keys expired: replace it)</span>`;
    return html`${fullTime(k.expires_at)} <span class="muted">(${relative(k.expires_at, now)})</span>`;
  }

  #row(k: ApiKeyRecord): TemplateResult {
    const now = Date.now();
    return html`<tr>
      <th scope="row" data-label="Name">${k.name}</th>
      <td data-label="Acts as">${ROLE_TEXT[k.role] ?? k.role}</td>
      <td data-label="Created">${fullTime(k.created_at)}</td>
      <td data-label="Last used">${k.last_used ? relative(k.last_used, now) : html`<span class="muted">never</span>`}</td>
      <td data-label="Expires">${this.#expires(k, now)}</td>
      <td data-label="Status">${this.#status(k, now)}</td>
      <td>${this.#action(k)}</td>
    </tr>`;
  }

  #secret(): TemplateResult | typeof nothing {
    const c = this.#created;
    if (!c) return nothing;
    return html`<div class="secret" role="region" aria-labelledby="newkey-h">
      <h3 id="newkey-h">New API key “${c.name}” for ${c.owner}</h3>
      <p><strong>Copy this key now: it is shown only this once.</strong> The relay stores only a hash of it, so nobody can show it again. If it is lost, revoke it and create a new one.</p>
      <label for="newkey">API key</label>
      <input id="newkey" readonly .value=${c.key} @focus=${(e: FocusEvent) => (e.target as HTMLInputElement).select()} />
      <p class="hint">Send it as the header <code>Authorization: Bearer osk_…</code>. It stops working on ${fullTime(c.expires_at)}: create its successor before then.</p>
      <div class="row">
        <button type="button" @click=${() => this.#copy()}>Copy key</button>
        <button type="button" class="secondary" @click=${() => ((this.#created = null), (this.#copied = ""), this.requestUpdate())}>I have stored it: hide the key</button>
        <span role="status">${this.#copied}</span>
      </div>
    </div>`;
  }

  override render(): TemplateResult {
    const roles = KEY_ROLES[this.#owner === null ? "msp" : "partner"];
    return html`<section class="card" aria-labelledby="keys-h">
      <h2 id="keys-h" tabindex="-1">API keys</h2>
      <p class="muted">For scripts and AI assistants (MCP). A key acts with the role it was created with, within its owner's clinics.</p>
      ${this.#msp
        ? html`<div class="field owner">
            <label for="kowner">Keys of</label>
            <select id="kowner" @change=${(e: Event) => ((this.#owner = (e.target as HTMLSelectElement).value || null), this.#confirm.cancel(), void this.#list.run())}>
              <option value="" ?selected=${this.#owner === null}>The MSP (its own keys)</option>
              ${this.partners.map((p) => html`<option value=${p.id} ?selected=${this.#owner === p.id}>Partner: ${p.name}</option>`)}
            </select>
          </div>`
        : nothing}
      <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"} role=${this.#message.ok ? "status" : "alert"}>${this.#message.text}</p>` : nothing}</div>
      ${this.#secret()}
      ${this.#list.render("API keys", (v) =>
        v.api_keys.length === 0
          ? html`<p>No API keys for ${this.#ownerName(this.#owner)} yet.</p>`
          : html`<div class="table-wrap">
              <table class="stack">
                <caption class="sr-only">API keys of ${this.#ownerName(this.#owner)}</caption>
                <thead><tr><th scope="col">Name</th><th scope="col">Acts as</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Revoke</span></th></tr></thead>
                <tbody>${repeat(v.api_keys, (k) => k.id, (k) => this.#row(k))}</tbody>
              </table>
            </div>`,
      )}
      <form @submit=${(e: SubmitEvent) => this.#create(e)} aria-labelledby="addkey-h">
        <h3 id="addkey-h">Create a key for ${this.#ownerName(this.#owner)}</h3>
        <div class="cols">
          <div class="field"><label for="kname">Key name <span class="hint">(what uses it)</span></label><input id="kname" name="kname" required maxlength="200" autocomplete="off" /></div>
          <div class="field">
            <label for="krole">Acts as</label>
            <select id="krole" name="krole">${roles.filter((r) => r !== "msp_admin" || this.#msp).map((r) => html`<option value=${r}>${ROLE_TEXT[r] ?? r}</option>`)}</select>
          </div>
          <div class="field">
            <label for="kdays">Expires after</label>
            <select id="kdays" name="kdays">${KEY_LIFETIMES.map((d) => html`<option value=${d} ?selected=${d === DEFAULT_LIFETIME}>${d} days</option>`)}</select>
          </div>
        </div>
        <button type="submit">Create key</button>
      </form>
    </section>`;
  }
}

customElements.define("osiris-admin-api-keys", OsirisAdminApiKeys);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-admin-api-keys": OsirisAdminApiKeys;
  }
}
