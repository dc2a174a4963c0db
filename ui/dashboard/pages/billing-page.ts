/**
 * `<osiris-billing-page>`: a partner's monthly statements. Partner administrators and billing users see their
 * partner's; MSP administrators pick a partner and may issue the statement of a month that has ended. Each
 * statement shows, per clinic, the plan, the days it was active, its appliances and monitored devices and
 * what that comes to, the partner's share, the totals, and downloads as CSV and PDF. Statements never change
 * once issued (corrections are new lines), so the page only ever adds. Below them, the settings statements
 * are computed from: the partner's revenue share (MSP administrators change it) and its clinics' plans (MSP
 * and partner administrators set them).
 */
import { css, html, nothing, type TemplateResult } from "lit";
import type { PartnerView, RevenueShare, Statement, StatementHeader, StatementLine } from "../../relay-client/mod.ts";
import { fullTime, plural } from "../format.ts";
import { Load } from "../load.ts";
import { shared } from "../styles.ts";
import { lastClosedMonth, money, monthText } from "./billing-format.ts";
import "./billing-plans.ts";
import "./billing-share-form.ts";
import { Page } from "./page.ts";
import { stackRowHeaders } from "./stack-rows.ts";

/** Who sets clinic plans here: the relay lets partner billing users too, but they may not list organisations. */
const PLAN_SETTERS: readonly string[] = ["msp_admin", "partner_admin"];

export class OsirisBillingPage extends Page {
  static override styles = [
    shared,
    stackRowHeaders,
    css`
      .head {
        display: flex;
        flex-wrap: wrap;
        gap: 0.75rem 1.5rem;
        align-items: flex-end;
        justify-content: space-between;
      }
      .cols {
        display: grid;
        gap: 1rem;
        grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr));
        margin-top: 1rem;
      }
      td.num,
      th.num {
        text-align: right;
        font-variant-numeric: tabular-nums;
        white-space: nowrap;
      }
      tfoot th,
      tfoot td {
        font-weight: 700;
        border-bottom: 0;
        border-top: 2px solid var(--ink);
      }
      section.statement {
        margin-top: 1rem;
      }
      .partner {
        max-width: 24rem;
      }
      tr.selected {
        background: var(--info-bg);
      }
      .totals {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 2rem;
        margin: 0.6rem 0;
      }
      .totals div {
        min-width: 9rem;
      }
      .totals strong {
        display: block;
        font-size: 1.3rem;
      }
      .actions a + a {
        margin-left: 0.5rem;
      }
      summary {
        cursor: pointer;
        color: var(--link, #0b5c8e);
        font-weight: 600;
        padding: 0.2rem 0;
        margin-top: 0.4rem;
      }
      @media (max-width: 40rem) {
        td.num,
        th.num {
          text-align: left;
        }
        tfoot,
        tfoot tr,
        tfoot th,
        tfoot td {
          display: block;
          width: 100%;
        }
      }
    `,
  ];
  readonly #partners = new Load<{ partners: PartnerView[] }>(this, () => (this.userRole === "msp_admin" ? this.client.partners() : Promise.resolve({ partners: [] })));
  readonly #statements = new Load<{ statements: StatementHeader[] }>(this, (signal) => (this.#partnerId ? this.client.statements(this.#partnerId, signal) : Promise.resolve({ statements: [] })), { auto: false });
  readonly #share = new Load<RevenueShare>(this, (signal) => this.client.revenueShare(this.#partnerId!, signal), { auto: false });
  #chosenPartner: string | null = null;
  #open: Statement | null = null;
  #message: { ok: boolean; text: string } | null = null;
  #loadedFor: string | null = null;

  /** The partner whose statements are shown: the user's own, or the one an MSP admin picked (default the first). */
  get #partnerId(): string | null {
    if (this.userRole !== "msp_admin") return this.session.user.partner_id ?? null;
    return this.#chosenPartner ?? this.#partners.value?.partners[0]?.id ?? null;
  }

  override updated(): void {
    this.setTitle("Billing");
    const p = this.#partnerId;
    if (p && p !== this.#loadedFor) {
      this.#loadedFor = p;
      this.#open = null;
      void this.#reload(true);
    }
  }

  async #reload(openNewest: boolean): Promise<void> {
    await Promise.all([this.#statements.run(), this.#share.run()]);
    const newest = this.#statements.value?.statements[0];
    if (openNewest && newest && !this.#open) await this.#show(newest.id, false);
  }

  async #show(id: string, focus = true): Promise<void> {
    try {
      this.#open = await this.client.statement(id);
    } catch (e) {
      this.#message = { ok: false, text: e instanceof Error ? e.message : String(e) };
    }
    this.requestUpdate();
    if (focus) {
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLElement>("#stmt-h")?.focus();
    }
  }

  async #issue(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const month = String(new FormData(e.target as HTMLFormElement).get("month") ?? "");
    const partnerId = this.#partnerId;
    if (!partnerId) return;
    try {
      const s = await this.client.issueStatement(partnerId, month);
      this.#message = { ok: true, text: `Statement for ${monthText(s.month)} issued: ${plural(s.clinics, "clinic")}, ${money(s.totals.amount_cents, s.currency)}, partner share ${money(s.totals.share_cents, s.currency)}.` };
      this.#open = s;
      await this.#statements.run(true);
    } catch (err) {
      this.#message = { ok: false, text: err instanceof Error ? err.message : String(err) };
    }
    this.requestUpdate();
  }

  #downloads(s: StatementHeader): TemplateResult {
    const m = monthText(s.month);
    return html`<span class="actions">
      <a class="button secondary" href=${this.client.statementUrl(s.id, "csv")} download>CSV<span class="sr-only"> of the ${m} statement</span></a>
      <a class="button secondary" href=${this.client.statementUrl(s.id, "pdf")} download>PDF<span class="sr-only"> of the ${m} statement</span></a>
    </span>`;
  }

  #list(v: { statements: StatementHeader[] }): TemplateResult {
    if (v.statements.length === 0) return html`<p class="card">No statements issued yet.${this.userRole === "msp_admin" ? "" : " Your MSP issues one after each month ends."}</p>`;
    return html`<div class="table-wrap">
      <table class="stack">
        <caption class="sr-only">Statements, newest month first</caption>
        <thead>
          <tr><th scope="col">Month</th><th scope="col" class="num">Clinics</th><th scope="col" class="num">Amount</th><th scope="col" class="num">Partner share</th><th scope="col">Issued</th><th scope="col">Open or download</th></tr>
        </thead>
        <tbody>
          ${v.statements.map(
            (s) => html`<tr class=${this.#open?.id === s.id ? "selected" : ""}>
              <td data-label="Month"><strong>${monthText(s.month)}</strong></td>
              <td data-label="Clinics" class="num">${s.clinics}</td>
              <td data-label="Amount" class="num">${money(s.totals.amount_cents, s.currency)}</td>
              <td data-label="Partner share" class="num">${money(s.totals.share_cents, s.currency)} <span class="muted">(${s.share_bp / 100} %)</span></td>
              <td data-label="Issued">${fullTime(s.issued_at)} <span class="muted">by ${s.issued_by}</span></td>
              <td data-label="Open or download">
                <button type="button" class="secondary" aria-pressed=${this.#open?.id === s.id ? "true" : "false"} @click=${() => this.#show(s.id)}>Show<span class="sr-only"> the ${monthText(s.month)} statement</span></button>
                ${this.#downloads(s)}
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }

  #line(l: StatementLine, c: string): TemplateResult {
    if (l.kind === "correction") {
      return html`<tr>
        <th scope="row" data-label="Clinic">Correction${l.org_name ? `: ${l.org_name}` : ""}${l.corrects_line ? html` <span class="muted">(line ${l.corrects_line})</span>` : nothing}</th>
        <td data-label="Plan" colspan="4">${l.note ?? ""}</td>
        <td data-label="Amount" class="num">${money(l.amount_cents, c)}</td>
        <td data-label="Partner share" class="num">${money(l.share_cents, c)}</td>
      </tr>`;
    }
    return html`<tr>
      <th scope="row" data-label="Clinic">${l.org_name}</th>
      <td data-label="Plan">${money(l.plan_monthly_cents, c)} a month, ${plural(l.included_devices ?? 0, "device")} included, ${money(l.extra_device_cents, c)} per extra device</td>
      <td data-label="Days active" class="num">${l.active_days}</td>
      <td data-label="Appliances" class="num">${l.active_appliances}</td>
      <td data-label="Monitored devices" class="num">${l.monitored_devices}${l.extra_devices ? html` <span class="muted">(${l.extra_devices} extra)</span>` : nothing}</td>
      <td data-label="Amount" class="num">${money(l.amount_cents, c)}${l.extras_cents ? html`<br /><span class="muted">${money(l.base_cents, c)} + ${money(l.extras_cents, c)} extras</span>` : nothing}</td>
      <td data-label="Partner share" class="num">${money(l.share_cents, c)}</td>
    </tr>`;
  }

  #statement(s: Statement): TemplateResult {
    const c = s.currency;
    return html`<section class="card statement" aria-labelledby="stmt-h">
      <div class="head">
        <div>
          <h2 id="stmt-h" tabindex="-1">Statement for ${monthText(s.month)}</h2>
          <p class="muted">${s.partner_name} · ${plural(s.clinics, "clinic")} · ${s.days_in_month} days · partner share ${s.share_bp / 100} % · issued ${fullTime(s.issued_at)} by ${s.issued_by} · <code>${s.id}</code></p>
        </div>
        ${this.#downloads(s)}
      </div>
      <div class="totals">
        <div>Clinics billed<strong>${money(s.totals.amount_cents, c)}</strong></div>
        <div>Partner share<strong>${money(s.totals.share_cents, c)}</strong></div>
        <div>MSP keeps<strong>${money(s.totals.msp_net_cents, c)}</strong></div>
      </div>
      <div class="table-wrap">
        <table class="stack">
          <caption class="sr-only">Lines of the ${monthText(s.month)} statement, one per clinic, then corrections</caption>
          <thead>
            <tr><th scope="col">Clinic</th><th scope="col">Plan</th><th scope="col" class="num">Days active</th><th scope="col" class="num">Appliances</th><th scope="col" class="num">Monitored devices</th><th scope="col" class="num">Amount</th><th scope="col" class="num">Partner share</th></tr>
          </thead>
          <tbody>${s.lines.map((l) => this.#line(l, c))}</tbody>
          <tfoot>
            <tr><th scope="row" colspan="5">Total</th><td class="num" data-label="Amount">${money(s.totals.amount_cents, c)}</td><td class="num" data-label="Partner share">${money(s.totals.share_cents, c)}</td></tr>
          </tfoot>
        </table>
      </div>
    </section>`;
  }

  #shareCard(r: RevenueShare): TemplateResult {
    return html`<section class="card" aria-labelledby="share-h">
      <h2 id="share-h">Revenue share</h2>
      ${r.tiers.length === 0
        ? html`<p>No revenue share is set for this partner.</p>`
        : html`<ul>${r.tiers.map((t) => html`<li>${t.share_percent} % of what its clinics pay, from ${plural(t.min_clinics, "clinic")}</li>`)}</ul>
            <p class="muted">The highest tier the month's number of clinics reaches applies to every clinic on that statement.</p>`}
      ${this.userRole === "msp_admin"
        ? html`<details>
            <summary>Change the revenue share</summary>
            <osiris-revenue-share-form .client=${this.client} .share=${r} @osiris-share-saved=${(e: CustomEvent<RevenueShare>) => ((this.#share.value = e.detail), this.requestUpdate())}></osiris-revenue-share-form>
          </details>`
        : nothing}
    </section>`;
  }

  #issueCard(): TemplateResult {
    const max = lastClosedMonth(Date.now());
    return html`<form class="card" @submit=${(e: SubmitEvent) => this.#issue(e)} aria-labelledby="issue-h">
      <h2 id="issue-h">Issue a statement</h2>
      <div class="field">
        <label for="month">Month <span class="hint">(one that has ended; once issued it never changes, corrections are new lines)</span></label>
        <input id="month" name="month" type="month" required max=${max} .value=${max} />
      </div>
      <button type="submit">Issue statement</button>
    </form>`;
  }

  override render(): TemplateResult {
    const msp = this.userRole === "msp_admin";
    const partners = this.#partners.value?.partners ?? [];
    const partnerId = this.#partnerId;
    return html`
      <h1 tabindex="-1">Billing</h1>
      <p class="muted">Monthly statements: what each clinic's plan comes to, with its appliances and monitored devices, and the partner's share.</p>
      ${msp
        ? this.#partners.render(
            "partners",
            (v) => html`<div class="field partner">
              <label for="partner">Partner</label>
              <select id="partner" @change=${(e: Event) => ((this.#chosenPartner = (e.target as HTMLSelectElement).value), this.requestUpdate())}>
                ${v.partners.map((p) => html`<option value=${p.id} ?selected=${p.id === partnerId}>${p.name}</option>`)}
              </select>
            </div>`,
          )
        : nothing}
      <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"} role=${this.#message.ok ? "status" : "alert"}>${this.#message.text}</p>` : nothing}</div>
      ${partnerId === null
        ? msp && this.#partners.state !== "done"
          ? nothing
          : html`<p class="card">${msp && partners.length === 0 ? "There are no partners yet: create one in Admin." : "Your account belongs to no partner, so there are no statements to show."}</p>`
        : html`
            <div class="cols">
              ${this.#share.render("the revenue share", (r) => this.#shareCard(r))}
              ${msp ? this.#issueCard() : nothing}
            </div>
            <h2>Statements</h2>
            ${this.#statements.render("statements", (v) => this.#list(v))}
            ${this.#open ? this.#statement(this.#open) : nothing}
            ${PLAN_SETTERS.includes(this.userRole) ? html`<osiris-billing-plans .client=${this.client} .partnerId=${partnerId}></osiris-billing-plans>` : nothing}
          `}
    `;
  }
}

customElements.define("osiris-billing-page", OsirisBillingPage);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-billing-page": OsirisBillingPage;
  }
}
