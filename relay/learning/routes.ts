/** Routes of relay/learning/ (listed in routes.ts). */
import type { RouteSpec } from "../http/types.ts";

export const LEARNING_ROUTES: readonly RouteSpec[] = [];
