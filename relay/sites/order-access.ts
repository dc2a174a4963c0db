/**
 * Who may sign which order: the catalogue's order-type registry marks some types `privileged` ("only MSP
 * administrators may issue it"); the others may be issued by anyone who operates the site (MSP and partner
 * staff). Deciding an approval request is issuing its order, so the same rule applies.
 */
import { getOrderType } from "../../protocol/catalogue/mod.ts";
import { SITE_OPERATORS, type Principal } from "../http/types.ts";

/** Whether `principal` may issue an order of `type` (false for an unknown type). */
export function mayIssueOrderType(principal: Pick<Principal, "role">, type: string): boolean {
  let privileged: boolean;
  try {
    privileged = getOrderType(type).privileged;
  } catch {
    return false;
  }
  if (privileged) return principal.role === "msp_admin";
  return SITE_OPERATORS.includes(principal.role);
}
