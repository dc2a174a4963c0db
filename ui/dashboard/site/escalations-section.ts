/**
 * Escalations (L3): problems handed to people, with their SLA timers — when a response and a resolution are
 * due, and whether either is overdue — and, for MSP and partner staff, acknowledge and resolve with a note.
 * Shown as not available on a relay without the escalation routes.
 */
import { html, nothing, type TemplateResult } from "lit";
import type { Escalation } from "../../relay-client/mod.ts";
import { fullTime, relative } from "../format.ts";
import { Load } from "../load.ts";
import { Section } from "./section.ts";

const PRIORITY_CLASS: Readonly<Record<string, string>> = { critical: "bad", high: "bad", medium: "warn", low: "none" };

/** "due in 3 hours" / "overdue by 20 minutes" / "met". */
export function slaText(dueAt: string, doneAt: string | null, overdue: boolean, now: number): { text: string; cls: string } {
  if (doneAt) return { text: doneAt <= dueAt ? "met" : "met late", cls: doneAt <= dueAt ? "ok" : "warn" };
  if (overdue || Date.parse(dueAt) < now) return { text: `overdue by ${relative(dueAt, now).replace(" ago", "")}`, cls: "bad" };
  return { text: `due ${relative(dueAt, now)}`, cls: "info" };
}

export class OsirisSiteEscalations extends Section {
  readonly #list = new Load<{ escalations: Escalation[] }>(this, () => this.client.escalations(this.siteId), { refreshMs: 60_000 });
  #message: { ok: boolean; text: string } | null = null;

  async #act(e: Escalation, verb: "acknowledge" | "resolve", form: HTMLFormElement): Promise<void> {
    const note = String(new FormData(form).get("note") ?? "").trim();
    try {
      if (verb === "acknowledge") await this.client.acknowledgeEscalation(e.escalation_id, note || undefined);
      else await this.client.resolveEscalation(e.escalation_id, note);
      this.#message = { ok: true, text: verb === "acknowledge" ? "Acknowledged." : "Resolved." };
      await this.#list.run(true);
    } catch (err) {
      this.#message = { ok: false, text: this.messageOf(err) };
    }
    this.requestUpdate();
  }

  #item(e: Escalation, now: number): TemplateResult {
    const response = slaText(e.response_due_at, e.acknowledged_at ?? e.resolved_at, e.response_overdue, now);
    const resolution = slaText(e.resolution_due_at, e.resolved_at, e.resolution_overdue, now);
    return html`<li class="card">
      <h3>${e.check ?? "Escalation"}${e.host_id ? html` on <code>${e.host_id}</code>` : nothing}</h3>
      <p class="row">
        <span class="badge ${PRIORITY_CLASS[e.priority] ?? "none"}">${e.priority} priority</span>
        <span class="badge ${e.status === "resolved" ? "ok" : e.status === "acknowledged" ? "info" : "bad"}">${e.status}</span>
        <span class="badge ${response.cls}">Response ${response.text}</span>
        <span class="badge ${resolution.cls}">Resolution ${resolution.text}</span>
      </p>
      <p>${e.reason}</p>
      <p class="muted">Opened ${fullTime(e.created_at)}${e.acknowledged_by ? ` · acknowledged by ${e.acknowledged_by}` : ""}${e.resolution_note ? ` · “${e.resolution_note}”` : ""}</p>
      ${this.isOperator && e.status !== "resolved"
        ? html`<form class="row" @submit=${(ev: SubmitEvent) => ev.preventDefault()}>
            <div class="field"><label for=${`n-${e.escalation_id}`}>Note</label><input id=${`n-${e.escalation_id}`} name="note" maxlength="2000" /></div>
            ${e.status === "open" ? html`<button type="button" class="secondary" @click=${(ev: Event) => this.#act(e, "acknowledge", (ev.target as HTMLElement).closest("form")!)}>Acknowledge</button>` : nothing}
            <button type="button" @click=${(ev: Event) => this.#act(e, "resolve", (ev.target as HTMLElement).closest("form")!)}>Resolve</button>
          </form>`
        : nothing}
    </li>`;
  }

  override render(): TemplateResult {
    const now = Date.now();
    return html`<h2>Escalations</h2>
      <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"}>${this.#message.text}</p>` : nothing}</div>
      ${this.#list.render("escalations", (v) => (v.escalations.length === 0 ? html`<p class="card">No escalations for this site.</p>` : html`<ul class="plain stack">${v.escalations.map((e) => this.#item(e, now))}</ul>`))}`;
  }
}

customElements.define("osiris-site-escalations", OsirisSiteEscalations);
