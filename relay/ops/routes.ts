/** Routes of relay/ops/: the OpenAPI document and Prometheus metrics. */
import { z } from "zod";
import type { RouteSpec } from "../http/types.ts";
import { ROUTES } from "../routes.ts";
import { renderMetrics } from "./metrics.ts";
import { openApiDocument } from "./openapi.ts";

/** The relay's version, as published in the OpenAPI document. */
export const RELAY_VERSION = "0.1.0";

export const OPS_ROUTES: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/api/openapi.json",
    callers: ["public"],
    summary: "this API's OpenAPI 3.1 document, generated from the route table",
    maxBodyBytes: 1024,
    response: z.object({ openapi: z.string() }).loose(),
    // ROUTES is read at request time: this module is part of it.
    handler: async (c) => c.json(openApiDocument(ROUTES, RELAY_VERSION)),
  },
  {
    method: "GET",
    path: "/metrics",
    callers: ["monitor"],
    summary: "Prometheus metrics: ingest counter, verification failures, appliances by last-sync age, queue depths",
    maxBodyBytes: 1024,
    produces: "text/plain; version=0.0.4",
    handler: async (c, deps) => c.text(await renderMetrics(deps.db, deps.clock.now()), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }),
  },
];
