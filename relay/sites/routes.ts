/** Routes of relay/sites/ (listed in routes.ts). */
import type { RouteSpec } from "../http/types.ts";

export const SITE_ROUTES: readonly RouteSpec[] = [];
