/**
 * `<osiris-login-page>`: sign in with e-mail and password, then (when the account has it) the 6-digit code
 * from an authenticator app; a locked account says for how long. Clinic users sign in by e-mailed link:
 * `/login#magic=TOKEN` is exchanged for a session at once (the token is in the fragment, which browsers
 * never send to a server, and is removed from the address bar before anything else happens).
 */
import { css, html, LitElement, nothing, type TemplateResult } from "lit";
import { RelayApiError, type RelayClient, type Session } from "../../relay-client/mod.ts";
import { shared } from "../styles.ts";
import { BAD_LINK, emailProblem, isMagicToken, refusalText, signInProblems, type FieldErrors } from "./login-words.ts";

type Step = "password" | "totp";
type Field = keyof FieldErrors | "magic_email";

export class OsirisLoginPage extends LitElement {
  static override properties = { client: { attribute: false }, next: { attribute: false } };
  static override styles = [
    shared,
    css`
      :host {
        display: block;
        max-width: 26rem;
        margin: 3rem auto 0;
      }
      .logo {
        font-weight: 700;
        font-size: 1.3rem;
        margin-bottom: 1rem;
      }
      form {
        margin-top: 1rem;
      }
      details {
        margin-top: 1.5rem;
      }
      summary {
        cursor: pointer;
        color: var(--link, #0b5c8e);
      }
      .field-error {
        color: var(--bad-ink);
        font-weight: 600;
        margin: 0.3rem 0 0;
      }
      [aria-invalid="true"] {
        border-color: var(--bad-ink);
        outline: 2px solid var(--bad-ink);
      }
    `,
  ];
  declare client: RelayClient;
  declare next: string | null;
  #step: Step = "password";
  #busy = false;
  #error: string | null = null;
  #notice: string | null = null;
  #email = "";
  #password = "";
  /** Problems found before sending, shown under their fields. */
  #fields: Partial<Record<Field, string>> = {};

  override connectedCallback(): void {
    super.connectedCallback();
    document.title = "Sign in · OsirisCare";
    window.addEventListener("hashchange", this.#onHash);
    this.#onHash();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener("hashchange", this.#onHash);
  }

  /** A link opened while this page is already showing changes only the fragment. */
  readonly #onHash = (): void => {
    const m = /^#magic=([A-Za-z0-9_-]{1,100})$/.exec(location.hash);
    if (!m) {
      // A fragment that starts like a link's but cannot be one (cut short when copied, say).
      if (location.hash.startsWith("#magic=")) {
        history.replaceState(null, "", location.pathname + location.search);
        this.#error = BAD_LINK;
        this.#fields = {};
        this.requestUpdate();
      }
      return;
    }
    history.replaceState(null, "", location.pathname + location.search);
    this.#fields = {};
    if (!isMagicToken(m[1]!)) {
      this.#error = BAD_LINK;
      this.requestUpdate();
      return;
    }
    void this.#consume(m[1]!);
  };

  async #consume(token: string): Promise<void> {
    this.#busy = true;
    this.#error = null;
    this.#notice = "Signing you in with the link from your e-mail…";
    this.requestUpdate();
    try {
      this.#done(await this.client.consumeMagicLink(token));
    } catch (e) {
      this.#notice = null;
      this.#error = refusalText(e, "magic");
    } finally {
      this.#busy = false;
      this.requestUpdate();
    }
  }

  #done(session: Session): void {
    this.dispatchEvent(new CustomEvent("osiris-session", { detail: { session, next: this.next }, bubbles: true, composed: true }));
  }

  async #submit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    if (this.#step === "password") {
      this.#email = String(form.get("email") ?? "");
      this.#password = String(form.get("password") ?? "");
    }
    const code = this.#step === "totp" ? String(form.get("totp") ?? "").replace(/\s/g, "") : undefined;
    this.#error = null;
    this.#notice = null;
    if (this.#step === "password") {
      this.#fields = signInProblems(this.#email, this.#password);
      if (this.#fields.email || this.#fields.password) return this.#focusInvalid();
      this.#email = this.#email.trim();
    } else if (!/^\d{6,8}$/.test(code ?? "")) {
      this.#error = "Enter the 6-digit code from your authenticator app.";
      this.requestUpdate();
      return;
    }
    this.#busy = true;
    this.requestUpdate();
    try {
      this.#done(await this.client.login(this.#email, this.#password, code));
      this.#password = "";
    } catch (err) {
      if (err instanceof RelayApiError && err.code === "totp_required") {
        this.#step = "totp";
        this.#error = null;
        this.requestUpdate();
        await this.updateComplete;
        this.renderRoot.querySelector<HTMLInputElement>("#totp")?.focus();
      } else {
        this.#error = refusalText(err, this.#step);
        if (err instanceof RelayApiError && err.code === "account_locked") this.#step = "password";
      }
    } finally {
      this.#busy = false;
      this.requestUpdate();
    }
  }

  async #magic(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const email = String(new FormData(e.target as HTMLFormElement).get("magic_email") ?? "").trim();
    const problem = emailProblem(email);
    this.#fields = problem ? { magic_email: problem } : {};
    if (problem) return this.#focusInvalid();
    try {
      await this.client.requestMagicLink(email);
      this.#notice = "If this address belongs to a clinic account, a sign-in link is on its way. It works once, for 30 minutes.";
      this.#error = null;
    } catch (err) {
      this.#notice = null;
      this.#error = refusalText(err, "request");
    }
    this.requestUpdate();
  }

  /** Shows the field problems and moves focus to the first field that has one. */
  async #focusInvalid(): Promise<void> {
    this.requestUpdate();
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }

  /** An input's error attributes and the message under it. */
  #problem(field: Field): { invalid: "true" | "false"; describedBy: string | typeof nothing; message: TemplateResult | typeof nothing } {
    const text = this.#fields[field];
    return text
      ? { invalid: "true", describedBy: `${field}-error`, message: html`<p class="field-error" id=${`${field}-error`}>${text}</p>` }
      : { invalid: "false", describedBy: nothing, message: nothing };
  }

  override render(): TemplateResult {
    const [email, password, magic] = [this.#problem("email"), this.#problem("password"), this.#problem("magic_email")];
    return html`
      <div class="card">
        <p class="logo">OsirisCare</p>
        <h1 tabindex="-1">Sign in</h1>
        ${this.#notice ? html`<p class="success" role="status">${this.#notice}</p>` : nothing}
        ${this.#error ? html`<p class="error" role="alert">${this.#error}</p>` : nothing}
        <form @submit=${this.#submit} novalidate>
          ${this.#step === "password"
            ? html`
                <div class="field">
                  <label for="email">E-mail</label>
                  <input id="email" name="email" type="email" autocomplete="username" required .value=${this.#email} aria-invalid=${email.invalid} aria-describedby=${email.describedBy} />
                  ${email.message}
                </div>
                <div class="field">
                  <label for="password">Password</label>
                  <input id="password" name="password" type="password" autocomplete="current-password" required aria-invalid=${password.invalid} aria-describedby=${password.describedBy} />
                  ${password.message}
                </div>
              `
            : html`
                <p>Signing in as <strong>${this.#email}</strong>.</p>
                <div class="field">
                  <label for="totp">Authenticator code <span class="hint">(6 digits from your authenticator app)</span></label>
                  <input id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" maxlength="8" required />
                </div>
              `}
          <button type="submit" ?disabled=${this.#busy}>${this.#busy ? "Signing in…" : this.#step === "totp" ? "Verify" : "Sign in"}</button>
          ${this.#step === "totp" ? html` <button type="button" class="secondary" @click=${() => ((this.#step = "password"), (this.#error = null), this.requestUpdate())}>Back</button>` : nothing}
        </form>
        <details>
          <summary>Clinic staff: sign in with a link by e-mail</summary>
          <form @submit=${this.#magic} novalidate>
            <div class="field">
              <label for="magic_email">Your e-mail</label>
              <input id="magic_email" name="magic_email" type="email" autocomplete="email" required aria-invalid=${magic.invalid} aria-describedby=${magic.describedBy} />
              ${magic.message}
            </div>
            <button type="submit" class="secondary">E-mail me a sign-in link</button>
          </form>
        </details>
      </div>
    `;
  }
}

customElements.define("osiris-login-page", OsirisLoginPage);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-login-page": OsirisLoginPage;
  }
}
