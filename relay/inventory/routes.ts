/** Routes of relay/inventory/ (listed in routes.ts). */
import type { RouteSpec } from "../http/types.ts";

export const INVENTORY_ROUTES: readonly RouteSpec[] = [];
