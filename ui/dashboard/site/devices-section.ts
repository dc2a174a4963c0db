/**
 * Devices: what network discovery found and the MSP's decision per device (inventory-section.ts), then the
 * managed hosts' latest check results (failing first): what was expected and what the check saw, when, and
 * whether the host could not be reached.
 */
import { css, html, nothing, type TemplateResult } from "lit";
import type { DeviceView } from "../../relay-client/mod.ts";
import { fullTime, plural, relative, STATUS_CLASS, STATUS_TEXT } from "../format.ts";
import { shared } from "../styles.ts";
import { fixAwaitingRecheck } from "./awaiting-recheck.ts";
import { Section } from "./section.ts";
import "./inventory-section.ts";

export class OsirisSiteDevices extends Section {
  static override styles = [
    shared,
    css`
      .device {
        margin-bottom: 1rem;
      }
      .device h3 {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: center;
      }
      td.value {
        max-width: 16rem;
      }
      details {
        margin-top: 0.5rem;
      }
      summary {
        cursor: pointer;
        color: var(--link, #0b5c8e);
        padding: 0.25rem 0;
      }
    `,
  ];

  #table(d: DeviceView, results: DeviceView["results"], now: number, what: string): TemplateResult | typeof nothing {
    if (results.length === 0) return nothing;
    return html`<div class="table-wrap">
      <table class="stack">
        <caption class="sr-only">Checks ${what} on ${d.hostname ?? d.host_id}</caption>
        <thead><tr><th scope="col">Check</th><th scope="col">Result</th><th scope="col">Seen</th><th scope="col">Checked</th></tr></thead>
        <tbody>
          ${results.map((r) => {
            const fix = fixAwaitingRecheck(this.detail.incidents, d.host_id, r);
            return html`<tr>
              <td>${r.title}<br /><code class="muted">${r.check}</code></td>
              <td data-label="Result">${fix
                ? html`<span class="badge info">Fixed, waiting for the next check</span><br /><span class="muted">fixed <time datetime=${fix.finished_at} title=${fullTime(fix.finished_at)}>${relative(fix.finished_at, now)}</time>; the next check confirms it</span>`
                : html`<span class="badge ${STATUS_CLASS[r.status]}">${r.unreachable ? "Host unreachable" : STATUS_TEXT[r.status]}</span>`}</td>
              <td class="value" data-label="Seen">${r.actual !== null ? html`<code>${r.actual}</code>` : "—"}${r.status === "fail" && r.expected !== null ? html`<br /><span class="muted">expected <code>${r.expected}</code></span>` : nothing}</td>
              <td data-label="Checked"><time datetime=${r.finished_at} title=${fullTime(r.finished_at)}>${relative(r.finished_at, now)}</time></td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>`;
  }

  #headline(d: DeviceView): TemplateResult {
    if (d.results.some((r) => r.unreachable)) return html`<span class="badge bad">Did not answer at the last check</span>`;
    const fixed = d.results.filter((r) => fixAwaitingRecheck(this.detail.incidents, d.host_id, r) !== null).length;
    const open = d.failing - fixed;
    if (open > 0) return html`<span class="badge bad">${plural(open, "check")} ${open === 1 ? "needs" : "need"} attention</span>`;
    if (fixed > 0) return html`<span class="badge info">Fixed, waiting for the next check</span>`;
    return html`<span class="badge ok">All checks pass</span>`;
  }

  #device(d: DeviceView, now: number): TemplateResult {
    const id = `dev-${d.host_id.replace(/[^a-z0-9_-]/gi, "_")}`;
    return html`<section class="card device" aria-labelledby=${id}>
      <h3 id=${id}>
        ${d.hostname ?? d.host_id}
        ${d.platform ? html`<span class="badge none">${d.platform}</span>` : nothing}
        ${this.#headline(d)}
      </h3>
      <p class="muted">Host <code>${d.host_id}</code>${d.os_version ? ` · ${d.os_version}` : ""} · last checked ${relative(d.last_check, now)}</p>
      ${this.#table(d, d.results.filter((r) => r.status === "fail" || r.status === "error"), now, "needing attention")}
      ${d.results.some((r) => r.status === "pass" || r.status === "not_applicable")
        ? html`<details>
            <summary>Show ${plural(d.results.filter((r) => r.status === "pass" || r.status === "not_applicable").length, "passing or not applicable check")}<span class="sr-only"> of ${d.hostname ?? d.host_id}</span></summary>
            ${this.#table(d, d.results.filter((r) => r.status === "pass" || r.status === "not_applicable"), now, "passing or not applicable")}
          </details>`
        : nothing}
    </section>`;
  }

  override render(): TemplateResult {
    const now = Date.now();
    const devices = this.detail.devices;
    return html`<osiris-site-inventory .client=${this.client} .session=${this.session} .siteId=${this.siteId}></osiris-site-inventory>
      <h2>Checks by device (${devices.length})</h2>
      ${devices.length === 0 ? html`<p class="card">No check results from this site in the last 30 days.</p>` : devices.map((d) => this.#device(d, now))}`;
  }
}

customElements.define("osiris-site-devices", OsirisSiteDevices);
