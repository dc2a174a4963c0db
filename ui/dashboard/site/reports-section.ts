/**
 * Monthly compliance packets of the site: the PDF and the auditor kit to download (plain links: the
 * browser sends the session cookie). A score that rests on out-of-date results or sits beside zero ready
 * controls carries the same warning as on the clinic's portal (packet-words.ts); times are UTC, named, as the
 * PDF prints them. Shown as not available on a relay without the packet routes.
 */
import { html, type TemplateResult } from "lit";
import type { Packet } from "../../relay-client/mod.ts";
import { frameworkText, reportTime, scoreText } from "../format.ts";
import { Load } from "../load.ts";
import { scoreCaveats } from "../packet-words.ts";
import { Section } from "./section.ts";

export class OsirisSiteReports extends Section {
  readonly #list = new Load<{ packets: Packet[] }>(this, () => this.client.packets(this.siteId));

  #table(packets: Packet[]): TemplateResult {
    if (packets.length === 0) return html`<p class="card">No monthly packet yet: the first one is made after the first full month.</p>`;
    return html`<div class="table-wrap">
      <table>
        <caption class="sr-only">Monthly packets</caption>
        <thead><tr><th scope="col">Month</th><th scope="col">Score</th><th scope="col">Controls ready</th><th scope="col">Incidents</th><th scope="col">Download</th></tr></thead>
        <tbody>
          ${packets.map(
            (p) => html`<tr>
              <td>${p.month} <span class="muted">(${frameworkText(p.framework)}, made ${reportTime(p.generated_at)})</span></td>
              <td>
                ${scoreText(p.summary.overall)}
                ${scoreCaveats(p).map((c) => html`<br /><span class="badge warn">${c.label}</span> <span class="muted" data-caveat=${c.code}>${c.text}</span>`)}
              </td>
              <td>${p.summary.controls_ready} of ${p.summary.controls_total}</td>
              <td>${p.summary.incidents}</td>
              <td><a href=${p.pdf_url} download>PDF<span class="sr-only"> for ${p.month}</span></a> · <a href=${p.kit_url} download>Auditor kit<span class="sr-only"> for ${p.month}</span></a></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }

  override render(): TemplateResult {
    return html`<h2>Monthly reports</h2>${this.#list.render("monthly packets", (v) => this.#table(v.packets))}`;
  }
}

customElements.define("osiris-site-reports", OsirisSiteReports);
