/**
 * How a check that does not pass is named wherever it names a problem: escalation tickets, incidents,
 * notifications, the portal's and the appliance page's attention lists. A catalogue title describes the
 * desired state ("Virus protection is switched on"), so on its own a problem would read like good news; the
 * one rule, kept here so every part words it the same way, is to say it is not met:
 *
 *   notMet("Virus protection is switched on")                     // "Not met: Virus protection is switched on"
 *   problemTitle("Virus protection is switched on", "FRONT-DESK-01") // "Not met: Virus protection is switched on — FRONT-DESK-01"
 *
 * Pure and without the catalogue's data, so the browser bundles can import it on its own.
 */

/** What precedes a check's title where it names a problem. */
export const NOT_MET_PREFIX = "Not met: ";

/** A check's title (or its id, when the catalogue has no title for it) worded as a problem. */
export function notMet(titleOrId: string): string {
  return `${NOT_MET_PREFIX}${titleOrId}`;
}

/** A problem and where it is: the host's reported name, else its id; no host, no suffix. */
export function problemTitle(titleOrId: string, host: string | null): string {
  return host === null ? notMet(titleOrId) : `${notMet(titleOrId)} — ${host}`;
}
