/**
 * Query parameters have one owner: the route's `query` schema (RouteSpec.query), which both validates them
 * and documents them in the OpenAPI document (ops/openapi.ts). A handler reads them only through
 * `queryParams(c, schema)`, and only with the schema its route declares (app.ts passes the declared one
 * along): reading with another schema, or on a route that declares none, is a programming error that fails
 * the request (500) and the route's tests, so an undocumented parameter cannot be read.
 *
 * An empty parameter (`?status=`, what an HTML form sends for a blank field) is the same as an absent one.
 */
import type { z } from "zod";
import { parseSchema } from "../../protocol/schema.ts";
import type { RelayContext } from "./types.ts";

/** A route's query string: an object of (optional) string-input fields, each with a description. */
export type QuerySchema = z.ZodObject;

/** The route's query parameters, parsed with its declared schema; 400 `schema` naming the parameter otherwise. */
export function queryParams<S extends QuerySchema>(c: RelayContext, schema: S): z.output<S> {
  if (c.var.query_schema !== schema) {
    throw new Error(`${c.req.method} ${c.req.routePath} reads query parameters its RouteSpec.query does not declare: declare the schema it reads with`);
  }
  const given = Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v !== ""));
  return parseSchema(schema, given, "query");
}
