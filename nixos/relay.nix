# services.osiris-relay: the OsirisCare relay (`osiris relay serve`) for MSPs who run it on NixOS.
# One process with a local libSQL file by default; point `database` at a libSQL server (sqld / Turso) to run
# several stateless relays behind a load balancer. Secrets (TLS key, signing key, database token) reach the
# service through systemd LoadCredential, so they stay root-only files and never enter the Nix store.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkIf mkOption types literalExpression;
  cfg = config.services.osiris-relay;
  pure = import ./config.nix;

  configFile = pkgs.writeText "osiris-relay.yaml" (builtins.toJSON (pure.relayConfig cfg));
  privilegedPort = cfg.port < 1024;
  loopback = pure.isLoopback cfg.listenAddress;
  credentials =
    lib.optional (cfg.tlsCertFile != null) "tls-cert:${cfg.tlsCertFile}"
    ++ lib.optional (cfg.tlsKeyFile != null) "tls-key:${cfg.tlsKeyFile}"
    ++ lib.optional (cfg.signingKeyFile != null) "signing-key:${cfg.signingKeyFile}"
    ++ lib.optional (cfg.databaseAuthTokenFile != null) "database-token:${cfg.databaseAuthTokenFile}";
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
      type = types.str;
      default = "file:/var/lib/osiris-relay/relay.db";
      example = "libsql://relay-db.internal:8080";
      description = "libSQL database: `file:` path (one relay process) or a libSQL server URL (several relays share it).";
    };
    databaseAuthTokenFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "File holding the libSQL server's auth token (for a server URL in `database`).";
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
    logLevel = mkOption {
      type = types.enum [ "debug" "info" "warn" "error" ];
      default = "info";
      description = "Least severe log level written (JSON lines, into the journal).";
    };
    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open `port` in the NixOS firewall.";
    };
    memoryMaxMiB = mkOption {
      type = types.ints.positive;
      default = 1024;
      description = "Memory limit of the relay (MemoryMax, MiB); the V8 heap is capped at three quarters of it.";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = (cfg.tlsCertFile == null) == (cfg.tlsKeyFile == null);
        message = "services.osiris-relay: set tlsCertFile and tlsKeyFile together.";
      }
      {
        assertion = loopback || cfg.tlsCertFile != null;
        message = "services.osiris-relay listens on ${cfg.listenAddress} without TLS; appliances only use https to a non-loopback relay. Set tlsCertFile/tlsKeyFile or listen on loopback behind a TLS proxy.";
      }
    ];

    users.users.osiris-relay = { isSystemUser = true; group = "osiris-relay"; description = "OsirisCare relay"; };
    users.groups.osiris-relay = { };
    environment.systemPackages = [ cfg.package ];
    environment.etc."osiris/relay.yaml".source = configFile;
    networking.firewall.allowedTCPPorts = lib.optional cfg.openFirewall cfg.port;

    systemd.services.osiris-relay = {
      description = "OsirisCare relay";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      environment = {
        NODE_ENV = "production";
        NODE_OPTIONS = "--max-old-space-size=${toString (cfg.memoryMaxMiB * 3 / 4)}";
        NODE_EXTRA_CA_CERTS = "/etc/ssl/certs/ca-certificates.crt";
      };
      unitConfig = { StartLimitIntervalSec = 300; StartLimitBurst = 5; };
      serviceConfig = {
        Type = "exec";
        ExecStart = "${cfg.package}/bin/osiris relay serve --config ${configFile}";
        Restart = "on-failure";
        RestartSec = 5;
        User = "osiris-relay";
        Group = "osiris-relay";
        StateDirectory = lib.removePrefix "/var/lib/" cfg.stateDir;
        StateDirectoryMode = "0700";
        UMask = "0077";
        LoadCredential = credentials;
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
