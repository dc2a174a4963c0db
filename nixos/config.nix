# Pure functions from the module's option values (camelCase) to what the system needs: the appliance's YAML
# config (snake_case keys of appliance/config/schema.ts), the egress allow-list, and the relay's command line. Only `builtins`, no
# nixpkgs, so CI evaluates exactly this file with `nix-instantiate --eval --strict --json` and feeds the
# result to the appliance's own config loader (nixos/module.test.ts).
#
# Rules:
# - An option left at `null` is omitted, so the loader applies its own default (one owner per default).
# - Secret files are not read by Nix (they would land in the world-readable store). The module hands them to
#   the service with systemd LoadCredential; the config then names the copy under $CREDENTIALS_DIRECTORY.
let
  inherit (builtins) attrNames elem filter foldl' head isNull match removeAttrs toString;

  # Drops every attribute whose value is null (one level).
  dropNulls = attrs: removeAttrs attrs (filter (name: isNull attrs.${name}) (attrNames attrs));

  # Credential names under $CREDENTIALS_DIRECTORY (the module's LoadCredential uses the same names).
  credentialNames = {
    webhookSecret = "webhook-secret";
    credentials = "credentials";
  };

  # Where systemd puts the LoadCredential copies for osiris-appliance.service.
  credentialsDirectory = "/run/credentials/osiris-appliance.service";

  secretPath = name: file: if isNull file then null else "${credentialsDirectory}/${name}";

  window = w: dropNulls { inherit (w) rrule duration; tz = w.tz or null; };

  target = t: dropNulls {
    inherit (t) id collector;
    name = t.name or null;
    address = t.address or null;
    port = t.port or null;
    platform = t.platform or null;
    credential_ref = t.credentialRef or null;
    host_key_sha256 = t.hostKeySha256 or null;
    https = t.https or null;
    auth = t.auth or null;
    cert_sha256 = t.certSha256 or null;
    host = t.host or null;
    interval_s = t.intervalSec or null;
    timeout_s = t.timeoutSec or null;
  };

  # "https://relay.example.com:8443/base" -> { scheme = "https"; host = "relay.example.com"; port = 8443; }
  # IPv6 literals keep their brackets off: "https://[2001:db8::1]/" -> host "2001:db8::1".
  parseUrl = url:
    let
      m = match "([a-z]+)://([[]([0-9A-Fa-f:.]+)[]]|[^/:?#@]+)(:([0-9]+))?([/?#].*)?" url;
      scheme = if isNull m then null else head m;
      bracketed = if isNull m then null else builtins.elemAt m 2;
      explicitPort = if isNull m then null else builtins.elemAt m 4;
    in
    if isNull m then throw "osiris: cannot parse URL ${builtins.toJSON url}; expected scheme://host[:port]/path"
    else {
      inherit scheme;
      host = if isNull bracketed then builtins.elemAt m 1 else bracketed;
      port = if !(isNull explicitPort) then builtins.fromJSON explicitPort
        else if scheme == "https" then 443
        else if scheme == "http" then 80
        else throw "osiris: URL ${builtins.toJSON url} has no port and an unknown scheme";
    };

  isLoopback = host: host == "localhost" || host == "::1" || !(isNull (match "127\\.[0-9.]+" host));

  # Each TCP/UDP destination the appliance itself may open beyond the fixed rules (DNS, NTP, site subnets).
  # Returns a sorted, de-duplicated list of { host; proto; port; why; }.
  egressEntries = cfg:
    let
      urlEntry = why: url:
        let u = parseUrl url; in
        if isLoopback u.host then [ ] else [{ inherit (u) host port; proto = "tcp"; inherit why; }];
      relay = if isNull cfg.relayUrl then [ ] else urlEntry "relay" cfg.relayUrl;
      webhook = if isNull cfg.webhookUrl then [ ] else urlEntry "reseller webhook" cfg.webhookUrl;
      syslog =
        if isNull cfg.syslogTarget then [ ]
        else
          let s = cfg.syslogTarget; transport = s.transport or "udp"; in [{
            inherit (s) host;
            proto = if transport == "udp" then "udp" else "tcp";
            port = if !(isNull (s.port or null)) then s.port else if transport == "tls" then 6514 else 514;
            why = "reseller syslog";
          }];
      allowed = map (host: { inherit host; proto = "tcp"; port = 443; why = "allowed host"; }) cfg.allowedEgressHosts;
      all = relay ++ webhook ++ syslog ++ allowed;
      key = e: "${e.host} ${e.proto} ${toString e.port}";
      # First entry per destination wins (its `why` is the most specific: relay before allowed host).
      unique = foldl' (acc: e: if elem (key e) (map key acc) then acc else acc ++ [ e ]) [ ] all;
    in
    builtins.sort (a: b: key a < key b) unique;

  # The appliance's YAML config (as a Nix value; JSON is YAML, so builtins.toJSON writes it). `cfg` holds
  # every option of services.osiris-appliance (module-only ones are ignored).
  applianceConfig = cfg:
    dropNulls {
      state_dir = cfg.stateDir;
      database = cfg.database;
      log_level = cfg.logLevel;
      site = dropNulls {
        id = cfg.siteId;
        name = cfg.siteName;
        timezone = cfg.timezone;
        healing_mode = cfg.healingMode;
        maintenance_windows = map window cfg.maintenanceWindows;
        allow_disruptive_outside_window = cfg.allowDisruptiveOutsideWindow;
        deployment_mode = cfg.deploymentMode;
        reseller_id = cfg.resellerId;
        l2_enabled = cfg.l2Enabled;
      };
      relay = dropNulls {
        url = cfg.relayUrl;
        pin_sha256 = cfg.relayPinSha256;
        sync_interval_s = cfg.syncIntervalSec;
        order_ttl_s = cfg.orderTtlSec;
      };
      enrollment = dropNulls {
        claim_code_file = cfg.claimCodeFile;
        usb_config_glob = cfg.usbConfigGlob;
      };
      targets = map target cfg.targets;
      lab = if isNull cfg.labSiteDir then null else { site_dir = cfg.labSiteDir; };
      credentials_file = secretPath credentialNames.credentials cfg.credentialsFile;
      evidence = {
        retention_count = cfg.evidenceRetentionCount;
        retention_days = cfg.evidenceRetentionDays;
      };
      ntp = { max_skew_s = cfg.ntpMaxSkewSec; };
      discovery = {
        subnets = cfg.discoverySubnets;
        schedule = cfg.discoverySchedule;
        nightly_at = cfg.discoveryNightlyAt;
        depth = cfg.discoveryDepth;
        concurrency = cfg.discoveryConcurrency;
        rate_per_second = cfg.discoveryRatePerSecond;
        connect_timeout_ms = cfg.discoveryConnectTimeoutMs;
        name_timeout_ms = cfg.discoveryNameTimeoutMs;
        liveness_probes = cfg.discoveryLivenessProbes;
        dns_servers = cfg.discoveryDnsServers;
        arp_path = cfg.discoveryArpPath;
        ping_path = cfg.discoveryPingPath;
        exclude = cfg.discoveryExclude;
        max_duration_s = cfg.discoveryMaxDurationSec;
      };
      status_page = {
        port = cfg.statusPagePort;
        bind = cfg.statusPageBind;
        mdns = cfg.mdns;
        mdns_name = cfg.mdnsName;
      };
      reseller = dropNulls {
        syslog = if isNull cfg.syslogTarget then null else dropNulls {
          inherit (cfg.syslogTarget) host;
          port = cfg.syslogTarget.port or null;
          transport = cfg.syslogTarget.transport or null;
        };
        webhook = if isNull cfg.webhookUrl then null else {
          url = cfg.webhookUrl;
          secret_file = secretPath credentialNames.webhookSecret cfg.webhookSecretFile;
        };
      };
      egress = { allowed_hosts = cfg.allowedEgressHosts; };
    };
  # ---- the relay (nixos/relay.nix) ----
  # `osiris relay serve` takes flags only (cli/relay-serve.ts); these functions turn the module's options into
  # its argument list and into the unit's ExecStart line. Secret files reach the service by LoadCredential
  # and the flags name the copies under $CREDENTIALS_DIRECTORY (nixos/relay.test.ts runs the real CLI parser
  # on the result).
  relayCredentialsDirectory = "/run/credentials/osiris-relay.service";

  # Every secret file the options name, as { name; file; } with its LoadCredential name (unset ones left out).
  relaySecretFiles = cfg:
    let
      l2 = if isNull cfg.l2 then { } else cfg.l2;
      archive = if isNull cfg.archive then { } else cfg.archive;
      previous = builtins.genList
        (i: { name = "vault-previous-key-${toString i}"; file = builtins.elemAt cfg.vaultPreviousKeyFiles i; })
        (builtins.length cfg.vaultPreviousKeyFiles);
    in
    filter (s: !(isNull s.file)) ([
      { name = "signing-key"; file = cfg.signingKeyFile; }
      { name = "database-token"; file = cfg.databaseAuthTokenFile; }
      { name = "tls-cert"; file = cfg.tlsCertFile; }
      { name = "tls-key"; file = cfg.tlsKeyFile; }
      { name = "metrics-token"; file = cfg.metricsTokenFile; }
      { name = "vault-key"; file = cfg.vaultKeyFile; }
    ] ++ previous ++ [
      { name = "l2-api-key"; file = l2.apiKeyFile or null; }
      { name = "archive-credentials"; file = archive.credentialsFile or null; }
    ]);

  # systemd LoadCredential entries "NAME:FILE".
  relayLoadCredential = cfg: map (s: "${s.name}:${toString s.file}") (relaySecretFiles cfg);

  # The arguments after `osiris`: [ "relay" "serve" "--db" ... ].
  relayArgs = cfg:
    let
      cred = name: "${relayCredentialsDirectory}/${name}";
      flag = name: value: if isNull value then [ ] else [ "--${name}" (toString value) ];
      secret = name: credential: file: if isNull file then [ ] else [ "--${name}" (cred credential) ];
      l2 = cfg.l2;
      archive = cfg.archive;
      previous = builtins.genList (i: [ "--vault-previous-key-file" (cred "vault-previous-key-${toString i}") ])
        (builtins.length cfg.vaultPreviousKeyFiles);
    in
    [
      "relay" "serve"
      "--db" (if isNull cfg.database then "${cfg.stateDir}/relay.db" else cfg.database)
      "--host" cfg.listenAddress
      "--port" (toString cfg.port)
      # Null key files: the relay creates them in the state directory on its first start (mode 0600).
      "--key-file" (if isNull cfg.signingKeyFile then "${cfg.stateDir}/osiris-relay.key" else cred "signing-key")
      "--vault-key-file" (if isNull cfg.vaultKeyFile then "${cfg.stateDir}/osiris-vault.key" else cred "vault-key")
    ]
    ++ builtins.concatLists previous
    ++ secret "db-token-file" "database-token" cfg.databaseAuthTokenFile
    ++ secret "tls-cert" "tls-cert" cfg.tlsCertFile
    ++ secret "tls-key" "tls-key" cfg.tlsKeyFile
    ++ flag "public-url" cfg.publicUrl
    ++ (if cfg.trustedProxies == [ ] then [ ] else [ "--trust-proxy" (builtins.concatStringsSep "," cfg.trustedProxies) ])
    ++ (if isNull cfg.smtp then [ ] else [ "--smtp-url" cfg.smtp.url ] ++ flag "smtp-from" cfg.smtp.from)
    ++ secret "metrics-token-file" "metrics-token" cfg.metricsTokenFile
    ++ (if isNull l2 then [ ] else
      flag "l2-config" l2.configFile ++ flag "l2-url" l2.url ++ flag "l2-model" l2.model
      ++ secret "l2-key-file" "l2-api-key" l2.apiKeyFile)
    ++ (if isNull archive then [ ] else
      [ "--archive-endpoint" archive.endpoint "--archive-bucket" archive.bucket ]
      ++ flag "archive-region" archive.region
      ++ flag "archive-retention-days" archive.retentionDays
      ++ secret "archive-credentials-file" "archive-credentials" archive.credentialsFile)
    ++ (if isNull cfg.packetFrameworks then [ ] else [ "--packet-frameworks" (builtins.concatStringsSep "," cfg.packetFrameworks) ]);

  # One word of a systemd command line: JSON-quoted (systemd reads the same C escapes in double quotes), with
  # `%` and `$` doubled so systemd expands no specifier or variable (as nixpkgs' utils.escapeSystemdExecArg).
  systemdExecArg = arg: builtins.replaceStrings [ "%" "$" ] [ "%%" "$$" ] (builtins.toJSON (toString arg));

  # The unit's ExecStart for the `osiris` executable at `exe`.
  relayExecStart = exe: cfg: builtins.concatStringsSep " " (map systemdExecArg ([ exe ] ++ relayArgs cfg));
in
{
  inherit applianceConfig egressEntries parseUrl isLoopback credentialNames credentialsDirectory;
  inherit relayCredentialsDirectory relaySecretFiles relayLoadCredential relayArgs systemdExecArg relayExecStart;
}
