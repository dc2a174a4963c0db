/**
 * The site's appliances and their evidence chains: how many bundles the relay verified in one unbroken chain,
 * the head, the last checkpoint it countersigned (and how far behind the chain it is), and every integrity
 * incident (forks, gaps, bad signatures) — shown, never repaired. MSP staff revoke a lost, stolen or replaced
 * appliance here, with a reason and a confirmation. Plus the WORM archive state where the relay has it.
 */
import { css, html, nothing, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { ApplianceView, ArchiveStatus } from "../../relay-client/mod.ts";
import { Confirm } from "../components/confirm.ts";
import { CONNECTION_CLASS, CONNECTION_TEXT, fullTime, relative } from "../format.ts";
import { Load } from "../load.ts";
import { MSP_ROLES } from "../pages/page.ts";
import { shared } from "../styles.ts";
import { Section } from "./section.ts";

/** What revoking does, as the confirmation says it. */
const REVOKE_CONSEQUENCE = "The relay refuses its requests from then on (it can no longer send evidence or receive orders). To use it again it must be enrolled again with a new claim code.";

export class OsirisSiteEvidence extends Section {
  static override styles = [
    shared,
    css`
      details.revoke {
        margin-top: 0.75rem;
        border-top: 1px solid var(--line);
        padding-top: 0.5rem;
      }
      details.revoke summary {
        cursor: pointer;
        color: var(--link, #0b5c8e);
        padding: 0.25rem 0;
      }
      details.revoke form {
        margin-top: 0.5rem;
        align-items: end;
      }
    `,
  ];
  readonly #archive = new Load<ArchiveStatus>(this, () => this.client.archiveStatus(this.siteId), { auto: false });
  readonly #confirm = new Confirm(this);
  #message: { ok: boolean; text: string } | null = null;

  /** Only MSP staff may revoke an appliance (the route's callers). */
  get #mayRevoke(): boolean {
    return MSP_ROLES.includes(this.userRole);
  }

  async #revoke(e: Event, a: ApplianceView): Promise<void> {
    const form = (e.target as HTMLButtonElement).form;
    const reason = String((form ? new FormData(form).get("reason") : null) ?? "").trim();
    try {
      await this.client.revokeAppliance(a.id, reason);
      this.#message = { ok: true, text: `Appliance ${a.id} is revoked. The relay refuses its requests from now on; to use it again, enroll it with a new claim code.` };
      this.siteChanged();
    } catch (err) {
      this.#message = { ok: false, text: `Appliance ${a.id} was not revoked: ${this.messageOf(err)}` };
    }
    this.requestUpdate();
  }

  #revokeForm(a: ApplianceView): TemplateResult {
    const field = `reason-${a.id}`;
    // Folded away: a destructive action, needed when a box is lost, stolen or replaced, not on a routine look.
    return html`<details class="revoke">
      <summary>Revoke this appliance…<span class="sr-only"> ${a.id}</span></summary>
      <form class="row" @submit=${(e: SubmitEvent) => e.preventDefault()}>
        <div class="field">
          <label for=${field}>Reason for revoking <span class="muted">(lost, stolen, replaced…; kept in the audit log)</span></label>
          <input id=${field} name="reason" required maxlength="500" autocomplete="off" size="40" />
        </div>
        ${this.#confirm.button(a.id, { verb: "Revoke appliance", target: a.id, consequence: REVOKE_CONSEQUENCE }, (e) => this.#revoke(e, a), { validate: true })}
      </form>
    </details>`;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.isOperator) void this.#archive.run();
  }

  #appliance(a: ApplianceView, now: number): TemplateResult {
    const cp = a.evidence.checkpoint;
    const lag = cp ? a.evidence.verified_seq - cp.size : null;
    return html`<section class="card" aria-labelledby=${`app-${a.id}`}>
      <h3 id=${`app-${a.id}`}>Appliance <code>${a.id}</code></h3>
      <p class="row">
        <span class="badge ${a.state === "active" ? CONNECTION_CLASS[a.connection] : "bad"}">${a.state === "active" ? CONNECTION_TEXT[a.connection] : "Revoked"}</span>
        ${a.simulated ? html`<span class="badge sim">Simulated lab</span>` : nothing}
        ${a.integrity_incidents.length ? html`<span class="badge bad">${a.integrity_incidents.length} integrity incident${a.integrity_incidents.length === 1 ? "" : "s"}</span>` : html`<span class="badge ok">Chain intact</span>`}
      </p>
      <dl class="facts">
        <dt>Key fingerprint</dt>
        <dd><code>${a.fingerprint}</code></dd>
        <dt>Verified chain</dt>
        <dd>${a.evidence.verified_seq} bundle${a.evidence.verified_seq === 1 ? "" : "s"}, signatures and links checked${a.evidence.head_hash ? html`; head <code>${a.evidence.head_hash.slice(0, 16)}…</code>` : nothing}</dd>
        <dt>Last countersigned checkpoint</dt>
        <dd>${cp ? html`size ${cp.size}, ${fullTime(cp.received_at)} (${relative(cp.received_at, now)})${lag ? html` — <span class="badge warn">${lag} newer bundle${lag === 1 ? "" : "s"} not yet in a checkpoint</span>` : nothing}` : "None yet"}</dd>
        <dt>Last sync</dt>
        <dd>${a.state === "active" && a.last_contact === null ? `Never: no contact since it was enrolled ${relative(a.enrolled_at, now)}` : relative(a.last_sync ?? a.last_contact, now)}${a.version ? ` · software ${a.version}` : ""}${a.ntp_offset_ms !== null ? ` · clock offset ${a.ntp_offset_ms} ms` : ""}</dd>
        <dt>Enrolled</dt>
        <dd>${fullTime(a.enrolled_at)} (${a.enrolled_via === "pending" ? "drop-ship, accepted by fingerprint" : "claim code"})</dd>
        ${a.revoked_at ? html`<dt>Revoked</dt><dd>${fullTime(a.revoked_at)} (${relative(a.revoked_at, now)}): the relay refuses its requests</dd>` : nothing}
      </dl>
      ${a.state === "active" && this.#mayRevoke ? this.#revokeForm(a) : nothing}
      ${a.integrity_incidents.length
        ? html`<div class="table-wrap">
            <table>
              <caption>Integrity incidents</caption>
              <thead><tr><th scope="col">Kind</th><th scope="col">What</th><th scope="col">Where</th><th scope="col">First / last seen</th><th scope="col">Times</th></tr></thead>
              <tbody>
                ${a.integrity_incidents.map(
                  (i) => html`<tr>
                    <td><span class="badge bad">${i.kind}</span></td>
                    <td>${i.message}</td>
                    <td>${i.seq ? `seq ${i.seq}` : "—"}${i.outbox_seq ? `, outbox ${i.outbox_seq}` : ""}</td>
                    <td>${fullTime(i.first_seen)}<br />${fullTime(i.last_seen)}</td>
                    <td>${i.occurrences}</td>
                  </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : nothing}
    </section>`;
  }

  override render(): TemplateResult {
    const now = Date.now();
    const apps = this.detail.appliances;
    // Keyed by appliance: a revoked one moves below the active ones, and a reason typed into one card's form
    // must not end up in the card that takes its place.
    return html`
      <h2>Appliances and evidence chain</h2>
      <p class="muted">Every bundle an appliance signs is verified on arrival (signature, link to the previous one, sequence) and kept unchanged. A fork, gap or bad signature is recorded as an integrity incident.</p>
      <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"}>${this.#message.text}</p>` : nothing}</div>
      <div class="stack">${apps.length === 0 ? html`<p class="card">No appliance is enrolled at this site yet.</p>` : repeat(apps, (a) => a.id, (a) => this.#appliance(a, now))}</div>
      ${this.isOperator
        ? html`<h2>Archive (write-once storage)</h2>
            ${this.#archive.render(
              "the evidence archive",
              (s) => html`${s.configured
                  ? nothing
                  : html`<p class="card warn" role="note">
                      Off on this relay: it uploads nothing to write-once storage. The bundles wait here (below) and go up once the relay's operator configures the
                      archive (<code>--archive-*</code>).
                    </p>`}<dl class="facts card">
                <dt>Archived</dt>
                <dd>${s.archived}</dd>
                <dt>Waiting</dt>
                <dd>${s.pending}${s.oldest_pending_age_s !== null ? ` (oldest ${Math.round(s.oldest_pending_age_s / 60)} min)` : ""}</dd>
                <dt>Failed</dt>
                <dd>${s.failed ? html`<span class="badge bad">${s.failed}</span>` : "0"}</dd>
                ${s.last_error ? html`<dt>Last error</dt><dd>${s.last_error.error}</dd>` : nothing}
              </dl>`,
            )}`
        : nothing}
    `;
  }
}

customElements.define("osiris-site-evidence", OsirisSiteEvidence);
