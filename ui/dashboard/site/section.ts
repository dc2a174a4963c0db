/**
 * Base of the site page's sections: the client, session, site id and the site document the page loaded.
 * A section that changed something asks the page to reload the site (`osiris-site-changed`).
 */
import { LitElement } from "lit";
import type { RelayClient, Session, SiteDetail } from "../../relay-client/mod.ts";
import { OPERATOR_ROLES } from "../pages/page.ts";
import { shared } from "../styles.ts";

export abstract class Section extends LitElement {
  static override properties = { client: { attribute: false }, session: { attribute: false }, siteId: { attribute: false }, detail: { attribute: false } };
  static override styles = [shared];
  declare client: RelayClient;
  declare session: Session;
  declare siteId: string;
  declare detail: SiteDetail;

  get userRole(): string {
    return this.session.user.role;
  }

  get isOperator(): boolean {
    return OPERATOR_ROLES.includes(this.userRole);
  }

  protected siteChanged(): void {
    this.dispatchEvent(new CustomEvent("osiris-site-changed", { bubbles: true, composed: true }));
  }

  /** The message of an error, for an alert. */
  protected messageOf(e: unknown): string {
    return e instanceof Error ? e.message : String(e);
  }
}
