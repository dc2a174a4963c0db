/**
 * What every dashboard page shares: the relay client and the signed-in session (set by the app), the page's
 * document title, and moving focus to its heading after a navigation (so a screen reader announces the new
 * page, as a full page load would).
 */
import { LitElement } from "lit";
import type { RelayClient, Session } from "../../relay-client/mod.ts";
import { shared } from "../styles.ts";

export const MSP_ROLES = ["msp_admin", "msp_tech"];
export const OPERATOR_ROLES = ["msp_admin", "msp_tech", "partner_admin", "partner_tech"];

export abstract class Page extends LitElement {
  static override properties = { client: { attribute: false }, session: { attribute: false } };
  static override styles = [shared];
  declare client: RelayClient;
  declare session: Session;

  /** Product name as the partner calls it (for titles). */
  get productName(): string {
    return this.session?.branding.name ?? "OsirisCare";
  }

  get userRole(): string {
    return this.session?.user.role ?? "";
  }

  get isOperator(): boolean {
    return OPERATOR_ROLES.includes(this.userRole);
  }

  get isMspStaff(): boolean {
    return MSP_ROLES.includes(this.userRole);
  }

  protected setTitle(title: string): void {
    document.title = `${title} · ${this.productName}`;
  }

  /** Focuses the page's h1 (after the app navigated here). */
  async focusHeading(): Promise<void> {
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>("h1")?.focus();
  }
}
