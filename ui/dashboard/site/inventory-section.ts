/**
 * `<osiris-site-inventory>`: what network discovery found at a site — every device with its type and how
 * sure the classifier is (and why), its open ports, when it was first and last seen — and, for MSP and partner
 * staff, the decision per device: monitored (credentials and checks apply), excluded (the appliance never
 * probes it again: fragile medical devices), medical, or not decided. New-device alerts and the latest
 * changes (new device, gone, port opened…) are listed below.
 */
import { css, html, LitElement, nothing, type TemplateResult } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { DeviceType } from "../../../protocol/catalogue/services.ts";
import services from "../../../protocol/catalogue/data/services.json" with { type: "json" };
import type { DeviceStatus, InventoryDevice, InventoryEvents, InventoryList, RelayClient, Session } from "../../relay-client/mod.ts";
import { fullTime, plural, relative } from "../format.ts";
import { Load } from "../load.ts";
import { OPERATOR_ROLES } from "../pages/page.ts";
import { shared } from "../styles.ts";

/** Plain names of the classifier's device types (protocol/catalogue/services.ts DEVICE_TYPE_TITLES; typed so a new type fails the build). */
export const DEVICE_TYPE_TEXT: Readonly<Record<DeviceType, string>> = {
  domain_controller: "Domain controller",
  file_server: "File server",
  sql_server: "SQL server",
  backup_server: "Backup server",
  mail_server: "Mail server",
  printer: "Printer / copier",
  web_device: "Web-managed device",
  workstation: "Workstation",
  network_gear: "Network gear",
  medical_imaging: "Medical / imaging device",
  unknown: "Unknown device",
};

/** The MSP's decisions, in the order offered. */
export const DECISIONS: readonly { status: DeviceStatus; text: string; cls: string; hint: string }[] = [
  { status: "discovered", text: "Not decided", cls: "none", hint: "seen on the network; nothing applies yet" },
  { status: "monitored", text: "Monitored", cls: "ok", hint: "credentials and checks apply" },
  { status: "excluded", text: "Excluded", cls: "warn", hint: "never probed again" },
  { status: "medical", text: "Medical device", cls: "sim", hint: "fragile: handled with care" },
];

const EVENT_TEXT: Readonly<Record<string, string>> = {
  new_device: "New device",
  device_gone: "Gone from the network",
  device_returned: "Back on the network",
  port_opened: "Port opened",
  port_closed: "Port closed",
  type_changed: "Type changed",
};

const SERVICE_BY_PORT = new Map((services as { port: number; service: string }[]).map((s) => [s.port, s.service]));
/** Events and alerts shown (the relay keeps more). */
const RECENT = 15;

const nameOf = (d: InventoryDevice) => d.hostname ?? d.netbios_name ?? d.mdns_name ?? d.ip;

export class OsirisSiteInventory extends LitElement {
  static override properties = { client: { attribute: false }, session: { attribute: false }, siteId: { attribute: false } };
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .ports {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem;
        max-width: 16rem;
      }
      .port {
        white-space: nowrap;
        border: 1px solid var(--line);
        border-radius: 4px;
        padding: 0 0.3rem;
        font-size: 0.85rem;
      }
      td.decision {
        min-width: 13rem;
      }
      .decide {
        display: flex;
        flex-wrap: nowrap;
        gap: 0.35rem;
        align-items: center;
        margin-top: 0.35rem;
      }
      summary {
        cursor: pointer;
        color: var(--link, #0b5c8e);
      }
      details ul {
        margin: 0.3rem 0 0;
        padding-left: 1.1rem;
      }
      tr.gone td {
        color: var(--muted);
      }
    `,
  ];
  declare client: RelayClient;
  declare session: Session;
  declare siteId: string;

  readonly #list = new Load<InventoryList>(this, (signal) => this.client.inventory(this.siteId, { include_gone: true }, signal), { refreshMs: 60_000 });
  readonly #events = new Load<InventoryEvents>(this, (signal) => this.client.inventoryEvents(this.siteId, RECENT, signal));
  #message: { ok: boolean; text: string } | null = null;

  get #isOperator(): boolean {
    return OPERATOR_ROLES.includes(this.session.user.role);
  }

  async #decide(d: InventoryDevice, select: HTMLSelectElement): Promise<void> {
    const status = select.value as DeviceStatus;
    try {
      const after = await this.client.setDeviceStatus(d.id, status);
      const what = DECISIONS.find((x) => x.status === after.status);
      this.#message = { ok: true, text: `${nameOf(d)} (${d.ip}): ${what?.text ?? after.status}${what ? ` — ${what.hint}` : ""}.${after.status === "excluded" ? " The site's appliances receive the exclusion with their next pull." : ""}` };
      await this.#list.run(true);
    } catch (e) {
      this.#message = { ok: false, text: e instanceof Error ? e.message : String(e) };
    }
    this.requestUpdate();
  }

  #row(d: InventoryDevice, now: number): TemplateResult {
    const decision = DECISIONS.find((x) => x.status === d.status) ?? DECISIONS[0]!;
    const sel = `dec-${d.id}`;
    return html`<tr class=${d.gone_at ? "gone" : ""}>
      <td data-label="Device">
        <strong>${nameOf(d)}</strong>${d.gone_at ? html` <span class="badge none">gone ${relative(d.gone_at, now)}</span>` : nothing}<br />
        <span class="muted"><code>${d.ip}</code>${d.mac ? html` · <code>${d.mac}</code>` : nothing}${d.vendor ? ` · ${d.vendor}` : ""}</span>
      </td>
      <td data-label="Type">
        ${DEVICE_TYPE_TEXT[d.device_type] ?? d.device_type}<br /><span class="muted">${d.confidence} % sure</span>
        ${d.evidence.length
          ? html`<details>
              <summary>Why<span class="sr-only"> ${nameOf(d)} looks like this</span></summary>
              <ul>${d.evidence.map((e) => html`<li>${e}</li>`)}</ul>
            </details>`
          : nothing}
      </td>
      <td data-label="Open ports">
        ${d.open_ports.length ? html`<span class="ports">${d.open_ports.map((p) => html`<span class="port"><code>${p}</code>${SERVICE_BY_PORT.has(p) ? ` ${SERVICE_BY_PORT.get(p)}` : ""}</span>`)}</span>` : html`<span class="muted">none</span>`}
      </td>
      <td data-label="First seen"><time datetime=${d.first_seen} title=${fullTime(d.first_seen)}>${fullTime(d.first_seen)}</time></td>
      <td data-label="Last seen"><time datetime=${d.last_seen} title=${fullTime(d.last_seen)}>${relative(d.last_seen, now)}</time></td>
      <td data-label="Decision" class="decision">
        <span class="badge ${decision.cls}">${decision.text}</span>
        ${d.status_changed_by ? html`<br /><span class="muted">by ${d.status_changed_by}</span>` : nothing}
        ${this.#isOperator
          ? html`<form class="decide" @submit=${(e: SubmitEvent) => (e.preventDefault(), void this.#decide(d, (e.target as HTMLFormElement).querySelector("select")!))}>
              <label class="sr-only" for=${sel}>Decision for ${nameOf(d)} (${d.ip})</label>
              <select id=${sel}>
                ${DECISIONS.map((x) => html`<option value=${x.status} ?selected=${x.status === d.status}>${x.text}</option>`)}
              </select>
              <button type="submit" class="secondary">Set<span class="sr-only"> decision for ${nameOf(d)} (${d.ip})</span></button>
            </form>`
          : nothing}
      </td>
    </tr>`;
  }

  #table(v: InventoryList, now: number): TemplateResult {
    const live = v.devices.filter((d) => !d.gone_at);
    const counts = DECISIONS.map((x) => [x, live.filter((d) => d.status === x.status).length] as const).filter(([, n]) => n > 0);
    return html`
      <p class="muted">
        Last scan ${relative(v.last_scan_at, now)}${v.last_scan_at ? ` (${fullTime(v.last_scan_at)})` : ""}.
        ${v.learning_until && Date.parse(v.learning_until) > now ? `Learning the network until ${fullTime(v.learning_until)}: new devices are alerted after that.` : ""}
      </p>
      ${counts.length ? html`<p class="row">${counts.map(([x, n]) => html`<span class="badge ${x.cls}">${n} ${x.text.toLowerCase()}</span>`)}</p>` : nothing}
      ${v.devices.length === 0
        ? html`<p class="card">No devices discovered yet. The appliance scans the site's subnets nightly, or now with a "Discover devices on a subnet" order (Orders and approvals).</p>`
        : html`<div class="table-wrap">
            <table class="stack">
              <caption class="sr-only">Devices discovered on the network</caption>
              <thead><tr><th scope="col">Device</th><th scope="col">Type</th><th scope="col">Open ports</th><th scope="col">First seen</th><th scope="col">Last seen</th><th scope="col">Decision</th></tr></thead>
              <tbody>${repeat(v.devices, (d) => d.id, (d) => this.#row(d, now))}</tbody>
            </table>
          </div>`}
    `;
  }

  #changes(e: InventoryEvents, devices: readonly InventoryDevice[], now: number): TemplateResult | typeof nothing {
    const byId = new Map(devices.map((d) => [d.id, d]));
    const raised = e.alerts.filter((a) => a.state === "raised");
    if (e.events.length === 0 && e.alerts.length === 0) return nothing;
    return html`
      ${raised.length
        ? html`<div class="banner warn" role="status">
            <strong>${plural(raised.length, "new-device alert")}</strong>
            <ul>${raised.slice(0, 5).map((a) => html`<li>${a.message} <span class="muted">(${relative(a.raised_at, now)})</span></li>`)}</ul>
          </div>`
        : nothing}
      <details>
        <summary>Latest changes on the network (${e.events.length})</summary>
        <ul>
          ${e.events.map((ev) => {
            const d = byId.get(ev.device_id);
            const port = typeof ev.details["port"] === "number" ? ` ${ev.details["port"]}${ev.details["service"] ? ` (${String(ev.details["service"])})` : ""}` : "";
            const who = d ? (nameOf(d) === d.ip ? d.ip : `${nameOf(d)} (${d.ip})`) : String(ev.details["ip"] ?? ev.device_id);
            return html`<li><time datetime=${ev.at}>${fullTime(ev.at)}</time>: ${EVENT_TEXT[ev.kind] ?? ev.kind}${port} — ${who}</li>`;
          })}
        </ul>
      </details>
    `;
  }

  override render(): TemplateResult {
    const now = Date.now();
    const count = this.#list.value ? this.#list.value.devices.filter((d) => !d.gone_at).length : null;
    return html`<h2>Network inventory${count === null ? "" : ` (${plural(count, "device")})`}</h2>
      <div aria-live="polite">${this.#message ? html`<p class=${this.#message.ok ? "success" : "error"}>${this.#message.text}</p>` : nothing}</div>
      ${this.#list.render("the device inventory", (v) => this.#table(v, now))}
      ${this.#events.value && this.#list.value ? this.#changes(this.#events.value, this.#list.value.devices, now) : nothing}`;
  }
}

customElements.define("osiris-site-inventory", OsirisSiteInventory);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-site-inventory": OsirisSiteInventory;
  }
}
