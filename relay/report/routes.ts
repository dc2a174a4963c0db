/** Routes of relay/report/ (listed in routes.ts). */
import type { RouteSpec } from "../http/types.ts";

export const REPORT_ROUTES: readonly RouteSpec[] = [];
