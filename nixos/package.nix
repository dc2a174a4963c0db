# The `osiris` package: the repository's Node application for the appliance and the relay.
#
#   $out/bin/osiris                     wrapper: node $out/lib/osiris/dist/osiris.mjs
#   $out/lib/osiris/dist/osiris.mjs     the CLI bundled by ./bundle-app.sh (TypeScript compiled away)
#   $out/lib/osiris/node_modules        production dependencies only (`npm prune --omit=dev`), for the
#                                       packages the bundle keeps external: libSQL with its prebuilt N-API
#                                       addon (patched to this system's glibc/libgcc_s), ssh2
#   $out/lib/osiris/ui/dist             the built web UI, when the ui workspace has a build (optional)
#   $out/lib/osiris/package.json        the original one (`osiris version` reads it)
#
# Dependencies come from package-lock.json through importNpmLock (each tarball fetched by its integrity
# hash; no npmDepsHash to keep in sync). Install scripts are not run: nothing may reach the network or
# compile during the build, and none is needed (libSQL ships prebuilt binaries; ssh2's native crypto and
# cpu-features are optional).
{ lib
, stdenv
, buildNpmPackage
, importNpmLock
, nodejs_22
, autoPatchelfHook
, makeWrapper
, src ? lib.cleanSourceWith {
    src = ../.;
    # Build outputs and local installs never enter the source: the build makes its own.
    filter = path: type:
      let base = baseNameOf path; in
      !(type == "directory" && builtins.elem base [ "node_modules" ".git" "dist" "result" ".direnv" ])
      && !(lib.hasSuffix ".test.ts" base);
  }
}:
let
  packageJson = lib.importJSON ../package.json;
in
buildNpmPackage {
  pname = "osiris";
  inherit (packageJson) version;
  inherit src;
  nodejs = nodejs_22;

  # importNpmLock reads package.json, package-lock.json and the workspace folders it links (protocol/,
  # appliance/, relay/, ui/) from a plain path.
  npmDeps = importNpmLock { npmRoot = ../.; };
  npmConfigHook = importNpmLock.npmConfigHook;
  npmFlags = [ "--ignore-scripts" ];

  nativeBuildInputs = [ autoPatchelfHook makeWrapper ];
  # libgcc_s for the libSQL addon (autoPatchelfHook points its RPATH here).
  buildInputs = [ stdenv.cc.cc.lib ];

  buildPhase = ''
    runHook preBuild
    bash nixos/bundle-app.sh . dist
    # The UI is optional until its workspace has a build script.
    npm run build --workspace=ui --if-present
    runHook postBuild
  '';

  installPhase = ''
    runHook preInstall
    npm prune --omit=dev --no-save --ignore-scripts
    # Workspace links point into the source tree; the bundle already contains that code.
    rm -rf node_modules/@osiriscare node_modules/.bin
    # Only the glibc x86_64/aarch64 libSQL builds can run here; the musl one would fail autoPatchelf.
    rm -rf node_modules/@libsql/linux-*-musl

    app=$out/lib/osiris
    mkdir -p $app/ui $out/bin
    cp -r dist node_modules $app/
    # npmConfigHook swapped package.json for a copy with store paths; ship the original.
    cp .package.json.orig $app/package.json
    if [ -d ui/dist ]; then cp -r ui/dist $app/ui/dist; fi

    makeWrapper ${nodejs_22}/bin/node $out/bin/osiris \
      --add-flags $app/dist/osiris.mjs \
      --set-default NODE_ENV production
    runHook postInstall
  '';

  doInstallCheck = true;
  installCheckPhase = ''
    $out/bin/osiris version | grep -q '^osiris ${packageJson.version}$'
    # The native addon loads (this fails if autoPatchelf left a library unresolved).
    (cd $out/lib/osiris && ${nodejs_22}/bin/node -e 'require("libsql")')
  '';

  meta = {
    description = "OsirisCare compliance appliance and relay";
    mainProgram = "osiris";
    platforms = [ "x86_64-linux" "aarch64-linux" ];
  };
}
