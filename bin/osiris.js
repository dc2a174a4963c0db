#!/usr/bin/env node
// Launcher for the `osiris` CLI: registers the TypeScript loader (tsx) so the same .ts sources run
// without a build step, then hands over to cli/main.ts.
import { register } from "tsx/esm/api";
register();
await import("../cli/main.ts");
