#!/usr/bin/env bash
# bundle-app.sh REPO_ROOT OUT_DIR
#
# Bundles the `osiris` CLI (cli/main.ts and everything it imports, TypeScript included) into one ES module,
# OUT_DIR/osiris.mjs, so the installed package runs on plain Node with production node_modules only: no tsx
# loader at run time (tsx is a dev dependency; bin/osiris.js, which uses it, is for the source tree).
#
# Packages that load native code or resolve files at run time stay external and are required from the
# package's node_modules: libSQL (prebuilt N-API addon per platform) and ssh2 (optional native crypto,
# optional cpu-features). The package build (nixos/package.nix) and CI (nixos/module.test.ts) both run this
# script, so what CI runs is what the package ships.
set -euo pipefail
if [ "$#" -ne 2 ]; then
  echo "usage: bundle-app.sh REPO_ROOT OUT_DIR" >&2
  exit 2
fi
root=$1
out=$2
mkdir -p "$out"
# OUT_DIR sits one level below the package root, so node/version.ts's `new URL("../package.json", import.meta.url)`
# still finds package.json.
node "$root/node_modules/esbuild/bin/esbuild" "$root/cli/main.ts" \
  --bundle --platform=node --format=esm --target=node20 \
  --outfile="$out/osiris.mjs" \
  --external:@libsql/client --external:libsql --external:ssh2 --external:cpu-features \
  --banner:js='import { createRequire as __osirisCreateRequire } from "node:module"; const require = __osirisCreateRequire(import.meta.url);' \
  --log-level=warning
