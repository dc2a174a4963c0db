/**
 * A site's escalations (L3): problems handed to people, with their SLA timers counting down, and for MSP and
 * partner staff acknowledge / resolve with a note (escalation-list.ts). Open ones come first, most urgent on top.
 */
import { html, type TemplateResult } from "lit";
import { Section } from "./section.ts";
import "./escalation-list.ts";

export class OsirisSiteEscalations extends Section {
  override render(): TemplateResult {
    return html`<h2>Escalations</h2>
      <p class="muted">Problems the appliance could not fix on its own. Each must be acknowledged, then resolved, within its priority's time limits.</p>
      <osiris-escalation-list .client=${this.client} .session=${this.session} .siteId=${this.siteId} .filter=${"all"}></osiris-escalation-list>`;
  }
}

customElements.define("osiris-site-escalations", OsirisSiteEscalations);
