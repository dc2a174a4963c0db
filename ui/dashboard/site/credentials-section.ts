/**
 * Host credentials, write-only: the list shows what is stored (target, kind, user name, last validation),
 * never a secret; the form sends a secret once and clears itself. "Test" asks the site's appliance to sign in
 * with it and report the outcome. Shown as not available on a relay without the credential routes.
 */
import { html, nothing, type TemplateResult } from "lit";
import { CREDENTIAL_KINDS, type CredentialKind, type CredentialSummary } from "../../relay-client/mod.ts";
import { Confirm } from "../components/confirm.ts";
import { fullTime } from "../format.ts";
import { Load } from "../load.ts";
import { Section } from "./section.ts";

const KIND_TEXT: Readonly<Record<CredentialKind, string>> = { ssh_password: "SSH password", ssh_key: "SSH private key", winrm_basic: "WinRM (basic)", winrm_ntlm: "WinRM (NTLM)" };
const VALIDATION_TEXT: Readonly<Record<string, [string, string]>> = { pending: ["Test running", "info"], success: ["Works", "ok"], failed: ["Failed", "bad"], expired: ["No answer", "warn"] };

export class OsirisSiteCredentials extends Section {
  readonly #list = new Load<{ credentials: CredentialSummary[] }>(this, () => this.client.credentials(this.siteId));
  #message: { ok: boolean; text: string } | null = null;
  #kind: CredentialKind = "winrm_ntlm";
  readonly #confirm = new Confirm(this);

  async #store(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const d = new FormData(form);
    try {
      await this.client.storeCredential(this.siteId, { target: String(d.get("target") ?? "").trim(), kind: this.#kind, username: String(d.get("username") ?? "").trim(), secret: String(d.get("secret") ?? "") });
      this.#message = { ok: true, text: "Stored, encrypted. The appliance receives it sealed to its own key at its next sync." };
      form.reset();
      await this.#list.run(true);
    } catch (err) {
      this.#message = { ok: false, text: this.messageOf(err) };
      (form.elements.namedItem("secret") as HTMLInputElement | null)?.focus();
    }
    this.requestUpdate();
  }

  async #act(c: CredentialSummary, what: "validate" | "delete"): Promise<void> {
    try {
      if (what === "validate") {
        const r = await this.client.validateCredential(c.id);
        this.#message = { ok: true, text: `Test sent to the appliance for host ${r.host_id}.` };
      } else {
        await this.client.deleteCredential(c.id);
        this.#message = { ok: true, text: "Deleted. Appliances drop it at their next sync." };
      }
      await this.#list.run(true);
    } catch (err) {
      this.#message = { ok: false, text: this.messageOf(err) };
    }
    this.requestUpdate();
  }

  #table(list: CredentialSummary[]): TemplateResult {
    if (list.length === 0) return html`<p class="card">No credentials stored for this site.</p>`;
    return html`<div class="table-wrap">
      <table class="stack">
        <caption class="sr-only">Stored credentials (secrets are never shown)</caption>
        <thead><tr><th scope="col">Hosts</th><th scope="col">Kind</th><th scope="col">User name</th><th scope="col">Last test</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>
          ${list.map((c) => {
            const v = c.last_validation;
            const [text, cls] = v ? (VALIDATION_TEXT[v.status] ?? [v.status, "none"]) : ["Not tested", "none"];
            return html`<tr>
              <td><code>${c.target}</code></td>
              <td data-label="Kind">${KIND_TEXT[c.kind] ?? c.kind}</td>
              <td data-label="User name"><code>${c.username}</code></td>
              <td data-label="Last test"><span class="badge ${cls}">${text}</span>${v?.detail ? html` <span class="muted">${v.detail}</span>` : nothing}${v ? html`<br /><span class="muted">${fullTime(v.requested_at)}</span>` : nothing}</td>
              <td class="row">
                <button type="button" class="secondary" @click=${() => this.#act(c, "validate")}>Test<span class="sr-only"> ${c.username} on ${c.target}</span></button>
                ${this.#confirm.button(c.id, { verb: "Delete", target: `${c.username} on ${c.target}`, consequence: "Appliances drop it at their next sync and can no longer check these hosts with it; the secret cannot be shown or restored." }, () => this.#act(c, "delete"))}
              </td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>`;
  }

  override render(): TemplateResult {
    return html`
      <h2>Credentials</h2>
      <p class="muted">Passwords and keys the appliance uses to check this site's computers. They are write-only: stored encrypted, delivered sealed to the appliance, and never shown again — not even here.</p>
      <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"} role=${this.#message.ok ? "status" : "alert"}>${this.#message.text}</p>` : nothing}</div>
      ${this.#list.render(
        "site credentials",
        (v) => html`${this.#table(v.credentials)}
          <h3>Add a credential</h3>
          <form class="card" @submit=${this.#store} autocomplete="off">
            <div class="field"><label for="target">Hosts <span class="hint">(a host id, a pattern like ws-*, or * for every host)</span></label><input id="target" name="target" required spellcheck="false" /></div>
            <div class="field">
              <label for="kind">Kind</label>
              <select id="kind" @change=${(e: Event) => ((this.#kind = (e.target as HTMLSelectElement).value as CredentialKind), this.requestUpdate())}>
                ${CREDENTIAL_KINDS.map((k) => html`<option value=${k} ?selected=${k === this.#kind}>${KIND_TEXT[k]}</option>`)}
              </select>
            </div>
            <div class="field"><label for="username">User name</label><input id="username" name="username" required autocomplete="off" spellcheck="false" /></div>
            <div class="field">
              <label for="secret">${this.#kind === "ssh_key" ? "Private key" : "Password"} <span class="hint">(sent once, never shown again)</span></label>
              ${this.#kind === "ssh_key"
                ? html`<textarea id="secret" name="secret" rows="5" class="mono" required spellcheck="false"></textarea>`
                : html`<input id="secret" name="secret" type="password" required autocomplete="new-password" />`}
            </div>
            <button type="submit">Store credential</button>
          </form>`,
      )}
    `;
  }
}

customElements.define("osiris-site-credentials", OsirisSiteCredentials);
