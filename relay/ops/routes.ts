/** Routes of relay/ops/ (listed in routes.ts). */
import type { RouteSpec } from "../http/types.ts";

export const OPS_ROUTES: readonly RouteSpec[] = [];
