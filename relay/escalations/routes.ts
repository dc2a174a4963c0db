/** Routes of relay/escalations/ (listed in routes.ts). */
import type { RouteSpec } from "../http/types.ts";

export const ESCALATION_ROUTES: readonly RouteSpec[] = [];
