# What CI evaluates without nixpkgs (nixos/module.test.ts):
#   nix-instantiate --eval --strict --json nixos/ci/eval.nix -A <attr>
# - appliance.options / relay.options: every declared option (submodule options as `a.*.b` for list items,
#   `a.b` for nullable ones) with its description, type, default, and whether the default has that type;
# - samples.default / samples.reseller: the YAML config the module generates for its defaults and for
#   ./reseller-settings.nix, computed by the same ../config.nix the module calls;
# - egress.default / egress.reseller: the egress allow-list entries for the same two configurations;
# - failedAssertions SETTINGS: the messages of the module's assertions that fail for SETTINGS (the config
#   half's `assertions` list only depends on the option values, so it is evaluated for real);
# - ruleset SETTINGS: the module's nftables ruleset for SETTINGS, as text;
# - appliance.unit / relay.unit SETTINGS: the service's systemd serviceConfig (without ExecStart);
#   relay.failedAssertions SETTINGS: as failedAssertions, for the relay module.
# The modules are imported with ./stub-lib.nix as `lib`; `config` and `pkgs` are not available, so only the
# options half is evaluated, plus the config half's `assertions` and firewall ruleset.
let
  inherit (builtins) attrNames concatMap elem filter isAttrs listToAttrs map;
  lib = import ./stub-lib.nix;
  pure = import ../config.nix;

  optionsOf = file: (import file {
    lib = lib;
    config = throw "CI evaluates only the options of ${toString file}; `config` is not available";
    pkgs = throw "CI evaluates only the options of ${toString file}; `pkgs` is not available";
  }).options;

  applianceOptions = (optionsOf ../module.nix).services.osiris-appliance;
  relayOptions = (optionsOf ../relay.nix).services.osiris-relay;

  isOption = x: isAttrs x && (x._type or null) == "option";
  # Defaults of these types need nixpkgs (packages); they are reported but not evaluated.
  opaque = o: o.type.name == "package";

  describeType = t:
    if elem t.name [ "listOf" "nullOr" "attrsOf" "nonEmptyListOf" ] then "${t.name} (${describeType t.elemType})"
    else if t.name == "enum" then "enum ${builtins.toJSON t.values}"
    else t.name;

  walk = prefix: opts: concatMap
    (n:
      let o = opts.${n}; name = prefix + n; in
      if isOption o then [ (leaf name o) ] ++ nested name o.type
      else walk "${name}." o)
    (attrNames opts);

  nested = name: t:
    if t.name == "submodule" then walk "${name}." t.options
    else if t.name == "nullOr" then nested name t.elemType
    else if elem t.name [ "listOf" "nonEmptyListOf" "attrsOf" ] then nested "${name}.*" t.elemType
    else [ ];

  leaf = name: o: {
    inherit name;
    description = o.description or null;
    type = describeType o.type;
    hasDefault = o ? default;
    default = if o ? default && !(opaque o) then o.default else null;
    defaultHasType = if o ? default && !(opaque o) then o.type.check o.default else true;
  };

  # Fills defaults into a value the way the module system does (also inside list items and nullable
  # submodules), so the config function sees what it would see in a real system.
  fill = t: v:
    if t.name == "submodule" then defaultsOf t.options // builtins.mapAttrs (n: x: fill t.options.${n}.type x) v
    else if t.name == "nullOr" then (if v == null then null else fill t.elemType v)
    else if elem t.name [ "listOf" "nonEmptyListOf" ] then map (fill t.elemType) v
    else v;

  defaultsOf = opts: listToAttrs (concatMap
    (n: let o = opts.${n}; in
      if isOption o && o ? default && !(opaque o) then [{ name = n; value = fill o.type o.default; }] else [ ])
    (attrNames opts));

  # All option values for `settings` (a subset of the options), type-checked like the module system would.
  settle = opts: settings:
    let
      unknown = filter (n: !(opts ? ${n}) || !(isOption opts.${n})) (attrNames settings);
      values = defaultsOf opts // builtins.mapAttrs (n: v: fill opts.${n}.type v) settings;
      wrong = filter (n: !(opts.${n}.type.check values.${n})) (attrNames values);
    in
    if unknown != [ ] then throw "unknown option(s) ${builtins.toJSON unknown}"
    else if wrong != [ ] then throw "value(s) not of the option's type: ${builtins.toJSON wrong}"
    else values;

  # The config half of a module for SETTINGS; only parts that need no nixpkgs can be forced.
  configHalf = file: name: options: settings: (import file {
    inherit lib;
    config.services.${name} = settle options settings;
    pkgs = throw "CI evaluates only the parts of ${toString file} that need no nixpkgs; `pkgs` is not available";
  }).config.content;
  applianceConfigHalf = configHalf ../module.nix "osiris-appliance" applianceOptions;
  relayConfigHalf = configHalf ../relay.nix "osiris-relay" relayOptions;

  failedOf = half: map (a: a.message) (filter (a: !a.assertion) half.assertions);
  # serviceConfig without ExecStart (the one entry that names the package).
  unitOf = half: name: builtins.removeAttrs half.systemd.services.${name}.serviceConfig [ "ExecStart" ];

  failedAssertions = settings: failedOf (applianceConfigHalf settings);

  # The nftables ruleset text the module installs (CI checks it with `nft --check`).
  ruleset = settings: (applianceConfigHalf settings).networking.nftables.ruleset;

  defaultCfg = settle applianceOptions { };
  resellerCfg = settle applianceOptions (import ./reseller-settings.nix);
in
{
  appliance = {
    options = walk "" applianceOptions;
    unit = settings: unitOf (applianceConfigHalf settings) "osiris-appliance";
  };
  relay = {
    options = walk "" relayOptions;
    unit = settings: unitOf (relayConfigHalf settings) "osiris-relay";
    failedAssertions = settings: failedOf (relayConfigHalf settings);
  };
  samples = {
    default = pure.applianceConfig defaultCfg;
    reseller = pure.applianceConfig resellerCfg;
  };
  egress = {
    default = pure.egressEntries defaultCfg;
    reseller = pure.egressEntries resellerCfg;
  };
  inherit failedAssertions ruleset;
}
