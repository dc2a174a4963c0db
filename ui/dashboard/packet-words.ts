/**
 * What a monthly report's card says beside its score, the same on the clinic's portal and the MSP dashboard:
 * a score that rests on out-of-date check results, or that sits beside zero ready controls, carries a warning
 * in plain words, never reads as good news. The packet's PDF says the same (relay/report/packet-text.ts).
 *
 * Packets stored before their summary kept `score_basis` have none: their cards say nothing about how old the
 * results were (it is not known), only what the stored figures show. Pure.
 */
import type { Packet } from "../relay-client/mod.ts";
import { frameworkText, plural, reportTime } from "./format.ts";

/** The instant a packet's month ends, its "month end" (months run in UTC, as in the PDF): "2026-09" → "2026-10-01T00:00:00.000Z". */
export function monthEnd(month: string): string {
  const [year, mon] = month.split("-").map(Number);
  return new Date(Date.UTC(year!, mon!, 1)).toISOString();
}

export const CAVEAT_CODES = ["stale_all", "stale_some", "none_ready"] as const;
export type CaveatCode = (typeof CAVEAT_CODES)[number];

/** A warning about a packet's score: a short label for a badge and the sentence that explains it. */
export interface ScoreCaveat {
  code: CaveatCode;
  label: string;
  text: string;
}

/** The warnings a packet's score needs, most serious first; none when the score means what it seems to. */
export function scoreCaveats(packet: Pick<Packet, "summary" | "framework">): ScoreCaveat[] {
  const s = packet.summary;
  const fw = frameworkText(packet.framework);
  const out: ScoreCaveat[] = [];
  const basis = s.score_basis;
  if (s.overall !== null && basis && basis.stale > 0) {
    if (basis.stale >= basis.results) {
      const newest = basis.newest_at ? ` (the newest is from ${reportTime(basis.newest_at)})` : "";
      out.push({ code: "stale_all", label: "Out of date", text: `None of the ${plural(basis.results, "check result")} behind this score was recent enough at month end${newest}: it shows the site as it was then, not at the end of the month.` });
    } else {
      out.push({ code: "stale_some", label: "Partly out of date", text: `${basis.stale} of the ${plural(basis.results, "check result")} behind this score ${basis.stale === 1 ? "was" : "were"} not recent enough at month end: the score partly shows an earlier state.` });
    }
  }
  if (s.overall !== null && s.controls_total > 0 && s.controls_ready === 0) {
    out.push({ code: "none_ready", label: "No control ready", text: `No ${fw} control was ready at month end, so this score is not a sign that ${fw} controls are met.` });
  }
  return out;
}
