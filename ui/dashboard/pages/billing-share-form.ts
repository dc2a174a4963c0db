/**
 * `<osiris-revenue-share-form>`: the MSP administrator's form for a partner's revenue share — a percentage of
 * what its clinics pay, optionally in tiers by the number of clinics on the statement (the highest tier
 * reached applies to all of them). Starts from the share in force; the relay checks the rules (at least one
 * tier, minimums increasing, 0–100 % with at most two decimals) and its refusal is shown as it says it.
 * Fires `osiris-share-saved` with the relay's answer (a `RevenueShare`) once saved.
 */
import { css, html, LitElement, nothing, type TemplateResult } from "lit";
import type { RelayClient, RevenueShare, RevenueShareInput } from "../../relay-client/mod.ts";
import { plural } from "../format.ts";
import { shared } from "../styles.ts";
import { Submission } from "../submission.ts";
import { parsePercent } from "./billing-format.ts";

interface TierText {
  min: string;
  pct: string;
}

/** "20 % from 1 clinic, 25 % from 3 clinics". */
export function shareText(tiers: readonly { min_clinics: number; share_percent: number }[]): string {
  return tiers.map((t) => `${t.share_percent} % from ${plural(t.min_clinics, "clinic")}`).join(", ");
}

export class OsirisRevenueShareForm extends LitElement {
  static override properties = { client: { attribute: false }, share: { attribute: false } };
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      table {
        width: auto;
        margin: 0.4rem 0 0.6rem;
      }
      td {
        vertical-align: middle;
      }
      input {
        width: 7rem;
      }
    `,
  ];
  declare client: RelayClient;
  /** The share in force (its partner is the one changed). */
  declare share: RevenueShare;
  #tiers: TierText[] = [];
  readonly #submit = new Submission(this);

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has("share") && this.share) {
      const prev = changed.get("share") as RevenueShare | undefined;
      this.#tiers = this.share.tiers.length ? this.share.tiers.map((t) => ({ min: String(t.min_clinics), pct: String(t.share_percent) })) : [{ min: "1", pct: "" }];
      if (prev?.partner_id !== this.share.partner_id) this.#submit.message = null;
    }
  }

  #set(i: number, key: keyof TierText, value: string): void {
    this.#tiers = this.#tiers.map((t, j) => (j === i ? { ...t, [key]: value } : t));
  }

  async #add(): Promise<void> {
    const last = this.#tiers.at(-1);
    this.#tiers = [...this.#tiers, { min: last && /^\d+$/.test(last.min) ? String(Number(last.min) + 1) : "", pct: "" }];
    this.requestUpdate();
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLInputElement>(`#tier-min-${this.#tiers.length - 1}`)?.focus();
  }

  #remove(i: number): void {
    this.#tiers = this.#tiers.filter((_, j) => j !== i);
    this.requestUpdate();
  }

  /**
   * The tiers as the API takes them, or a sentence, in the form's own words, naming the first field the relay
   * would refuse (relay/billing/plans.ts `revenueShareInputSchema`: 1 to 100,000 clinics, increasing from tier
   * to tier; a share from 0 to 100 %).
   */
  #input(): RevenueShareInput | string {
    const tiers: RevenueShareInput["tiers"] = [];
    for (const [i, t] of this.#tiers.entries()) {
      const min = Number(t.min.trim());
      if (t.min.trim() === "" || !Number.isInteger(min)) return `Tier ${i + 1}, from how many clinics: enter a whole number; current value is "${t.min}".`;
      if (min < 1 || min > 100_000) return `Tier ${i + 1}, from how many clinics: enter 1 to 100,000; current value is ${t.min.trim()}.`;
      const previous = tiers.at(-1);
      if (previous && min <= previous.min_clinics) return `Tier ${i + 1}, from how many clinics: must be more than tier ${i} (${previous.min_clinics}); current value is ${min}.`;
      const pct = parsePercent(t.pct);
      if (pct === null) return `Tier ${i + 1}, share: enter a percentage like 20 or 12.5 (at most two decimals); current value is "${t.pct}".`;
      if (pct < 0 || pct > 100) return `Tier ${i + 1}, share: enter a percentage from 0 to 100; current value is ${t.pct.trim()}.`;
      tiers.push({ min_clinics: min, share_percent: pct });
    }
    return { tiers };
  }

  async #save(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const input = this.#input();
    if (typeof input === "string") return this.#submit.refuse(input);
    await this.#submit.run(async () => {
      const saved = await this.client.setRevenueShare(this.share.partner_id, input);
      this.dispatchEvent(new CustomEvent<RevenueShare>("osiris-share-saved", { detail: saved, bubbles: true, composed: true }));
      return `Revenue share saved: ${shareText(saved.tiers)}. It applies to statements issued from now on.`;
    }, "The revenue share was not changed");
  }

  #row(t: TierText, i: number): TemplateResult {
    return html`<tr>
      <th scope="row">Tier ${i + 1}</th>
      <td>
        <label class="sr-only" for=${`tier-min-${i}`}>Tier ${i + 1}: from how many clinics</label>
        <input id=${`tier-min-${i}`} type="number" step="1" .value=${t.min} @input=${(e: Event) => this.#set(i, "min", (e.target as HTMLInputElement).value)} />
      </td>
      <td>
        <label class="sr-only" for=${`tier-pct-${i}`}>Tier ${i + 1}: share in percent</label>
        <input id=${`tier-pct-${i}`} inputmode="decimal" autocomplete="off" .value=${t.pct} @input=${(e: Event) => this.#set(i, "pct", (e.target as HTMLInputElement).value)} />
      </td>
      <td>${this.#tiers.length > 1 ? html`<button type="button" class="secondary" @click=${() => this.#remove(i)}>Remove<span class="sr-only"> tier ${i + 1}</span></button>` : nothing}</td>
    </tr>`;
  }

  override render(): TemplateResult {
    return html`<form novalidate @submit=${(e: SubmitEvent) => this.#save(e)} aria-label="Change the revenue share">
      <p class="hint">One tier for a flat share. With more, each tier starts at a number of clinics; the highest tier a statement reaches applies to all its clinics.</p>
      <table>
        <thead><tr><th scope="col"><span class="sr-only">Tier</span></th><th scope="col">From clinics</th><th scope="col">Share (%)</th><th scope="col"><span class="sr-only">Remove</span></th></tr></thead>
        <tbody>${this.#tiers.map((t, i) => this.#row(t, i))}</tbody>
      </table>
      <p class="row">
        <button type="button" class="secondary" @click=${() => this.#add()}>Add a tier</button>
        <button type="submit" ?disabled=${this.#submit.busy}>Save revenue share</button>
      </p>
      ${this.#submit.render()}
    </form>`;
  }
}

customElements.define("osiris-revenue-share-form", OsirisRevenueShareForm);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-revenue-share-form": OsirisRevenueShareForm;
  }
}
