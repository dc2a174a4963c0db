/**
 * A JSON-serialisable description of every config option (name, type, default, doc), derived from the schema
 * itself so it cannot drift. The NixOS module's test compares its option names and defaults with this list;
 * `osiris` can print it as documentation.
 */
import { z } from "zod";
import { configSchema } from "./schema.ts";

export interface ConfigOption {
  /** Dotted YAML key path; list items are `[]`: `site.maintenance_windows[].rrule`. */
  name: string;
  /** `string | path | integer | number | boolean | enum | list of <type> | list of objects`. */
  type: string;
  /** For `enum` (and lists of enums): the allowed values. */
  values?: string[];
  /** The default as YAML would write it; absent when the option has none. */
  default?: unknown;
  /** A default that depends on other options, in words (`<state_dir>/appliance.db`). */
  default_text?: string;
  /** True when the key must be present in its enclosing mapping. */
  required: boolean;
  doc: string;
}

interface Node {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  default_text?: string;
  value_type?: string;
  properties?: Record<string, Node>;
  required?: string[];
  items?: Node;
  oneOf?: Node[];
  anyOf?: Node[];
}

/** Every option, in schema order. Sections are flattened; list items of one shape are described by `[]` names. */
export function describeConfigOptions(): ConfigOption[] {
  const root = z.toJSONSchema(configSchema(), { io: "input", unrepresentable: "any" }) as Node;
  const out: ConfigOption[] = [];
  walk(root, "", out);
  return out;
}

function walk(node: Node, prefix: string, out: ConfigOption[]): void {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const name = prefix === "" ? key : `${prefix}.${key}`;
    const required = (node.required ?? []).includes(key) && child.default === undefined;
    if (child.properties) {
      walk(child, name, out);
      continue;
    }
    const option: ConfigOption = { name, type: typeOf(child), required, doc: child.description ?? child.items?.description ?? "" };
    const values = child.enum ?? child.items?.enum;
    if (values) option.values = values.map(String);
    if (child.default !== undefined) option.default = child.default;
    if (child.default_text !== undefined) option.default_text = child.default_text;
    out.push(option);
    if (child.items?.properties) walk(child.items, `${name}[]`, out);
  }
}

function typeOf(node: Node): string {
  if (node.value_type) return node.value_type;
  if (node.enum) return "enum";
  if (node.const !== undefined) return "enum";
  if (node.type === "array") {
    const items = node.items;
    if (!items) return "list";
    if (items.properties || items.oneOf || items.anyOf) return "list of objects";
    return `list of ${typeOf(items)}`;
  }
  return typeof node.type === "string" ? node.type : "string";
}
