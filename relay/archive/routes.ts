/** Routes of relay/archive/ (listed in routes.ts). */
import type { RouteSpec } from "../http/types.ts";

export const ARCHIVE_ROUTES: readonly RouteSpec[] = [];
