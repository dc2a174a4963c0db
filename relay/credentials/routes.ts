/** Routes of relay/credentials/ (listed in routes.ts). */
import type { RouteSpec } from "../http/types.ts";

export const CREDENTIAL_ROUTES: readonly RouteSpec[] = [];
