/**
 * A failing check result that an automatic fix has repaired since it was seen: the fix's own re-check passed,
 * and the host's next scan confirms it. The appliance's status page says "fixed — the next check will confirm
 * it" for the same state; the dashboard shows it the same way instead of as a failure still needing attention.
 */
import type { AttemptView, DeviceView, IncidentView } from "../../relay-client/mod.ts";

type Result = DeviceView["results"][number];

/** The fix that repaired `result` on `hostId` after it was seen, or null. */
export function fixAwaitingRecheck(incidents: readonly IncidentView[], hostId: string, result: Result): AttemptView | null {
  if (result.status !== "fail") return null;
  const incident = incidents.find((i) => i.host_id === hostId && i.check === result.check && i.resolved_at === null);
  const newest = incident?.attempts[0]; // newest first
  return newest !== undefined && newest.outcome === "success" && Date.parse(newest.finished_at) > Date.parse(result.finished_at) ? newest : null;
}
