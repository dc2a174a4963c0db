// postinstall: uvu 0.5.6's reporter calls `err.details.split(...)` and crashes (silently ending the suite)
// when a failing test throws an error whose `details` is an object, which our typed errors carry. This
// makes the reporter print such details as JSON instead. Idempotent; a no-op if uvu changes.
import { readFileSync, writeFileSync } from "node:fs";
const file = new URL("../node_modules/uvu/dist/index.mjs", import.meta.url);
const before = "let { details, operator='' } = err;";
const after = "let { details, operator='' } = err; if (details != null && typeof details !== 'string') details = JSON.stringify(details, null, 2);";
try {
  const src = readFileSync(file, "utf8");
  if (src.includes(before) && !src.includes(after)) writeFileSync(file, src.replace(before, after));
} catch {
  // uvu not installed (production install): nothing to patch
}
