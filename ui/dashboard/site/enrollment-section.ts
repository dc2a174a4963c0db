/**
 * Enrollment: claim codes for this site (created here, shown once as text and QR — the relay keeps only a
 * hash — then listed by state, revocable) and, for MSP staff, drop-shipped appliances waiting to be
 * accepted after comparing the fingerprint shown on the appliance's own status page or console.
 */
import { css, html, nothing, type TemplateResult } from "lit";
import type { ClaimCodeRecord, ClaimCodeWithQr, WaitingAppliance } from "../../relay-client/mod.ts";
import { Confirm } from "../components/confirm.ts";
import { fullTime, relative } from "../format.ts";
import { Load } from "../load.ts";
import { MSP_ROLES } from "../pages/page.ts";
import { shared } from "../styles.ts";
import { Section } from "./section.ts";

const STATE_CLASS: Readonly<Record<string, string>> = { active: "ok", used: "info", expired: "none", revoked: "bad" };

export class OsirisSiteEnrollment extends Section {
  static override styles = [
    shared,
    css`
      .code {
        font-size: 1.5rem;
        font-weight: 700;
        letter-spacing: 0.06em;
      }
      .newcode {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 1rem;
        align-items: start;
      }
      .newcode img {
        width: 12rem;
        height: 12rem;
        image-rendering: pixelated;
        border: 1px solid var(--line);
      }
      @media (max-width: 40rem) {
        .newcode {
          grid-template-columns: 1fr;
        }
      }
      pre {
        white-space: pre-wrap;
        background: var(--bg);
        padding: 0.5rem;
        border-radius: 6px;
      }
    `,
  ];
  readonly #codes = new Load<{ claim_codes: ClaimCodeRecord[] }>(this, () => this.client.claimCodes(this.siteId));
  readonly #pending = new Load<{ pending: WaitingAppliance[] }>(this, () => this.client.pendingAppliances(), { auto: false });
  #created: ClaimCodeWithQr | null = null;
  #error: string | null = null;
  #acceptMessage: { ok: boolean; text: string } | null = null;
  #busy = false;

  override connectedCallback(): void {
    super.connectedCallback();
    if (MSP_ROLES.includes(this.userRole)) void this.#pending.run();
  }

  async #create(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const days = Number(new FormData(e.target as HTMLFormElement).get("ttl"));
    this.#busy = true;
    this.#error = null;
    this.requestUpdate();
    try {
      this.#created = await this.client.createClaimCode(this.siteId, days);
      await this.#codes.run(true);
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLElement>("#new-code-h")?.focus();
    } catch (err) {
      this.#error = this.messageOf(err);
    } finally {
      this.#busy = false;
      this.requestUpdate();
    }
  }

  readonly #confirm = new Confirm(this);

  async #revoke(c: ClaimCodeRecord): Promise<void> {
    try {
      await this.client.revokeClaimCode(c.id);
      await this.#codes.run(true);
    } catch (err) {
      this.#error = this.messageOf(err);
      this.requestUpdate();
    }
  }

  async #accept(e: SubmitEvent, p: WaitingAppliance): Promise<void> {
    e.preventDefault();
    const typed = String(new FormData(e.target as HTMLFormElement).get("fingerprint") ?? "");
    try {
      await this.client.acceptPending(this.siteId, p.id, typed);
      this.#acceptMessage = { ok: true, text: `Accepted. The appliance enrolls at this site the next time it asks the relay (within a few minutes).` };
      await this.#pending.run(true);
    } catch (err) {
      this.#acceptMessage = { ok: false, text: this.messageOf(err) };
    }
    this.requestUpdate();
  }

  #newCode(c: ClaimCodeWithQr): TemplateResult {
    return html`<section class="card" aria-labelledby="new-code-h">
      <h3 id="new-code-h" tabindex="-1">New claim code</h3>
      <div class="newcode">
        <img src=${c.qr_png_data_url} alt="QR code holding the relay address and this claim code" />
        <div>
          <p class="code mono">${c.code}</p>
          <p>Valid once, until ${fullTime(c.expires_at)}. <strong>Copy it now:</strong> the relay keeps only a fingerprint of it and cannot show it again.</p>
          <p>On the appliance (or put the QR's two lines in <code>osiris.yaml</code> on a USB stick labelled <code>OSIRIS-CFG</code>):</p>
          <pre class="mono">osiris appliance enroll --config /etc/osiris/appliance.yaml --relay ${location.origin} --code ${c.code}</pre>
        </div>
      </div>
    </section>`;
  }

  #list(codes: ClaimCodeRecord[]): TemplateResult {
    const now = Date.now();
    if (codes.length === 0) return html`<p class="card">No claim codes yet.</p>`;
    return html`<div class="table-wrap">
      <table class="stack">
        <caption class="sr-only">Claim codes of this site</caption>
        <thead><tr><th scope="col">Created</th><th scope="col">By</th><th scope="col">State</th><th scope="col">Expires</th><th scope="col"><span class="sr-only">Action</span></th></tr></thead>
        <tbody>
          ${codes.map(
            (c) => html`<tr>
              <td>${fullTime(c.created_at)}</td>
              <td data-label="By">${c.created_by_email ?? c.created_by}</td>
              <td data-label="State"><span class="badge ${STATE_CLASS[c.state]}">${c.state === "used" ? "Used" : c.state === "active" ? "Active" : c.state === "expired" ? "Expired" : "Revoked"}</span>${c.used_by ? html` by <code>${c.used_by}</code>` : nothing}</td>
              <td data-label="Expires">${c.state === "active" ? relative(c.expires_at, now) : "—"}</td>
              <td>${c.state === "active" ? this.#confirm.button(c.id, { verb: "Revoke", target: `the code created ${fullTime(c.created_at)}`, consequence: "No appliance can enroll with it any more, even if the installer already has it." }, () => this.#revoke(c)) : nothing}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }

  #pendingList(list: WaitingAppliance[]): TemplateResult {
    if (list.length === 0) return html`<p class="card">No drop-shipped appliance is waiting.</p>`;
    return html`<ul class="plain stack">
      ${list.map(
        (p) => html`<li class="card">
          <p><strong>Waiting since ${fullTime(p.first_seen)}</strong> <span class="muted">(last asked ${relative(p.last_seen, Date.now())})</span></p>
          <p>Network addresses: <code>${p.macs.join(", ")}</code></p>
          <p>Key fingerprint starts with <code>${p.fingerprint_hint}</code> — read the whole fingerprint on the appliance's status page or console.</p>
          <form class="row" @submit=${(e: SubmitEvent) => this.#accept(e, p)}>
            <div class="field">
              <label for=${`fp-${p.id}`}>Fingerprint shown on the appliance</label>
              <input id=${`fp-${p.id}`} name="fingerprint" class="mono" required autocomplete="off" spellcheck="false" size="42" />
            </div>
            <button type="submit">Accept to this site</button>
          </form>
        </li>`,
      )}
    </ul>`;
  }

  override render(): TemplateResult {
    return html`
      <h2>Claim codes</h2>
      <p class="muted">
        A claim code lets one appliance join this site. Give it to whoever installs the appliance.${MSP_ROLES.includes(this.userRole)
          ? html` To revoke an enrolled appliance (lost, stolen, replaced), open its card on the Evidence tab.`
          : nothing}
      </p>
      <form class="row" @submit=${this.#create}>
        <div class="field">
          <label for="ttl">Valid for</label>
          <select id="ttl" name="ttl">
            <option value="7">7 days</option>
            <option value="30" selected>30 days</option>
            <option value="90">90 days</option>
          </select>
        </div>
        <button type="submit" ?disabled=${this.#busy}>${this.#busy ? "Creating…" : "Create claim code"}</button>
      </form>
      ${this.#error ? html`<p class="error" role="alert">${this.#error}</p>` : nothing}
      ${this.#created ? this.#newCode(this.#created) : nothing}
      <h3 class="sr-only">All claim codes</h3>
      ${this.#codes.render("the claim codes", (v) => this.#list(v.claim_codes))}
      ${MSP_ROLES.includes(this.userRole)
        ? html`<h2>Drop-shipped appliances waiting</h2>
            <p class="muted">An appliance shipped without a code registers itself here. Accept it only after reading the fingerprint on its own status page or console and typing it below.</p>
            <div aria-live="polite">${this.#acceptMessage ? html`<p class=${this.#acceptMessage.ok ? "success" : "error"}>${this.#acceptMessage.text}</p>` : nothing}</div>
            ${this.#pending.render("the waiting appliances", (v) => this.#pendingList(v.pending))}`
        : nothing}
    `;
  }
}

customElements.define("osiris-site-enrollment", OsirisSiteEnrollment);
