/**
 * Orders and approvals. The approvals queue first (fixes waiting for a person: approving makes the relay
 * sign the order for the appliance), then a form to issue an order from the catalogue's order-type registry
 * (its parameters drawn from the type's schema; types the user may not sign are not offered), then the
 * site's orders with their status and the appliance's result.
 */
import { css, html, nothing, type TemplateResult } from "lit";
import type { ApprovalRequest, OrderTypeView, OrderView } from "../../relay-client/mod.ts";
import { fullTime, ORDER_RESULT_TEXT, OUTCOME_CLASS, relative } from "../format.ts";
import { Load } from "../load.ts";
import { shared } from "../styles.ts";
import { Section } from "./section.ts";

/**
 * The part of an order type's parameter schema (JSON Schema, as /api/order-types gives it: the relay's
 * protocol/catalogue/params.ts toJsonSchema) the form reads: a choice list for `enum`, a number field for
 * `integer`, a checkbox for `boolean`, comma-separated text for a string `array`, JSON text for an `object`.
 * The relay validates what is sent; the form only helps.
 */
interface ParamProp {
  type: "string" | "integer" | "boolean" | "array" | "object";
  description: string;
  enum?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
}
interface ParamsSchema {
  properties: Record<string, ParamProp>;
  required: string[];
}

/** The form's reading of a JSON Schema (an order type with no parameters has none to show). */
function paramsOf(schema: Record<string, unknown>): ParamsSchema {
  return { properties: (schema["properties"] ?? {}) as Record<string, ParamProp>, required: (schema["required"] ?? []) as string[] };
}

const ORDER_STATE: Readonly<Record<string, [string, string]>> = { pending: ["Waiting for the appliance", "info"], done: ["Done", "ok"], expired: ["Expired unused", "none"], cancelled: ["Cancelled", "none"] };
const VALID_FOR: [number, string][] = [
  [3600, "1 hour"],
  [86_400, "1 day"],
  [604_800, "7 days"],
];

/** An order's parameters, one per line (`name: value`; nested values as JSON), or a dash when it has none. */
function orderParams(params: Record<string, unknown>): TemplateResult | string {
  const entries = Object.entries(params);
  if (entries.length === 0) return "—";
  return html`<dl class="order-params">
    ${entries.map(([name, value]) => html`<dt class="muted">${name}</dt><dd><code>${typeof value === "string" ? value : JSON.stringify(value)}</code></dd>`)}
  </dl>`;
}

export class OsirisSiteOrders extends Section {
  static override styles = [
    shared,
    css`
      .approval .actions {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1rem;
        align-items: flex-end;
      }
      .approval .field {
        margin: 0;
      }
      dl.signed {
        margin: 0.25rem 0;
      }
      dl.signed div {
        display: flex;
        flex-wrap: wrap;
        gap: 0 0.5rem;
      }
      dl.signed dt {
        font-weight: 600;
      }
      dl.signed dd {
        margin: 0;
        overflow-wrap: anywhere;
      }
      .params {
        display: grid;
        gap: 0 1rem;
        grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr));
      }
      dl.order-params {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 0 0.5rem;
        margin: 0;
        min-width: min(22rem, 60vw);
      }
      dl.order-params dd {
        margin: 0;
        overflow-wrap: break-word;
      }
    `,
  ];
  readonly #approvals = new Load<{ approvals: ApprovalRequest[] }>(this, () => this.client.approvals(this.siteId));
  readonly #orders = new Load<{ orders: OrderView[] }>(this, () => this.client.orders(this.siteId));
  readonly #types = new Load<{ order_types: OrderTypeView[] }>(this, () => this.client.orderTypes());
  #type = "force_scan";
  #message: { ok: boolean; text: string } | null = null;
  #approvalMessage: { ok: boolean; text: string } | null = null;

  async #decide(a: ApprovalRequest, approve: boolean, form: HTMLFormElement): Promise<void> {
    const data = new FormData(form);
    const note = String(data.get("note") ?? "").trim();
    try {
      const r = approve ? await this.client.approve(a.id, { valid_for_s: Number(data.get("valid_for") ?? 86_400), ...(note ? { note } : {}) }) : await this.client.reject(a.id, note || undefined);
      this.#approvalMessage = { ok: true, text: approve ? `Approved: order ${r.order_id} is signed and waits for the appliance.` : "Rejected." };
      await Promise.all([this.#approvals.run(true), this.#orders.run(true)]);
    } catch (err) {
      this.#approvalMessage = { ok: false, text: this.messageOf(err) };
    }
    this.requestUpdate();
  }

  #paramsFrom(form: FormData, schema: ParamsSchema): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, p] of Object.entries(schema.properties)) {
      const raw = form.get(`p_${name}`);
      if (p.type === "boolean") {
        if (raw !== null) out[name] = true;
        else if (schema.required.includes(name) || p.default !== undefined) out[name] = false;
        continue;
      }
      const text = typeof raw === "string" ? raw.trim() : "";
      if (text === "") continue;
      if (p.type === "integer") out[name] = Number(text);
      else if (p.type === "object") out[name] = JSON.parse(text) as unknown;
      else if (p.type === "array") out[name] = text.split(",").map((s) => s.trim()).filter(Boolean);
      else out[name] = text;
    }
    return out;
  }

  async #issue(e: SubmitEvent, types: OrderTypeView[]): Promise<void> {
    e.preventDefault();
    const el = e.target as HTMLFormElement; // event.target is cleared once dispatch ends (shadow DOM)
    const form = new FormData(el);
    const type = types.find((t) => t.type === this.#type);
    if (!type) return;
    try {
      const params = this.#paramsFrom(form, paramsOf(type.params_schema));
      const r = await this.client.issueOrder(this.siteId, { appliance_id: String(form.get("appliance") ?? ""), type: type.type, params });
      this.#message = { ok: true, text: `Order ${r.order_id} is signed; the appliance picks it up at its next sync. It expires ${fullTime(r.expires_at)}.` };
      el.reset();
      await this.#orders.run(true);
    } catch (err) {
      this.#message = { ok: false, text: err instanceof SyntaxError ? `A parameter is not valid JSON: ${err.message}` : this.messageOf(err) };
    }
    this.requestUpdate();
  }

  #approvalItem(a: ApprovalRequest): TemplateResult {
    const now = Date.now();
    const heading = a.kind === "runbook" ? `Run ${a.runbook_id} on ${a.host_id}` : `${a.order_title}${a.host_id ? ` on ${a.host_id}` : ""}`;
    const params = Object.entries(a.params);
    return html`<li class="card approval">
      <h3>${heading}</h3>
      <p>${a.reason}</p>
      <dl class="signed" aria-label="What approving signs">
        <div><dt>Order</dt><dd><code>${a.order_type}</code> for appliance <code>${a.appliance_id}</code></dd></div>
        <div><dt>Parameters</dt><dd>${params.length === 0 ? "none" : params.map(([k, v], i) => html`${i ? ", " : nothing}<code>${k} = ${typeof v === "string" ? v : JSON.stringify(v)}</code>`)}</dd></div>
      </dl>
      <p class="muted">${a.check_title ? html`For “${a.check_title}” · ` : nothing}requested ${relative(a.requested_at, now)} by ${a.requested_by}</p>
      ${a.state === "pending"
        ? html`<form class="actions" @submit=${(e: SubmitEvent) => e.preventDefault()}>
            ${a.order_type === "approve_runbook"
              ? html`<div class="field">
                  <label for=${`vf-${a.id}`}>Approval lasts</label>
                  <select id=${`vf-${a.id}`} name="valid_for">${VALID_FOR.map(([s, t]) => html`<option value=${s} ?selected=${s === 86_400}>${t}</option>`)}</select>
                </div>`
              : nothing}
            <div class="field">
              <label for=${`note-${a.id}`}>Note <span class="hint">(optional)</span></label>
              <input id=${`note-${a.id}`} name="note" maxlength="2000" />
            </div>
            <button type="button" @click=${(e: Event) => this.#decide(a, true, (e.target as HTMLElement).closest("form")!)}>Approve<span class="sr-only">: ${heading}</span></button>
            <button type="button" class="danger" @click=${(e: Event) => this.#decide(a, false, (e.target as HTMLElement).closest("form")!)}>Reject<span class="sr-only">: ${heading}</span></button>
          </form>`
        : html`<p><span class="badge ${a.state === "approved" ? "ok" : "bad"}">${a.state === "approved" ? "Approved" : "Rejected"}</span> ${relative(a.decided_at, now)}${a.order_id ? html` · order <code>${a.order_id}</code>` : nothing}${a.decision_note ? ` · “${a.decision_note}”` : ""}</p>`}
    </li>`;
  }

  #field(name: string, p: ParamProp, required: boolean): TemplateResult {
    const id = `p-${name}`;
    const label = html`<label for=${id}>${name.replaceAll("_", " ")}${required ? "" : html` <span class="hint">(optional)</span>`}<br /><span class="hint">${p.description}</span></label>`;
    if (p.enum) {
      return html`<div class="field">${label}<select id=${id} name=${`p_${name}`} ?required=${required}>${required ? nothing : html`<option value="">(default)</option>`}${p.enum.map((v) => html`<option ?selected=${v === p.default}>${v}</option>`)}</select></div>`;
    }
    switch (p.type) {
      case "boolean":
        return html`<div class="field"><label class="check" for=${id}><input id=${id} name=${`p_${name}`} type="checkbox" ?checked=${p.default === true} /> ${name.replaceAll("_", " ")} <span class="hint">${p.description}</span></label></div>`;
      case "integer":
        return html`<div class="field">${label}<input id=${id} name=${`p_${name}`} type="number" step="1" min=${p.minimum ?? ""} max=${p.maximum ?? ""} placeholder=${p.default === undefined ? "" : String(p.default)} ?required=${required} /></div>`;
      case "object":
        return html`<div class="field">${label}<textarea id=${id} name=${`p_${name}`} rows="3" class="mono" placeholder="{}"></textarea></div>`;
      default:
        return html`<div class="field">${label}<input id=${id} name=${`p_${name}`} autocomplete="off" spellcheck="false" ?required=${required} /></div>`;
    }
  }

  #issueForm(types: OrderTypeView[]): TemplateResult {
    const allowed = types.filter((t) => t.allowed);
    const apps = this.detail.appliances.filter((a) => a.state === "active");
    if (apps.length === 0) return html`<p class="card">No active appliance at this site to send an order to.</p>`;
    const type = allowed.find((t) => t.type === this.#type) ?? allowed[0];
    if (!type) return html`<p class="card">Your role cannot issue orders.</p>`;
    const schema = paramsOf(type.params_schema);
    return html`<form class="card" @submit=${(e: SubmitEvent) => this.#issue(e, allowed)}>
      <div class="params">
        <div class="field">
          <label for="order-type">Order</label>
          <select id="order-type" @change=${(e: Event) => ((this.#type = (e.target as HTMLSelectElement).value), (this.#message = null), this.requestUpdate())}>
            ${allowed.map((t) => html`<option value=${t.type} ?selected=${t.type === type.type}>${t.title}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="appliance">Appliance</label>
          <select id="appliance" name="appliance">${apps.map((a) => html`<option value=${a.id}>${a.id}${a.simulated ? " (simulated)" : ""}</option>`)}</select>
        </div>
      </div>
      <p class="muted">${type.description}${type.privileged ? " Privileged: only MSP administrators may sign it." : ""}</p>
      <div class="params">${Object.entries(schema.properties).map(([n, p]) => this.#field(n, p, schema.required.includes(n)))}</div>
      <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"} role=${this.#message.ok ? "status" : "alert"}>${this.#message.text}</p>` : nothing}</div>
      <button type="submit">Sign and send order</button>
    </form>`;
  }

  #orderList(orders: OrderView[]): TemplateResult {
    if (orders.length === 0) return html`<p class="card">No orders yet.</p>`;
    const now = Date.now();
    return html`<div class="table-wrap">
      <table class="stack">
        <caption class="sr-only">Orders of this site, newest first</caption>
        <thead><tr><th scope="col">Order</th><th scope="col">Parameters</th><th scope="col">Issued</th><th scope="col">Status</th><th scope="col">Result</th></tr></thead>
        <tbody>
          ${orders.map((o) => {
            const [text, cls] = ORDER_STATE[o.status] ?? [o.status, "none"];
            return html`<tr>
              <td>${o.title}<br /><code class="muted">${o.order_id}</code></td>
              <td data-label="Parameters">${orderParams(o.params)}</td>
              <td data-label="Issued">${relative(o.issued_at, now)}<br /><span class="muted">by ${o.issued_by_email ?? o.issued_by}</span></td>
              <td data-label="Status"><span class="badge ${cls}">${text}</span></td>
              <td data-label="Result">${o.result ? html`<span class="badge ${OUTCOME_CLASS[o.result.outcome] ?? "none"}">${ORDER_RESULT_TEXT[o.result.outcome] ?? o.result.outcome}</span> ${o.result.detail}` : "—"}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>`;
  }

  override render(): TemplateResult {
    return html`
      <h2>Approvals</h2>
      <div aria-live="polite">${this.#approvalMessage ? html`<p class=${this.#approvalMessage.ok ? "success" : "error"}>${this.#approvalMessage.text}</p>` : nothing}</div>
      ${this.#approvals.render("the approvals", (v) => {
        const pending = v.approvals.filter((a) => a.state === "pending");
        const decided = v.approvals.filter((a) => a.state !== "pending").slice(0, 10);
        return html`${pending.length === 0 ? html`<p class="card">Nothing waits for approval.</p>` : html`<ul class="plain stack" aria-label="Waiting for approval">${pending.map((a) => this.#approvalItem(a))}</ul>`}
        ${decided.length ? html`<h3 class="muted">Recently decided</h3><ul class="plain stack" aria-label="Recently decided">${decided.map((a) => this.#approvalItem(a))}</ul>` : nothing}`;
      })}
      <h2>Send an order</h2>
      ${this.#types.render("the order types", (v) => this.#issueForm(v.order_types))}
      <h2>Orders</h2>
      ${this.#orders.render("the orders", (v) => this.#orderList(v.orders))}
    `;
  }
}

customElements.define("osiris-site-orders", OsirisSiteOrders);
