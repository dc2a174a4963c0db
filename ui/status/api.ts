/**
 * The one typed client of the appliance's status API (`appliance/serve/server.ts`): URLs, parsing, fetching.
 * The report's type is the server's own (status-types.ts), imported as a type only, so nothing from the
 * appliance ends up in the bundle. Responses are checked at this boundary: a page served by an older or newer
 * appliance fails with a clear message instead of rendering half a report.
 */
import type { StatusReport } from "../../appliance/serve/status-types.ts";

export type * from "../../appliance/serve/status-types.ts";

export const STATUS_URL = "/api/status";
export const EVENTS_URL = "/api/events";
/** The event name carrying a full report on EVENTS_URL. */
export const STATUS_EVENT = "status";
const SCHEMA: StatusReport["schema"] = "osiris.status/v1";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Checks the parts of a report the page relies on. Throws TypeError naming what is wrong.
 * (Deep validation would need a schema library in the bundle; the server builds this object from a typed
 * function, so shape and schema tag are what can really differ.)
 */
export function asStatusReport(value: unknown): StatusReport {
  if (!isObject(value)) throw new TypeError("Cannot read the status: expected a JSON object");
  if (value.schema !== SCHEMA) throw new TypeError(`Cannot read the status: expected schema ${SCHEMA}, got ${JSON.stringify(value.schema)}`);
  for (const key of ["generated_at", "site", "overall", "relay", "appliance"]) {
    if (!isObject(value[key])) throw new TypeError(`Cannot read the status: '${key}' is missing`);
  }
  for (const key of ["categories", "devices", "attention"]) {
    if (!Array.isArray(value[key])) throw new TypeError(`Cannot read the status: '${key}' is not a list`);
  }
  return value as unknown as StatusReport;
}

/** Parses the JSON text of a report (an `/api/status` body or a `status` event's data). */
export function parseStatusReport(text: string): StatusReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TypeError("Cannot read the status: the answer is not JSON");
  }
  return asStatusReport(value);
}

/** GET /api/status. Rejects with an Error saying what failed (HTTP status, or the parse problem). */
export async function fetchStatus(signal?: AbortSignal, fetchFn: typeof fetch = fetch): Promise<StatusReport> {
  const res = await fetchFn(STATUS_URL, { headers: { Accept: "application/json" }, ...(signal ? { signal } : {}) });
  if (!res.ok) throw new Error(`Cannot read the status: the appliance answered ${res.status}`);
  return parseStatusReport(await res.text());
}
