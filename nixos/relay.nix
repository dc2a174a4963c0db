# services.osiris-relay: the OsirisCare relay (`osiris relay serve`) for MSPs who run it on NixOS.
# One process with a local libSQL file by default; point `database` at a libSQL server (sqld / Turso) to run
# several stateless relays behind a load balancer. The unit runs `osiris relay serve` with flags computed by
# ./config.nix (relayArgs); secret files (TLS key, signing and vault keys, tokens, archive and L2 keys) reach
# the service through systemd LoadCredential, so they stay root-only files and never enter the Nix store.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkIf mkOption types literalExpression;
  cfg = config.services.osiris-relay;
  pure = import ./config.nix;

  privilegedPort = cfg.port < 1024;
  loopback = pure.isLoopback cfg.listenAddress;
  secretFile = description: mkOption { type = types.nullOr types.path; default = null; inherit description; };

  smtpOptions = {
    options = {
      url = mkOption {
        type = types.strMatching "smtps?://[^/?#]+(:[0-9]+)?/?";
        example = "smtps://smtp.example-msp.com:465";
        description = "SMTP server for sign-in links and notifications (`--smtp-url`). Put the login in `environmentFile` (OSIRIS_SMTP_USER, OSIRIS_SMTP_PASS).";
      };
      from = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "compliance@example-msp.com";
        description = "Sender address (`--smtp-from`). Null: osiriscare@ the SMTP host.";
      };
    };
  };

  l2Options = {
    options = {
      configFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        description = "YAML/JSON with model endpoints per MSP (`--l2-config`, see docs/operations/configuring-the-relay.md). The API key files it names must be readable by the osiris-relay user; prefer `url`/`model`/`apiKeyFile` for one endpoint.";
      };
      url = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "https://api.openai.com/v1/chat/completions";
        description = "One OpenAI-compatible chat-completions endpoint for every MSP (`--l2-url`; plain http only to loopback).";
      };
      model = mkOption { type = types.nullOr types.str; default = null; example = "gpt-4o-mini"; description = "Model name for `url` (`--l2-model`)."; };
      apiKeyFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        description = "API key for `url` (`--l2-key-file`, through LoadCredential: replacing the file needs a restart of the relay).";
      };
    };
  };

  archiveOptions = {
    options = {
      endpoint = mkOption { type = types.str; example = "https://s3.us-east-1.amazonaws.com"; description = "S3 service root (`--archive-endpoint`; path-style addressing)."; };
      bucket = mkOption { type = types.str; example = "example-msp-osiris-evidence"; description = "Bucket created with Object Lock enabled (`--archive-bucket`)."; };
      region = mkOption { type = types.nullOr types.str; default = null; description = "Region (`--archive-region`). Null: us-east-1."; };
      retentionDays = mkOption {
        type = types.nullOr types.ints.positive;
        default = null;
        description = "COMPLIANCE-mode retention of each object in days (`--archive-retention-days`; cannot be shortened later). Null: 2192 (about 6 years).";
      };
      credentialsFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        description = "JSON `{\"access_key_id\", \"secret_access_key\"}` (`--archive-credentials-file`). Null: OSIRIS_ARCHIVE_ACCESS_KEY_ID / OSIRIS_ARCHIVE_SECRET_ACCESS_KEY from `environmentFile`.";
      };
    };
  };
in
{
  options.services.osiris-relay = {
    enable = lib.mkEnableOption "the OsirisCare relay";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = literalExpression "pkgs.callPackage ./package.nix { }";
      description = "The `osiris` package.";
    };
    stateDir = mkOption {
      type = types.strMatching "/var/lib/[A-Za-z0-9][A-Za-z0-9._-]*";
      default = "/var/lib/osiris-relay";
      description = "State directory (local database, generated keys); created by systemd with mode 0700. Must be directly under /var/lib.";
    };
    database = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "libsql://relay-db.internal:8080";
      description = "libSQL database (`--db`): a file path or `file:` URL (one relay process) or a libSQL server URL (several relays share it). Null: `relay.db` in `stateDir`.";
    };
    databaseAuthTokenFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "File holding the libSQL server's auth token (for a server URL in `database`; `--db-token-file` through LoadCredential).";
    };
    signingKeyFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "The relay's Ed25519 signing key (orders, rule sets, checkpoint cosignatures). Null: the relay creates one in `stateDir` (mode 0600) on first start. Appliances pin this key at enrollment.";
    };
    listenAddress = mkOption {
      type = types.str;
      default = "127.0.0.1";
      example = "0.0.0.0";
      description = "Address to listen on. Loopback (the default) suits a TLS-terminating proxy on the same host; any other address needs `tlsCertFile` and `tlsKeyFile` (appliances only speak https to a remote relay).";
    };
    port = mkOption {
      type = types.port;
      default = 8443;
      description = "TCP port. Below 1024 the service gets CAP_NET_BIND_SERVICE and nothing else.";
    };
    tlsCertFile = mkOption { type = types.nullOr types.path; default = null; description = "TLS certificate chain (PEM)."; };
    tlsKeyFile = mkOption { type = types.nullOr types.path; default = null; description = "TLS private key (PEM); may stay root-only 0600 (LoadCredential)."; };
    publicUrl = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://relay.example-msp.com";
      description = "The URL appliances and browsers use; it goes into claim codes, QR codes and magic links.";
    };
    trustedProxies = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "127.0.0.1" "10.0.0.0/8" ];
      description = "Reverse proxies (addresses or CIDRs, IPv4 or IPv6) whose X-Forwarded-For names the client for the public routes' rate limit (`--trust-proxy`). Empty: the TCP peer is the client and X-Forwarded-For is ignored, so every client behind a proxy shares one limit.";
    };
    smtp = mkOption {
      type = types.nullOr (types.submodule smtpOptions);
      default = null;
      description = "Outgoing e-mail (sign-in links, notifications). Null: no e-mail.";
    };
    metricsTokenFile = secretFile "Bearer token Prometheus sends to GET /metrics (`--metrics-token-file`, 16 to 512 non-space characters). Null: metrics are off.";
    vaultKeyFile = secretFile "Current credential vault key (`--vault-key-file`, 32 bytes). Null: `osiris-vault.key` in `stateDir`, created on the first start. Back it up with the signing key.";
    vaultPreviousKeyFiles = mkOption {
      type = types.listOf types.path;
      default = [ ];
      description = "Vault keys being rotated out (`--vault-previous-key-file`), still needed until `osiris relay admin reencrypt-credentials` has moved every secret to the current key.";
    };
    l2 = mkOption {
      type = types.nullOr (types.submodule l2Options);
      default = null;
      description = "The L2 planner's model endpoint(s): `configFile`, or `url` + `model` (+ `apiKeyFile`). Null: L2 is off.";
    };
    archive = mkOption {
      type = types.nullOr (types.submodule archiveOptions);
      default = null;
      description = "WORM evidence archive: an S3 bucket with Object Lock. Null: evidence waits in the archive queue.";
    };
    packetFrameworks = mkOption {
      type = types.nullOr (types.listOf (types.enum [ "hipaa" "soc2" "glba" ]));
      default = null;
      example = [ "hipaa" "soc2" ];
      description = "Frameworks whose monthly packet is made automatically (`--packet-frameworks`). Null: HIPAA only.";
    };
    environmentFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = "/etc/osiris/relay.env";
      description = "systemd EnvironmentFile (root-only) for secrets the relay reads from its environment: OSIRIS_SMTP_USER / OSIRIS_SMTP_PASS (SMTP login), OSIRIS_ARCHIVE_ACCESS_KEY_ID / OSIRIS_ARCHIVE_SECRET_ACCESS_KEY, OSIRIS_VAULT_KEY (replaces the vault key files).";
    };
    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open `port` in the NixOS firewall.";
    };
    memoryMaxMiB = mkOption {
      # At least 512: the young generation alone takes 128 MiB of the heap's three quarters.
      type = types.ints.between 512 1048576;
      default = 1024;
      description = "Memory limit of the relay (MemoryMax, MiB); the V8 heap (old and young generations) is capped at three quarters of it.";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = (cfg.tlsCertFile == null) == (cfg.tlsKeyFile == null);
        message = "services.osiris-relay: set tlsCertFile and tlsKeyFile together.";
      }
      {
        assertion = cfg.l2 == null || cfg.l2.configFile != null || (cfg.l2.url != null && cfg.l2.model != null);
        message = "services.osiris-relay.l2: set configFile, or url and model.";
      }
      {
        assertion = loopback || cfg.tlsCertFile != null;
        message = "services.osiris-relay listens on ${cfg.listenAddress} without TLS; appliances only use https to a non-loopback relay. Set tlsCertFile/tlsKeyFile or listen on loopback behind a TLS proxy.";
      }
    ];

    users.users.osiris-relay = { isSystemUser = true; group = "osiris-relay"; description = "OsirisCare relay"; };
    users.groups.osiris-relay = { };
    environment.systemPackages = [ cfg.package ];
    networking.firewall.allowedTCPPorts = lib.optional cfg.openFirewall cfg.port;

    systemd.services.osiris-relay = {
      description = "OsirisCare relay";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      environment = {
        NODE_ENV = "production";
        # The old generation gets three quarters of MemoryMax less the young generation's 128 MiB (two 64 MiB
        # semi-spaces: relay/node-options.ts says why, and nixos/relay.test.ts holds this line to that file).
        NODE_OPTIONS = "--max-old-space-size=${toString (cfg.memoryMaxMiB * 3 / 4 - 128)} --max-semi-space-size=64";
        NODE_EXTRA_CA_CERTS = "/etc/ssl/certs/ca-certificates.crt";
      };
      unitConfig = { StartLimitIntervalSec = 300; StartLimitBurst = 5; };
      serviceConfig = {
        Type = "exec";
        ExecStart = pure.relayExecStart "${cfg.package}/bin/osiris" cfg;
        Restart = "on-failure";
        RestartSec = 5;
        User = "osiris-relay";
        Group = "osiris-relay";
        StateDirectory = lib.removePrefix "/var/lib/" cfg.stateDir;
        StateDirectoryMode = "0700";
        UMask = "0077";
        LoadCredential = pure.relayLoadCredential cfg;
        EnvironmentFile = lib.optional (cfg.environmentFile != null) cfg.environmentFile;
        # "" empties the set; an empty list would write nothing and leave systemd's full default set.
        CapabilityBoundingSet = if privilegedPort then [ "CAP_NET_BIND_SERVICE" ] else "";
        AmbientCapabilities = if privilegedPort then [ "CAP_NET_BIND_SERVICE" ] else "";
        NoNewPrivileges = true;
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        ProtectClock = true;
        ProtectHostname = true;
        ProtectProc = "invisible";
        ProcSubset = "pid";
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        RemoveIPC = true;
        RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_UNIX" ];
        SystemCallArchitectures = "native";
        SystemCallFilter = [ "@system-service" "~@privileged" ];
        SystemCallErrorNumber = "EPERM";
        MemoryMax = "${toString cfg.memoryMaxMiB}M";
        TasksMax = 512;
      };
    };
  };
}
