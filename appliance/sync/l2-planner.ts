/**
 * The L2 planner the healing engine asks (`Planner`, heal/l2-client.ts), wired to the relay's
 * `POST /api/l2/plan` over the signed request channel. The relay's answer is handed back untouched for
 * `planWithL2` to judge (it trusts nothing in it); any answer other than 200 rejects, and the engine
 * escalates ("L2 offline"). An answer with `runbook: null` is the relay saying "escalate" (L2 off, kill
 * switch, budget, a refused model answer): the engine escalates ("declined").
 *
 * `auth` is asked on every call, so a rotated bearer token is picked up without a restart.
 */
import type { Planner } from "../heal/index.ts";
import { refusal, type RelayHttp, type RequestAuth } from "./relay-http.ts";

export const L2_PLAN_PATH = "/api/l2/plan";

export function relayPlanner(relay: RelayHttp, auth: () => Promise<RequestAuth>): Planner {
  return async (request, signal) => {
    const answer = await relay.request("POST", L2_PLAN_PATH, { body: request, auth: await auth(), signal });
    if (answer.status !== 200) throw refusal(answer, "L2 plan");
    return answer.body;
  };
}
