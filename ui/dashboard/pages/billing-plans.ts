/**
 * `<osiris-billing-plans>`: the plans of one partner's client organisations (what each clinic pays a month,
 * the devices that covers, the price per extra device, from when to when) and a form to set one. Amounts are
 * typed as money and sent as the integer cents the relay stores; the form checks the relay's rules (no
 * negative price, end not before start) first, so a refusal speaks in the money the person typed.
 * Statements already issued keep the plan they used, so changing a plan only affects statements issued
 * afterwards.
 */
import { css, html, LitElement, nothing, type TemplateResult } from "lit";
import { keyed } from "lit/directives/keyed.js";
import type { BillingPlan, BillingPlanInput, OrgView, RelayClient } from "../../relay-client/mod.ts";
import { plural } from "../format.ts";
import { Load } from "../load.ts";
import { Submission } from "../submission.ts";
import { panelStyles, shared } from "../styles.ts";
import { amountInput, money, parseMoney } from "./billing-format.ts";
import { stackRowHeaders } from "./stack-rows.ts";

/** Largest amount in cents and most included devices the relay accepts (relay/billing/plans.ts). */
const MAX_PRICE_CENTS = 100_000_000;
const MAX_DEVICES = 100_000;

interface Clinic {
  org: OrgView;
  plan: BillingPlan | null;
}

/** "12 Mar 2026" for a YYYY-MM-DD date. */
const day = (d: string) => new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }).format(new Date(`${d}T00:00:00Z`));

/** One plan in words ("$500.00 a month, 10 devices included, $15.00 per extra device"). */
export function planText(p: Pick<BillingPlan, "monthly_price_cents" | "included_devices" | "extra_device_cents" | "currency">): string {
  return `${money(p.monthly_price_cents, p.currency)} a month, ${plural(p.included_devices, "device")} included, ${money(p.extra_device_cents, p.currency)} per extra device`;
}

export class OsirisBillingPlans extends LitElement {
  static override properties = { client: { attribute: false }, partnerId: { attribute: false } };
  static override styles = [
    shared,
    panelStyles,
    stackRowHeaders,
    css`
      form h3:focus {
        outline: none;
      }
      tr.selected {
        background: var(--info-bg);
      }
    `,
  ];
  declare client: RelayClient;
  /** Whose clinics are shown. */
  declare partnerId: string;
  #chosen: string | null = null;
  readonly #submit = new Submission(this);

  readonly #clinics = new Load<Clinic[]>(
    this,
    async (signal) => {
      const orgs = (await this.client.orgs()).organisations.filter((o) => o.partner_id === this.partnerId);
      return Promise.all(orgs.map(async (org) => ({ org, plan: (await this.client.plan(org.id, signal)).plan })));
    },
    { auto: false },
  );

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has("partnerId") && this.partnerId) {
      this.#chosen = null;
      this.#submit.message = null;
      void this.#clinics.run();
    }
  }

  async #edit(orgId: string): Promise<void> {
    this.#chosen = orgId;
    this.#submit.clear();
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>("#plan-price")?.focus();
  }

  /**
   * The form's values as the API's input, or a sentence naming the field and the rule it breaks, in the units
   * the person typed (the relay's own rules, relay/billing/plans.ts: amounts 0 to 1,000,000 in whole cents,
   * a three-letter currency, an end not before the start), so its refusals in API units (cents, field
   * names) are not what a person reads.
   */
  #input(form: HTMLFormElement): BillingPlanInput | string {
    const f = new FormData(form);
    const text = (name: string) => String(f.get(name) ?? "").trim();
    const amount = (name: string, label: string): number | string => {
      const cents = parseMoney(text(name));
      if (cents === null) return `${label}: enter an amount like ${name === "monthly" ? "500 or 499.99" : "15 or 12.50"} (at most two decimals); current value is "${text(name)}".`;
      if (cents < 0) return `${label} must be 0 or more; current value is ${text(name)}.`;
      if (cents > MAX_PRICE_CENTS) return `${label} must be at most ${(MAX_PRICE_CENTS / 100).toLocaleString("en-US")}; current value is ${text(name)}.`;
      return cents;
    };
    const monthly = amount("monthly", "Price per month");
    if (typeof monthly === "string") return monthly;
    const extra = amount("extra", "Price per extra device");
    if (typeof extra === "string") return extra;
    const devices = Number(text("devices"));
    if (text("devices") === "" || !Number.isInteger(devices)) return `Devices included: enter a whole number; current value is "${text("devices")}".`;
    if (devices < 0 || devices > MAX_DEVICES) return `Devices included must be between 0 and ${MAX_DEVICES.toLocaleString("en-US")}; current value is ${devices}.`;
    const currency = text("currency").toUpperCase();
    if (!/^[A-Z]{3}$/.test(currency)) return `Currency: enter a three-letter code like USD; current value is "${text("currency")}".`;
    const starts = text("starts_on");
    const ends = text("ends_on");
    if (starts === "") return "Plan starts on: choose the day the clinic joined.";
    if (ends !== "" && ends < starts) return "Plan ends on must not be before the day the plan starts.";
    return { currency, monthly_price_cents: monthly, included_devices: devices, extra_device_cents: extra, starts_on: starts, ends_on: ends || null };
  }

  async #save(e: SubmitEvent, c: Clinic): Promise<void> {
    e.preventDefault();
    const input = this.#input(e.target as HTMLFormElement);
    if (typeof input === "string") return this.#submit.refuse(input);
    await this.#submit.run(async () => {
      const saved = await this.client.setPlan(c.org.id, input);
      await this.#clinics.run(true);
      return `Plan of ${c.org.name} saved: ${planText(saved)}, from ${day(saved.starts_on)}${saved.ends_on ? ` to ${day(saved.ends_on)}` : ""}.`;
    }, `The plan of ${c.org.name} was not changed`);
  }

  #table(clinics: Clinic[]): TemplateResult {
    return html`<div class="table-wrap">
      <table class="stack">
        <caption class="sr-only">Plans of the partner's clinics</caption>
        <thead><tr><th scope="col">Clinic</th><th scope="col">Plan</th><th scope="col">Runs</th><th scope="col">Change</th></tr></thead>
        <tbody>
          ${clinics.map(
            (c) => html`<tr class=${c.org.id === this.#chosen ? "selected" : ""}>
              <th scope="row" data-label="Clinic">${c.org.name}</th>
              <td data-label="Plan">${c.plan ? planText(c.plan) : html`<span class="muted">No plan set: not billed</span>`}</td>
              <td data-label="Runs">${c.plan ? `from ${day(c.plan.starts_on)}${c.plan.ends_on ? ` to ${day(c.plan.ends_on)}` : ""}` : "—"}</td>
              <td data-label="Change">
                <button type="button" class="secondary" aria-pressed=${c.org.id === this.#chosen ? "true" : "false"} @click=${() => this.#edit(c.org.id)}>${c.plan ? "Change" : "Set"} plan<span class="sr-only"> of ${c.org.name}</span></button>
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }

  #form(c: Clinic): TemplateResult {
    const p = c.plan;
    const currency = p?.currency ?? "USD";
    const firstOfMonth = `${new Date().toISOString().slice(0, 7)}-01`;
    return html`<form class="card" novalidate aria-labelledby="plan-form-h" @submit=${(e: SubmitEvent) => this.#save(e, c)}>
      <h3 id="plan-form-h" tabindex="-1">Plan of ${c.org.name}</h3>
      <p class="muted">${p ? `Now: ${planText(p)}. Last changed by ${p.updated_by}.` : "No plan yet: this clinic is not on any statement until it has one."} Statements already issued keep the plan they used.</p>
      <div class="cols">
        <div class="field">
          <label for="plan-price">Price per month <span class="hint">(${currency})</span></label>
          <input id="plan-price" name="monthly" inputmode="decimal" autocomplete="off" required .value=${amountInput(p?.monthly_price_cents)} />
        </div>
        <div class="field">
          <label for="plan-devices">Devices included <span class="hint">(monitored devices the price covers)</span></label>
          <input id="plan-devices" name="devices" type="number" step="1" required .value=${String(p?.included_devices ?? 0)} />
        </div>
        <div class="field">
          <label for="plan-extra">Price per extra device <span class="hint">(${currency} a month)</span></label>
          <input id="plan-extra" name="extra" inputmode="decimal" autocomplete="off" required .value=${amountInput(p?.extra_device_cents ?? 0)} />
        </div>
        <div class="field">
          <label for="plan-currency">Currency <span class="hint">(ISO code)</span></label>
          <input id="plan-currency" name="currency" maxlength="3" autocomplete="off" required .value=${currency} />
        </div>
        <div class="field">
          <label for="plan-start">Plan starts on <span class="hint">(the clinic joined)</span></label>
          <input id="plan-start" name="starts_on" type="date" required .value=${p?.starts_on ?? firstOfMonth} />
        </div>
        <div class="field">
          <label for="plan-end">Plan ends on <span class="hint">(optional: the clinic left)</span></label>
          <input id="plan-end" name="ends_on" type="date" .value=${p?.ends_on ?? ""} />
        </div>
      </div>
      <button type="submit" ?disabled=${this.#submit.busy}>Save plan<span class="sr-only"> of ${c.org.name}</span></button>
    </form>`;
  }

  #body(clinics: Clinic[]): TemplateResult {
    if (clinics.length === 0) return html`<p>This partner has no client organisations yet.</p>`;
    const chosen = clinics.find((c) => c.org.id === this.#chosen);
    return html`${this.#table(clinics)}
      ${this.#submit.render()}
      ${chosen ? keyed(chosen.org.id, this.#form(chosen)) : nothing}`;
  }

  override render(): TemplateResult {
    return html`<section class="card" aria-labelledby="plans-h">
      <h2 id="plans-h">Client plans</h2>
      <p class="muted">What each clinic pays a month. Statements pro-rate a plan by the days it ran in the month.</p>
      ${this.#clinics.render("the client plans", (v) => this.#body(v))}
    </section>`;
  }
}

customElements.define("osiris-billing-plans", OsirisBillingPlans);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-billing-plans": OsirisBillingPlans;
  }
}
