/** Routes of relay/billing/ (listed in routes.ts). */
import type { RouteSpec } from "../http/types.ts";

export const BILLING_ROUTES: readonly RouteSpec[] = [];
