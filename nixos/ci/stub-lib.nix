# A small stand-in for nixpkgs' `lib`, enough to evaluate the *options* half of nixos/module.nix and
# nixos/relay.nix without nixpkgs (CI has Debian's nix-bin but no nixpkgs and no network).
#
# It mirrors the real functions' contracts where a mistake would otherwise slip through:
# - `mkOption` accepts only the attribute names the real one accepts (a typo such as `descripton` fails);
# - each type has the real `check` semantics (types.float rejects 5, types.number accepts it; ports are
#   0..65535; types.path needs an absolute path; strMatching matches the whole string), so CI checks every
#   default against its declared type the way the module system would when the option is used;
# - `types.submodule` keeps its options so the walker can document and default-fill list items.
# Only names that exist in nixpkgs' lib are provided: a module using anything else fails to evaluate here,
# which is the point (add it here only after checking nixpkgs has it with the same meaning).
let
  inherit (builtins) all attrNames elem filter isAttrs isBool isFloat isFunction isInt isList isPath isString match
    stringLength substring;

  mkType = name: check: extra: { _type = "option-type"; inherit name check; } // extra;

  # Attributes the real mkOption accepts (nixpkgs lib/options.nix).
  optionAttrs = [ "default" "defaultText" "example" "description" "relatedPackages" "type" "apply" "internal" "visible" "readOnly" ];

  mkOption = attrs:
    let unknown = filter (n: !(elem n optionAttrs)) (attrNames attrs); in
    if unknown != [ ] then throw "mkOption: unknown attribute(s) ${builtins.toJSON unknown}"
    else attrs // { _type = "option"; };

  isStringLike = x: isString x || isPath x || (isAttrs x && x ? outPath);
  absolute = x: isStringLike x && substring 0 1 (toString x) == "/";

  intBetween = lo: hi: mkType "intBetween" (x: isInt x && x >= lo && x <= hi) { inherit lo hi; };

  submoduleOptions = m:
    let module = if isFunction m then m { name = "‹name›"; config = { }; lib = stubLib; } else m; in
    module.options or { };

  types = rec {
    bool = mkType "bool" isBool { };
    str = mkType "str" isString { };
    nonEmptyStr = mkType "nonEmptyStr" (x: isString x && match "[[:space:]]*" x == null) { };
    lines = mkType "lines" isString { };
    int = mkType "int" isInt { };
    float = mkType "float" isFloat { };
    number = mkType "number" (x: isInt x || isFloat x) { };
    port = intBetween 0 65535;
    path = mkType "path" absolute { };
    package = mkType "package" (x: isAttrs x || isStringLike x) { };
    ints = {
      between = intBetween;
      positive = mkType "positiveInt" (x: isInt x && x > 0) { };
      unsigned = mkType "unsignedInt" (x: isInt x && x >= 0) { };
    };
    numbers = {
      positive = mkType "positive" (x: (isInt x || isFloat x) && x > 0) { };
      between = lo: hi: mkType "numberBetween" (x: (isInt x || isFloat x) && x >= lo && x <= hi) { inherit lo hi; };
    };
    enum = values: mkType "enum" (x: elem x values) { inherit values; };
    strMatching = pattern: mkType "strMatching" (x: isString x && match pattern x != null) { inherit pattern; };
    listOf = elemType: mkType "listOf" (x: isList x && all elemType.check x) { inherit elemType; };
    nonEmptyListOf = elemType: mkType "nonEmptyListOf" (x: isList x && x != [ ] && all elemType.check x) { inherit elemType; };
    attrsOf = elemType: mkType "attrsOf" (x: isAttrs x && all (n: elemType.check x.${n}) (attrNames x)) { inherit elemType; };
    nullOr = elemType: mkType "nullOr" (x: x == null || elemType.check x) { inherit elemType; };
    either = a: b: mkType "either" (x: a.check x || b.check x) { };
    oneOf = ts: mkType "oneOf" (x: builtins.any (t: t.check x) ts) { };
    # Like the module system: no unknown keys, every value of its type, every option without a default set.
    submodule = m:
      let
        options = submoduleOptions m;
        check = x: isAttrs x
          && all (n: options ? ${n} && options.${n}.type.check x.${n}) (attrNames x)
          && all (n: options.${n} ? default || x ? ${n}) (attrNames options);
      in
      mkType "submodule" check { inherit options; };
  };

  stubLib = {
    inherit mkOption types;
    mkEnableOption = name: mkOption { type = types.bool; default = false; example = true; description = "Whether to enable ${name}."; };
    literalExpression = text: { _type = "literalExpression"; inherit text; };
    literalMD = text: { _type = "literalMD"; inherit text; };
    # The config half of a module is never evaluated here; these only need to exist.
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    mkMerge = contents: { _type = "merge"; inherit contents; };
    mkDefault = x: x;
    mkForce = x: x;
    optional = c: x: if c then [ x ] else [ ];
    optionals = c: xs: if c then xs else [ ];
    optionalString = c: s: if c then s else "";
    optionalAttrs = c: a: if c then a else { };
    concatStringsSep = builtins.concatStringsSep;
    concatMapStringsSep = sep: f: xs: builtins.concatStringsSep sep (map f xs);
    hasPrefix = p: s: substring 0 (stringLength p) s == p;
    hasInfix = infix: s: builtins.length (builtins.split (builtins.replaceStrings
      [ "." "[" "]" "(" ")" "*" "+" "?" "^" "$" "|" "{" "}" "\\" ] [ "\\." "\\[" "\\]" "\\(" "\\)" "\\*" "\\+" "\\?" "\\^" "\\$" "\\|" "\\{" "\\}" "\\\\" ] infix) s) > 1;
    concatMapStrings = f: xs: builtins.concatStringsSep "" (map f xs);
    removePrefix = p: s: if substring 0 (stringLength p) s == p then substring (stringLength p) (stringLength s) s else s;
    escapeShellArg = s: "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString s)}'";
    getExe = p: "${p}/bin/${p.meta.mainProgram or p.pname or p.name}";
    unique = builtins.foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
    filterAttrs = pred: set: builtins.listToAttrs (map (name: { inherit name; value = set.${name}; })
      (filter (name: pred name set.${name}) (attrNames set)));
    mapAttrsToList = f: set: map (name: f name set.${name}) (attrNames set);
  };
in
stubLib
