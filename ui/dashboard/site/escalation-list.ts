/**
 * `<osiris-escalation-list>`: L3 escalations — problems handed to people — of one site or of every site the
 * user may see, most urgent first. Each shows its priority, status and both SLA timers (time left to respond
 * and to resolve, counting down every second, or by how much a target was missed), and MSP and partner staff
 * acknowledge it (someone is on it) or resolve it with a note saying what was done.
 */
import { css, html, nothing, type TemplateResult } from "lit";
import { LitElement } from "lit";
import { repeat } from "lit/directives/repeat.js";
import { NOT_MET_PREFIX, notMet, problemTitle } from "../../../protocol/catalogue/wording.ts";
import type { Escalation, RelayClient, Session } from "../../relay-client/mod.ts";
import { fullTime, plural, relative } from "../format.ts";
import { Load } from "../load.ts";
import { OPERATOR_ROLES } from "../pages/page.ts";
import { shared } from "../styles.ts";
import { slaView, urgency, type SlaView } from "./sla.ts";

export const ESCALATION_FILTERS = ["active", "resolved", "all"] as const;
export type EscalationFilter = (typeof ESCALATION_FILTERS)[number];

const PRIORITY_CLASS: Readonly<Record<string, string>> = { critical: "bad", high: "bad", medium: "warn", low: "none" };
const STATUS_TEXT: Readonly<Record<string, string>> = { open: "Open — nobody on it yet", acknowledged: "Acknowledged", resolved: "Resolved" };
const STATUS_CLASS: Readonly<Record<string, string>> = { open: "bad", acknowledged: "info", resolved: "ok" };
const SOURCE_TEXT: Readonly<Record<string, string>> = { appliance: "the appliance", l2: "the L2 planner" };
/** The list is read again this often (new tickets, changes by colleagues); the timers tick every second. */
const REFRESH_MS = 30_000;
const TICK_MS = 1_000;

export class OsirisEscalationList extends LitElement {
  static override properties = { client: { attribute: false }, session: { attribute: false }, siteId: { attribute: false }, siteNames: { attribute: false }, filter: { attribute: false } };
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .timers {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr));
        gap: 0.5rem 1rem;
        margin: 0.5rem 0;
      }
      .timer {
        border: 1px solid var(--line);
        border-left: 6px solid var(--info-ink);
        border-radius: 6px;
        padding: 0.4rem 0.6rem;
        background: var(--card);
      }
      .timer .left {
        font-variant-numeric: tabular-nums;
        font-size: 1rem;
      }
      .timer.t-bad {
        border-left-color: var(--bad-ink);
      }
      .timer.t-warn {
        border-left-color: var(--warn-ink);
      }
      .timer.t-ok {
        border-left-color: var(--ok-ink);
      }
      .note {
        border-left: 3px solid var(--line);
        padding-left: 0.6rem;
        margin: 0.4rem 0;
      }
      form {
        margin-top: 0.6rem;
      }
      textarea {
        width: 100%;
        min-height: 3.2rem;
      }
      [aria-invalid="true"] {
        border-color: var(--bad-ink);
        outline: 2px solid var(--bad-ink);
      }
    `,
  ];
  declare client: RelayClient;
  declare session: Session;
  /** One site's escalations, or null for every visible site. */
  declare siteId: string | null;
  /** Site names by id (fleet-wide list). */
  declare siteNames: ReadonlyMap<string, string> | null;
  declare filter: EscalationFilter;

  readonly #list = new Load<{ escalations: Escalation[] }>(
    this,
    (signal) => this.client.escalations(this.siteId ?? undefined, this.filter === "active" ? { active: true } : this.filter === "resolved" ? { status: "resolved" } : {}, signal),
    { refreshMs: REFRESH_MS },
  );
  #now = Date.now();
  #tick: ReturnType<typeof setInterval> | null = null;
  #message: { ok: boolean; text: string } | null = null;
  /** Escalation id → what is wrong with its note field. */
  #invalid = new Map<string, string>();

  constructor() {
    super();
    this.siteId = null;
    this.siteNames = null;
    this.filter = "all";
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#tick = setInterval(() => {
      this.#now = Date.now();
      if (this.#list.value?.escalations.some((e) => e.status !== "resolved")) this.requestUpdate();
    }, TICK_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#tick) clearInterval(this.#tick);
    this.#tick = null;
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if ((changed.has("filter") && changed.get("filter") !== undefined) || (changed.has("siteId") && changed.get("siteId") !== undefined)) void this.#list.run();
  }

  get #isOperator(): boolean {
    return OPERATOR_ROLES.includes(this.session.user.role);
  }

  async #act(e: Escalation, verb: "acknowledge" | "resolve", form: HTMLFormElement): Promise<void> {
    const note = String(new FormData(form).get("note") ?? "").trim();
    this.#invalid.delete(e.escalation_id);
    if (verb === "resolve" && note === "") {
      this.#invalid.set(e.escalation_id, "Say what was done before resolving.");
      this.requestUpdate();
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLElement>(`#n-${e.escalation_id}`)?.focus();
      return;
    }
    try {
      const after = verb === "acknowledge" ? await this.client.acknowledgeEscalation(e.escalation_id, note || undefined) : await this.client.resolveEscalation(e.escalation_id, note);
      this.#message = { ok: true, text: `${this.#title(e)}: ${after.status === "resolved" ? "resolved" : "acknowledged"}.` };
      form.reset();
      await this.#list.run(true);
    } catch (err) {
      this.#message = { ok: false, text: err instanceof Error ? err.message : String(err) };
    }
    this.requestUpdate();
  }

  /** "Not met: Screen lock is on — FRONT-DESK-01": the check worded as a problem and the host's name, an id only where there is no name. */
  #title(e: Escalation): string {
    const host = e.host_id === null ? null : (e.host_name ?? e.host_id);
    return e.check === null ? `Escalation${host ? ` — ${host}` : ""}` : problemTitle(e.check_title ?? e.check, host);
  }

  /** The ticket's heading: names, each with its id in a tooltip (and in the detail line under it). */
  #heading(e: Escalation): TemplateResult {
    const check = e.check === null ? html`Escalation` : e.check_title ? html`<span title=${`Check ${e.check}`}>${notMet(e.check_title)}</span>` : html`${NOT_MET_PREFIX}<code>${e.check}</code>`;
    const host = e.host_id === null ? nothing : e.host_name ? html` — <span title=${`Host ${e.host_id}`}>${e.host_name}</span>` : html` — <code>${e.host_id}</code>`;
    return html`${check}${host}`;
  }

  /** The ids behind the names, for searching logs and talking to the appliance ("check windows.screen_lock · host ws-01"). */
  #ids(e: Escalation): TemplateResult | typeof nothing {
    const parts = [e.check && e.check_title ? html`check <code>${e.check}</code>` : null, e.host_id && e.host_name ? html`host <code>${e.host_id}</code>` : null].filter((x) => x !== null);
    return parts.length ? html`<p class="muted ids">${parts.map((p, i) => html`${i ? " · " : ""}${p}`)}</p>` : nothing;
  }

  #timer(label: string, due: string, sla: SlaView, doneAt: string | null): TemplateResult {
    return html`<div class="timer t-${sla.cls}">
      <div>${label}</div>
      <div><span class="badge ${sla.cls}"><span class="left">${sla.text}</span></span></div>
      <div class="muted">${doneAt ? html`done ${fullTime(doneAt)}` : html`due <time datetime=${due}>${fullTime(due)}</time>`}</div>
    </div>`;
  }

  #item(e: Escalation, now: number): TemplateResult {
    const id = `esc-${e.escalation_id}`;
    const respondedAt = e.acknowledged_at ?? e.resolved_at;
    const response = slaView(e.created_at, e.response_due_at, respondedAt, now);
    const resolution = slaView(e.created_at, e.resolution_due_at, e.resolved_at, now);
    const invalid = this.#invalid.get(e.escalation_id);
    const site = this.siteNames?.get(e.site_id);
    return html`<li class="card" aria-labelledby=${id}>
      <h3 id=${id}>${this.#heading(e)}${this.siteId === null ? html` · <a href=${`/sites/${e.site_id}/escalations`}>${site ?? e.site_id}</a>` : nothing}</h3>
      ${this.#ids(e)}
      <p class="row">
        <span class="badge ${PRIORITY_CLASS[e.priority] ?? "none"}">${e.priority[0]!.toUpperCase()}${e.priority.slice(1)} priority</span>
        <span class="badge ${STATUS_CLASS[e.status] ?? "none"}">${STATUS_TEXT[e.status] ?? e.status}</span>
        ${e.category ? html`<span class="badge none">${e.category}</span>` : nothing}
      </p>
      <div class="timers" role="group" aria-label=${`SLA timers of ${this.#title(e)}`}>
        ${this.#timer("Time to respond", e.response_due_at, response, respondedAt)}
        ${this.#timer("Time to resolve", e.resolution_due_at, resolution, e.resolved_at)}
      </div>
      <p>${e.reason}</p>
      <p class="muted">Opened ${relative(e.created_at, now)} (${fullTime(e.created_at)}) by ${SOURCE_TEXT[e.source] ?? e.source}${e.reports > 1 ? ` · ${plural(e.reports, "report")}` : ""}</p>
      ${e.acknowledge_note ? html`<p class="note"><strong>On acknowledging:</strong> ${e.acknowledge_note}</p>` : nothing}
      ${e.resolution_note ? html`<p class="note"><strong>Resolution:</strong> ${e.resolution_note}</p>` : nothing}
      ${this.#isOperator && e.status !== "resolved"
        ? html`<form @submit=${(ev: SubmitEvent) => ev.preventDefault()}>
            <div class="field">
              <label for=${`n-${e.escalation_id}`}>Note <span class="hint">(optional to acknowledge; to resolve, say what was done)</span></label>
              <textarea id=${`n-${e.escalation_id}`} name="note" maxlength="4000" aria-invalid=${invalid ? "true" : "false"} aria-describedby=${invalid ? `ne-${e.escalation_id}` : nothing}></textarea>
              ${invalid ? html`<p id=${`ne-${e.escalation_id}`} class="error">${invalid}</p>` : nothing}
            </div>
            <p class="row">
              ${e.status === "open" ? html`<button type="button" class="secondary" @click=${(ev: Event) => this.#act(e, "acknowledge", (ev.target as HTMLElement).closest("form")!)}>Acknowledge<span class="sr-only"> ${this.#title(e)}</span></button>` : nothing}
              <button type="button" @click=${(ev: Event) => this.#act(e, "resolve", (ev.target as HTMLElement).closest("form")!)}>Resolve<span class="sr-only"> ${this.#title(e)}</span></button>
            </p>
          </form>`
        : nothing}
    </li>`;
  }

  override render(): TemplateResult {
    const now = this.#now;
    return html`<div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"}>${this.#message.text}</p>` : nothing}</div>
      ${this.#list.render("escalations", (v) => {
        if (v.escalations.length === 0) return html`<p class="card">${this.filter === "active" ? "No open escalations: nothing is waiting for a person." : "No escalations."}</p>`;
        const sorted = [...v.escalations].sort((a, b) => urgency(a, now) - urgency(b, now) || (a.resolved_at && b.resolved_at ? b.resolved_at.localeCompare(a.resolved_at) : 0) || b.created_at.localeCompare(a.created_at));
        return html`<ul class="plain stack" aria-label="Escalations">${repeat(sorted, (e) => e.escalation_id, (e) => this.#item(e, now))}</ul>`;
      })}`;
  }
}

customElements.define("osiris-escalation-list", OsirisEscalationList);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-escalation-list": OsirisEscalationList;
  }
}
