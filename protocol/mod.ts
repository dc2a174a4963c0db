/**
 * @osiriscare/protocol: the wire contract shared by the appliance, the relay, the CLI and the browser
 * verifier (docs/protocol.md). Pure: no I/O, no clock; runs in Node, Deno and browsers.
 */
export * from "./encoding.ts";
export * from "./hash.ts";
export * from "./crypto.ts";
export * from "./canonical.ts";
export * from "./errors.ts";
export * from "./schema.ts";
export * from "./ids.ts";
export * from "./evidence.ts";
export * from "./chain.ts";
export * from "./envelope.ts";
export * from "./orders.ts";
export * from "./ruleset.ts";
export * from "./rules.ts";
export * from "./key-rotation.ts";
export * from "./sync.ts";
export * from "./merkle.ts";
export * from "./checkpoint.ts";
export * from "./scrub.ts";
export * as catalogue from "./catalogue/mod.ts";
