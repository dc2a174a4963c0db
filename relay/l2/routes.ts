/** Routes of relay/l2/ (listed in routes.ts). */
import type { RouteSpec } from "../http/types.ts";

export const L2_ROUTES: readonly RouteSpec[] = [];
