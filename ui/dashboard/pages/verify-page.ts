/**
 * `<osiris-verify-page>` at `/verify`: anyone (an external auditor, with no account on this relay) checks an
 * auditor kit they were sent, in their own browser: they pick the ZIP from their disk and the page's Web
 * Worker verifies every signature, the hash chains, the relay-cosigned checkpoints and the relay's signed
 * manifest. Nothing is uploaded, and the page needs no sign-in: it reads no data from the relay. `?sha256=`
 * (the kit hash a packet prints) makes a kit with another hash fail; `?relay_key=` fills in the relay key.
 */
import { css, html, LitElement } from "lit";
import "../../verifier/kit-verifier.ts";
import { shared } from "../styles.ts";

export class OsirisVerifyPage extends LitElement {
  static override properties = { sha256: { attribute: false }, relayKey: { attribute: false } };
  static override styles = [
    shared,
    css`
      :host {
        display: block;
        max-width: 46rem;
        margin: 2rem auto 0;
      }
    `,
  ];

  declare sha256: string | null;
  declare relayKey: string | null;

  constructor() {
    super();
    this.sha256 = null;
    this.relayKey = null;
  }

  async focusHeading(): Promise<void> {
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>("h1")?.focus();
  }

  override render() {
    return html`<h1 tabindex="-1">Verify an evidence kit</h1>
      <p>
        This page checks an OsirisCare auditor kit (the ZIP named in a monthly compliance packet) entirely in your browser: every signature, the hash
        chain of each appliance, the checkpoints the relay countersigned and the relay's signed list of what it exported. The file is not uploaded.
      </p>
      <p>Without a relay key, a kit checks out against the keys it carries: then compare the kit's SHA-256 and the key shown in the result with the ones in the packet.</p>
      <osiris-kit-verifier .expectedSha256=${this.sha256 ?? ""} .relayKey=${this.relayKey ?? ""}></osiris-kit-verifier>`;
  }
}

customElements.define("osiris-verify-page", OsirisVerifyPage);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-verify-page": OsirisVerifyPage;
  }
}
