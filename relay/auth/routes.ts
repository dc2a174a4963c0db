/** Routes of relay/auth/ (listed in routes.ts). */
import type { RouteSpec } from "../http/types.ts";

export const AUTH_ROUTES: readonly RouteSpec[] = [];
