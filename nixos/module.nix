# services.osiris-appliance: the OsirisCare appliance daemon (`osiris appliance run`) on a clinic's NixOS
# thin client, with the host around it made to match the product's promises:
# - no listening socket except the read-only status page and mDNS, and those only on the LAN interfaces;
# - outbound traffic only to DNS, NTP, the relay, the reseller's receivers, allowed hosts on 443 and the site's
#   hosts on SSH/WinRM (nftables, policy drop both ways, drops logged at a bounded rate);
# - the daemon runs as its own user with an empty capability set; the few privileged operations a runbook may
#   ask for run in separate root units the daemon may only start by name (polkit allow-list);
# - time from systemd-timesyncd; a persistent journal with a size cap.
#
# The daemon's configuration is generated from these options by ./config.nix (pure, also evaluated in CI) and
# validated at build time by the appliance's own loader (`osiris appliance check-config`), so a system that
# builds is a system whose config the daemon accepts.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkIf mkOption types literalExpression;
  cfg = config.services.osiris-appliance;
  pure = import ./config.nix;

  idPattern = "[a-z]+_[0-9a-z]{8,40}";
  interfacePattern = "[A-Za-z0-9_.-]{1,15}[*]?";
  cidrPattern = "[0-9A-Fa-f.:]+/[0-9]{1,3}";

  windowOptions = {
    options = {
      rrule = mkOption {
        type = types.str;
        example = "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22";
        description = ''RFC 5545 RRULE in the site's wall-clock time; may start with a "DTSTART:…" line.'';
      };
      duration = mkOption {
        type = types.strMatching "P[0-9A-Z.]+";
        example = "PT4H";
        description = "ISO 8601 duration of each window (hours are elapsed time, days calendar days); at most 7 days.";
      };
      tz = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "America/New_York";
        description = "IANA time zone of this window; null: the site's `timezone`.";
      };
    };
  };

  targetOptions = {
    options = {
      id = mkOption {
        type = types.strMatching "[a-z0-9][a-z0-9._-]{0,62}";
        example = "dc01";
        description = "Host id used in evidence and incidents (lower-case letters, digits, `.` `_` `-`).";
      };
      name = mkOption { type = types.nullOr types.str; default = null; description = "Display name."; };
      collector = mkOption {
        type = types.enum [ "local" "ssh" "winrm" "lab" ];
        description = "How facts are collected: `local` (this appliance), `ssh` (Linux/macOS), `winrm` (Windows), `lab` (simulated, demos only).";
      };
      address = mkOption { type = types.nullOr types.str; default = null; description = "Host name or IP address (ssh, winrm)."; };
      port = mkOption { type = types.nullOr types.port; default = null; description = "Port; null: 22 for ssh, 5986 (https) or 5985 for winrm."; };
      platform = mkOption {
        type = types.nullOr (types.enum [ "appliance" "linux" "macos" "windows" ]);
        default = null;
        description = "Platform; null: the collector's default (local: appliance, ssh: linux, winrm: windows). Required for lab.";
      };
      credentialRef = mkOption { type = types.nullOr types.str; default = null; description = "Name of the credential in the relay's vault or `credentialsFile` (ssh, winrm)."; };
      hostKeySha256 = mkOption { type = types.nullOr types.str; default = null; description = "Pinned SSH host key fingerprint, `SHA256:…` as `ssh-keygen -lf` prints it."; };
      https = mkOption { type = types.nullOr types.bool; default = null; description = "WinRM over HTTPS; null: true."; };
      auth = mkOption { type = types.nullOr (types.enum [ "ntlm" "basic" ]); default = null; description = "WinRM authentication; null: ntlm."; };
      certSha256 = mkOption {
        type = types.nullOr (types.strMatching "[0-9a-f]{64}");
        default = null;
        description = "Pinned SHA-256 of the WinRM host's TLS certificate (pinned on first use when null).";
      };
      host = mkOption { type = types.nullOr types.str; default = null; description = "Lab only: host name in the lab site fixture; null: `id`."; };
      intervalSec = mkOption { type = types.nullOr types.ints.positive; default = null; description = "Seconds between check cycles; null: 300 for local, 900 otherwise. A scan that finds new drift brings the next one forward to 5 minutes."; };
      timeoutSec = mkOption { type = types.nullOr types.ints.positive; default = null; description = "Seconds before a command on this host is abandoned; null: 30 (60 for winrm)."; };
    };
  };

  syslogOptions = {
    options = {
      host = mkOption { type = types.str; example = "siem.reseller.example"; description = "Syslog receiver host name or IP address."; };
      port = mkOption { type = types.nullOr types.port; default = null; description = "Receiver port; null: 6514 for tls, 514 otherwise."; };
      transport = mkOption { type = types.enum [ "udp" "tcp" "tls" ]; default = "udp"; description = "RFC 5424 transport."; };
    };
  };

  # ---- derived values (config half only) ----
  yamlConfig = pure.applianceConfig cfg;
  rawConfigFile = pkgs.writeText "osiris-appliance.yaml" (builtins.toJSON yamlConfig);
  # The loader that will read the file at run time checks it at build time: one owner of every rule.
  configFile =
    if !cfg.checkConfig then rawConfigFile
    else pkgs.runCommand "osiris-appliance.yaml" { } ''
      ${cfg.package}/bin/osiris appliance check-config --config ${rawConfigFile}
      cp ${rawConfigFile} $out
    '';

  egress = pure.egressEntries cfg;
  egressFile = pkgs.writeText "osiris-egress-entries"
    (lib.concatMapStrings (e: "${e.host} ${e.proto} ${toString e.port}\n") egress);
  egressStateDir = "/var/lib/osiris-egress";
  refreshScript = pkgs.writeShellScript "osiris-egress-refresh" (builtins.readFile ./egress-refresh.sh);

  isV6 = cidr: lib.hasInfix ":" cidr;
  subnets4 = builtins.filter (c: !(isV6 c)) cfg.hostSubnets;
  subnets6 = builtins.filter isV6 cfg.hostSubnets;
  # SSH and WinRM ports, plus any non-default port a target names.
  sitePorts = lib.unique ([ 22 5985 5986 ] ++ builtins.concatMap (t:
    lib.optional ((t.collector == "ssh" || t.collector == "winrm") && t.port != null) t.port) cfg.targets);
  nftSet = xs: "{ ${lib.concatMapStringsSep ", " toString xs} }";
  lan = "{ ${lib.concatMapStringsSep ", " (x: ''"${x}"'') cfg.lanInterfaces} }";
  hasLan = cfg.lanInterfaces != [ ];
  # Rule lines, one per line at chain indentation.
  rules = lib.concatStringsSep "\n    ";

  # Rate limit for drop logging: enough to diagnose, too little to flood the journal (lesson: auditd).
  logLimit = "limit rate 10/second burst 50 packets";

  inputFromLan = lib.optionals hasLan (
    [ "iifname ${lan} tcp dport ${toString cfg.statusPagePort} accept" ]
    ++ lib.optionals cfg.mdns [
      "iifname ${lan} udp dport 5353 accept"
      # Multicast group queries, so snooping switches keep forwarding mDNS to us.
      "iifname ${lan} ip protocol igmp accept"
      "iifname ${lan} icmpv6 type mld-listener-query accept"
    ]);
  outputToSite =
    lib.optional (subnets4 != [ ]) "ip daddr ${nftSet subnets4} tcp dport ${nftSet sitePorts} accept"
    ++ lib.optional (subnets6 != [ ]) "ip6 daddr ${nftSet subnets6} tcp dport ${nftSet sitePorts} accept"
    # Discovery: TCP connect probes, NetBIOS name queries and ICMP echo requests (unless ping is off) to the
    # configured discovery subnets only; replies and ICMP errors come back as established/related.
    ++ lib.optionals (cfg.discoverySubnets != [ ]) ([
      "ip daddr ${nftSet cfg.discoverySubnets} tcp flags & (syn | ack) == syn accept"
      "ip daddr ${nftSet cfg.discoverySubnets} udp dport 137 accept"
    ] ++ lib.optional (cfg.discoveryPingPath != null) "ip daddr ${nftSet cfg.discoverySubnets} icmp type echo-request accept");
  outputMdns = lib.optionals (cfg.mdns && hasLan) [
    "oifname ${lan} ip daddr 224.0.0.251 udp dport 5353 accept"
    "oifname ${lan} ip6 daddr ff02::fb udp dport 5353 accept"
    "oifname ${lan} ip protocol igmp accept"
  ];
  redirectChain = lib.optionalString (cfg.redirectHttp && hasLan) ''
    # http://<mdnsName>.local on port 80 reaches the status page without giving the daemon a capability.
      chain prerouting {
        type nat hook prerouting priority dstnat;
        iifname ${lan} tcp dport 80 redirect to :${toString cfg.statusPagePort}
      }'';

  ruleset = ''
    table inet osiris
    delete table inet osiris
    table inet osiris {
      # Filled by osiris-egress-refresh.service: (address . protocol . port) the appliance may reach.
      set egress_v4 { type ipv4_addr . inet_proto . inet_service; }
      set egress_v6 { type ipv6_addr . inet_proto . inet_service; }

      chain input {
        type filter hook input priority filter; policy drop;
        ct state invalid drop
        ct state established,related accept
        iif lo accept
        # IPv6 neighbour discovery and router advertisements (link-local only: hop limit 255).
        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept
        # DHCP replies to renewals sent from UDP sockets (the first lease uses raw sockets, not filtered here).
        udp sport 67 udp dport 68 accept
        udp sport 547 udp dport 546 accept
        ${rules inputFromLan}
        ${logLimit} log prefix "osiris-drop-in: " level info
      }

      chain forward {
        type filter hook forward priority filter; policy drop;
      }

      chain output {
        type filter hook output priority filter; policy drop;
        ct state invalid drop
        ct state established,related accept
        oif lo accept
        meta l4proto { tcp, udp } th dport 53 accept
        udp dport 123 accept
        udp sport 68 udp dport 67 accept
        udp sport 546 udp dport 547 accept
        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, mld2-listener-report } accept
        ip daddr . meta l4proto . th dport @egress_v4 accept
        ip6 daddr . meta l4proto . th dport @egress_v6 accept
        ${rules (outputToSite ++ outputMdns)}
        ${logLimit} log prefix "osiris-drop-out: " level info
      }
      ${redirectChain}
    }
    # The last addresses the refresh applied, so a reboot or reload without DNS is not deaf. A glob include
    # with no match is not an error (nft(8)), which also keeps the build-time `nft --check` working.
    include "${egressStateDir}/nft/*.nft"
  '';

  # Privileged operations behind catalogue step actions; the daemon may start exactly these instances of
  # osiris-helper@.service (polkit below). Each runs `osiris appliance helper <name>` as root, which re-reads
  # what it acts on from signed data in the store rather than trusting the unprivileged daemon's request.
  helperActions = [
    "switch-pinned" # nixos.switch_generation target=pinned (switch, health check, roll back on failure)
    "switch-previous" # nixos.switch_generation target=previous
    "firewall-snapshot" # facts firewall.* (`nft -j list ruleset` needs CAP_NET_ADMIN)
    "firewall-baseline" # nft.restore_baseline
    "journal-vacuum" # journal.vacuum
    "collect-garbage" # nix.collect_garbage
    "luks-status" # facts luks.* (`cryptsetup status` needs root)
  ];

  memoryMax = "${toString cfg.memoryMaxMiB}M";
  # V8's heap stays below the cgroup limit, leaving room for buffers and the libSQL page cache.
  heapMiB = cfg.memoryMaxMiB * 3 / 4;
in
{
  options.services.osiris-appliance = {
    enable = lib.mkEnableOption "the OsirisCare compliance appliance daemon";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = literalExpression "pkgs.callPackage ./package.nix { }";
      description = "The `osiris` package (Node runtime, bundled CLI, production node_modules with the libSQL addon, UI assets).";
    };

    checkConfig = mkOption {
      type = types.bool;
      default = true;
      description = "Validate the generated config at build time with the appliance's own loader (`osiris appliance check-config`), so a system that builds has a config the daemon accepts. Turn off only for a package without that command.";
    };

    # ---- where state lives ----
    stateDir = mkOption {
      type = types.strMatching "/var/lib/[A-Za-z0-9][A-Za-z0-9._-]*";
      default = "/var/lib/osiris";
      description = "Directory for the database and key files; created by systemd (StateDirectory) with mode 0700, owned by the service user. Must be directly under /var/lib.";
    };
    database = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "libSQL database file; null: `<stateDir>/appliance.db`.";
    };
    logLevel = mkOption {
      type = types.enum [ "debug" "info" "warn" "error" ];
      default = "info";
      description = "Least severe log level written (JSON lines on stdout, into the journal).";
    };

    # ---- site ----
    siteId = mkOption {
      type = types.nullOr (types.strMatching idPattern);
      default = null;
      description = "Site id; assigned by the relay at enrollment, set it only for a standalone appliance.";
    };
    siteName = mkOption { type = types.nullOr types.str; default = null; description = "Clinic name shown on the status page."; };
    timezone = mkOption {
      type = types.str;
      default = "UTC";
      example = "America/New_York";
      description = "IANA time zone of the clinic; maintenance windows and reports use it.";
    };
    healingMode = mkOption {
      type = types.enum [ "observe" "advise" "enforce" ];
      default = "observe";
      description = "observe: record only; advise: propose fixes; enforce: apply fixes (through every gate).";
    };
    maintenanceWindows = mkOption {
      type = types.listOf (types.submodule windowOptions);
      default = [ ];
      example = literalExpression ''[ { rrule = "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22"; duration = "PT4H"; } ]'';
      description = "When disruptive healing steps may run (RRULE + duration + time zone).";
    };
    allowDisruptiveOutsideWindow = mkOption {
      type = types.bool;
      default = false;
      description = "Let disruptive steps run outside maintenance windows; otherwise they are recorded as deferred.";
    };
    deploymentMode = mkOption {
      type = types.enum [ "direct" "reseller" ];
      default = "direct";
      description = "direct: the MSP runs the site; reseller: a partner does, and gets syslog/webhook copies.";
    };
    resellerId = mkOption {
      type = types.nullOr (types.strMatching idPattern);
      default = null;
      example = "rsl_0123abcd";
      description = "Reseller id recorded in evidence; required in reseller mode, refused in direct mode.";
    };
    l2Enabled = mkOption {
      type = types.bool;
      default = false;
      description = "Ask the relay's L2 planner (scrubbed facts only) when no L1 rule matches.";
    };

    # ---- relay ----
    relayUrl = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://relay.example-msp.com";
      description = "Relay base URL (https; http only to loopback). Null: standalone appliance, no sync. Its host and port are added to the egress allow-list.";
    };
    relayPinSha256 = mkOption {
      type = types.nullOr (types.strMatching "[0-9a-f]{64}");
      default = null;
      description = "Pin the relay's TLS key: lower-case hex SHA-256 of its SubjectPublicKeyInfo.";
    };
    syncIntervalSec = mkOption { type = types.ints.positive; default = 60; description = "Seconds between syncs (±10 % jitter)."; };
    orderTtlSec = mkOption { type = types.ints.positive; default = 900; description = "Longest lifetime accepted for a healing order, in seconds."; };

    # ---- enrollment ----
    claimCodeFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = "/var/lib/osiris-provision/claim-code";
      description = "File holding the claim code for first-boot enrollment; must be readable by the `osiris` user. Its contents never enter the Nix store.";
    };
    usbConfigGlob = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/run/osiris-provision/usb/osiris.yaml";
      description = "Glob for a provisioning file (claim code, relay URL) copied from a USB stick; see iso/provisioning.nix.";
    };

    # ---- what to check ----
    targets = mkOption {
      type = types.listOf (types.submodule targetOptions);
      default = [ ];
      example = literalExpression ''[ { id = "appliance"; collector = "local"; } { id = "dc01"; collector = "winrm"; address = "10.0.0.5"; credentialRef = "clinic-admin"; } ]'';
      description = "Hosts to check. SSH/WinRM targets also need their subnet in `hostSubnets` to get through the firewall.";
    };
    labSiteDir = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "Lab site fixture directory for `lab` targets (simulated hosts, demos and tests only).";
    };
    credentialsFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "Standalone mode: YAML file of host credentials. Passed with systemd LoadCredential (the file may stay root-only 0600); read into memory only.";
    };

    # ---- evidence and time ----
    evidenceRetentionCount = mkOption {
      type = types.ints.positive;
      default = 200;
      description = "Keep at least the newest N acknowledged evidence bundles (unacknowledged ones are never deleted).";
    };
    evidenceRetentionDays = mkOption {
      type = types.ints.positive;
      default = 2190;
      description = "Keep every bundle younger than this many days; at least 2190 (6 years, HIPAA §164.316(b)(2)), asserted.";
    };
    ntpMaxSkewSec = mkOption {
      type = types.numbers.positive;
      default = 5;
      description = "Alert when the clock is off by more than this many seconds.";
    };

    # ---- local surfaces ----
    statusPagePort = mkOption {
      type = types.port;
      default = 8080;
      description = "TCP port of the read-only status page; at least 1024 (the daemon has no CAP_NET_BIND_SERVICE; see `redirectHttp`).";
    };
    statusPageBind = mkOption {
      type = types.listOf types.str;
      default = [ "0.0.0.0" ];
      description = "Addresses the status page listens on; the firewall admits it only from `lanInterfaces`.";
    };
    redirectHttp = mkOption {
      type = types.bool;
      default = true;
      description = "Redirect TCP port 80 on the LAN interfaces to the status page (nftables), so `http://<mdnsName>.local` works without a capability.";
    };
    lanInterfaces = mkOption {
      type = types.listOf (types.strMatching interfacePattern);
      default = [ ];
      example = [ "enp1s0" "en*" ];
      description = "Interfaces facing the clinic LAN: the status page and mDNS are reachable only through these (a trailing `*` matches a prefix). Empty: nothing is reachable from outside.";
    };
    mdns = mkOption { type = types.bool; default = true; description = "Announce the status page over mDNS (the daemon answers on UDP 5353 itself; no avahi)."; };
    mdnsName = mkOption {
      type = types.strMatching "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
      default = "osiriscare-appliance";
      description = "mDNS host name: `<mdnsName>.local`.";
    };

    # ---- reseller outputs ----
    syslogTarget = mkOption {
      type = types.nullOr (types.submodule syslogOptions);
      default = null;
      description = "Reseller's syslog receiver (reseller mode only); added to the egress allow-list.";
    };
    webhookUrl = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Reseller's webhook URL (https; bodies HMAC-SHA256 signed); reseller mode only; added to the egress allow-list.";
    };
    webhookSecretFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "File holding the webhook HMAC secret; passed with systemd LoadCredential so it can stay root-only 0600 and never enters the Nix store.";
    };

    # ---- network ----
    allowedEgressHosts = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "updates.example.com" ];
      description = "Extra hosts the appliance may reach on TCP 443 besides the relay. Names are resolved by a timer into an nftables set (fail closed: a failed lookup keeps the previous addresses, never opens more).";
    };
    hostSubnets = mkOption {
      type = types.listOf (types.strMatching cidrPattern);
      default = [ ];
      example = [ "192.168.10.0/24" ];
      description = "The site's host subnets (CIDR): outbound SSH (22) and WinRM (5985, 5986) plus any target port are allowed to these only.";
    };
    # ---- network discovery (the appliance's `discovery:` section) ----
    discoverySubnets = mkOption {
      type = types.listOf (types.strMatching cidrPattern);
      default = [ ];
      example = [ "192.168.10.0/24" ];
      description = "The only IPv4 subnets (CIDR, /16 or smaller) discovery may ever probe; empty: discovery off. The firewall lets probes reach these subnets only.";
    };
    discoverySchedule = mkOption {
      type = types.enum [ "nightly" "off" ];
      default = "nightly";
      description = "nightly: scan once a day at discoveryNightlyAt (site time zone); off: only when a signed discovery_scan order asks.";
    };
    discoveryNightlyAt = mkOption {
      type = types.strMatching "([01][0-9]|2[0-3]):[0-5][0-9]";
      default = "02:30";
      description = "Time of day (HH:MM, site time zone) of the nightly scan.";
    };
    discoveryDepth = mkOption {
      type = types.enum [ "quick" "full" ];
      default = "quick";
      description = "Port list of the scheduled scan: the catalogue's quick or full set.";
    };
    discoveryConcurrency = mkOption {
      type = types.ints.between 1 256;
      default = 16;
      description = "Hosts probed at once (each host sees one probe at a time).";
    };
    discoveryRatePerSecond = mkOption {
      type = types.ints.between 1 2000;
      default = 50;
      description = "Probe starts per second overall.";
    };
    discoveryConnectTimeoutMs = mkOption {
      type = types.ints.between 100 30000;
      default = 1500;
      description = "Timeout per probe, in milliseconds: each TCP connect, and each host's ICMP echo (rounded up to whole seconds).";
    };
    discoveryPingPath = mkOption {
      type = types.nullOr types.str;
      # The config schema's default; the config below sets iputils' own binary (see "discovery: ICMP echo").
      default = "ping";
      description = "The ping program for ICMP echo liveness (a name on the daemon's fixed PATH or an absolute path); null: TCP liveness only. On the appliance it defaults (mkDefault) to iputils' plain binary, since the capability wrapper in /run/wrappers/bin cannot work for a daemon without capabilities.";
    };
    discoveryNameTimeoutMs = mkOption {
      type = types.ints.between 100 10000;
      default = 1500;
      description = "Timeout of each name lookup (reverse DNS, NetBIOS, mDNS), in milliseconds.";
    };
    discoveryLivenessProbes = mkOption {
      type = types.ints.between 1 64;
      default = 6;
      description = "Silent probes before a host not in the ARP table is given up.";
    };
    discoveryDnsServers = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Resolvers for reverse DNS (e.g. the domain controller); empty: the system's.";
    };
    discoveryArpPath = mkOption {
      type = types.str;
      default = "/proc/net/arp";
      description = "ARP table read for MAC addresses and vendors.";
    };
    discoveryExclude = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "IPv4 addresses and MACs never to probe (fragile medical devices), besides those the relay sends.";
    };
    discoveryMaxDurationSec = mkOption {
      type = types.ints.between 60 21600;
      default = 10800;
      description = "A scan still running after this many seconds is stopped and reported as incomplete.";
    };
    egressRefreshInterval = mkOption {
      type = types.str;
      default = "5min";
      description = "How often the egress allow-list is re-resolved (systemd time span).";
    };

    # ---- service limits ----
    memoryMaxMiB = mkOption {
      type = types.ints.positive;
      default = 512;
      description = "Memory limit of the daemon (MemoryMax, MiB); the V8 heap is capped at three quarters of it.";
    };
    watchdogSec = mkOption {
      type = types.ints.positive;
      default = 120;
      description = "systemd watchdog: the daemon must send WATCHDOG=1 at least every half of this (seconds) or it is restarted.";
    };
    journalMaxUse = mkOption {
      type = types.str;
      default = "500M";
      description = "journald SystemMaxUse: the persistent journal never grows beyond this.";
    };
    managedUnits = mkOption {
      type = types.listOf (types.strMatching "[A-Za-z0-9@._-]{1,120}[.](service|timer)");
      # The module runs systemd-timesyncd (below) and the catalogue's appliance.restart_time_sync runbook
      # restarts it, so the polkit rule must allow that by default.
      default = [ "systemd-timesyncd.service" ];
      example = [ "systemd-timesyncd.service" "clamav-daemon.service" ];
      description = "Units the daemon may start and restart (runbook actions systemd.start / systemd.restart), via polkit; nothing else. Keep systemd-timesyncd.service when you set this: the appliance.restart_time_sync runbook restarts it.";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.evidenceRetentionDays >= 2190;
        message = "services.osiris-appliance.evidenceRetentionDays must be at least 2190 (6 years, HIPAA §164.316(b)(2)); it is ${toString cfg.evidenceRetentionDays}.";
      }
      {
        assertion = cfg.deploymentMode == "reseller" -> cfg.resellerId != null;
        message = "services.osiris-appliance.resellerId is required when deploymentMode is \"reseller\".";
      }
      {
        assertion = cfg.deploymentMode == "direct" -> (cfg.resellerId == null && cfg.syslogTarget == null && cfg.webhookUrl == null);
        message = "services.osiris-appliance: resellerId, syslogTarget and webhookUrl are for deploymentMode \"reseller\"; it is \"direct\".";
      }
      {
        assertion = (cfg.webhookUrl == null) == (cfg.webhookSecretFile == null);
        message = "services.osiris-appliance: set webhookUrl and webhookSecretFile together.";
      }
      {
        assertion = cfg.statusPagePort >= 1024;
        message = "services.osiris-appliance.statusPagePort must be at least 1024 (the daemon has no capabilities); use redirectHttp for port 80. It is ${toString cfg.statusPagePort}.";
      }
    ];
    warnings =
      lib.optional (cfg.lanInterfaces == [ ]) "services.osiris-appliance.lanInterfaces is empty: the status page and mDNS are unreachable from the LAN."
      ++ lib.optional (cfg.hostSubnets == [ ] && builtins.any (t: t.collector == "ssh" || t.collector == "winrm") cfg.targets)
        "services.osiris-appliance has SSH/WinRM targets but no hostSubnets: the firewall drops their traffic.";

    users.users.osiris = {
      isSystemUser = true;
      group = "osiris";
      description = "OsirisCare appliance daemon";
      home = cfg.stateDir;
    };
    users.groups.osiris = { };

    environment.systemPackages = [ cfg.package ];
    # CLI commands (`osiris appliance status`, `enroll`) read the same file the daemon does.
    environment.etc."osiris/appliance.yaml".source = configFile;

    systemd.services.osiris-appliance = {
      description = "OsirisCare compliance appliance";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" "osiris-egress-refresh.service" ];
      after = [ "network-online.target" "nftables.service" "osiris-egress-refresh.service" "time-sync.target" ];
      path = [ pkgs.systemd ];
      environment = {
        NODE_ENV = "production";
        # Memory (measured by scripts/bench/appliance.ts, which starts its child with these; keep them in step):
        # a 2 MB young generation instead of 16 MB (-30 MB), one V8 worker thread and two malloc arenas (the
        # per-thread arenas otherwise hold 10-40 MB of freed compiler/GC memory). Cycle CPU time unchanged.
        NODE_OPTIONS = "--max-old-space-size=${toString heapMiB} --max-semi-space-size=2 --v8-pool-size=1";
        MALLOC_ARENA_MAX = "2";
        # Trust the system's CA bundle (security.pki) for the relay and webhooks, not only Node's built-in one.
        NODE_EXTRA_CA_CERTS = "/etc/ssl/certs/ca-certificates.crt";
      };
      unitConfig = {
        StartLimitIntervalSec = 300;
        StartLimitBurst = 5;
      };
      serviceConfig = {
        # The daemon sends READY=1 once its config is loaded and the status page listens, then WATCHDOG=1 at
        # least every WatchdogSec/2. Node has no AF_UNIX datagram socket, so it may spawn `systemd-notify`;
        # NotifyAccess=all lets that child's messages count.
        Type = "notify";
        NotifyAccess = "all";
        WatchdogSec = cfg.watchdogSec;
        ExecStart = "${cfg.package}/bin/osiris appliance run --config ${configFile}";
        Restart = "on-failure";
        RestartSec = 10;
        TimeoutStopSec = 30;

        User = "osiris";
        Group = "osiris";
        # Reads its own canary back from the journal (fact logging.canary_age).
        SupplementaryGroups = [ "systemd-journal" ];
        StateDirectory = lib.removePrefix "/var/lib/" cfg.stateDir;
        StateDirectoryMode = "0700";
        # Anything the daemon creates is owner-only; key files are written 0600 explicitly as well.
        UMask = "0077";
        LoadCredential =
          lib.optional (cfg.webhookSecretFile != null) "${pure.credentialNames.webhookSecret}:${cfg.webhookSecretFile}"
          ++ lib.optional (cfg.credentialsFile != null) "${pure.credentialNames.credentials}:${cfg.credentialsFile}";

        # No capabilities: collectors only open outbound TCP (SSH, WinRM, HTTPS) and UDP (DNS, SNTP, mDNS on
        # 5353 > 1024); discovery does not use raw sockets, the status page port is >= 1024, and privileged
        # steps run in osiris-helper@ units.
        CapabilityBoundingSet = "";
        AmbientCapabilities = "";
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
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        RemoveIPC = true;
        # AF_NETLINK: interface and address listing for the status page and mDNS.
        RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_UNIX" "AF_NETLINK" ];
        SystemCallArchitectures = "native";
        SystemCallFilter = [ "@system-service" "~@privileged" ];
        # EPERM instead of SIGSYS: libuv probes some calls (io_uring) and falls back when refused.
        SystemCallErrorNumber = "EPERM";
        # Not MemoryDenyWriteExecute: V8's JIT needs writable+executable pages.
        MemoryMax = memoryMax;
        TasksMax = 256;
      };
    };

    # ---- privileged helpers, started by name only ----
    systemd.services."osiris-helper@" = {
      description = "OsirisCare privileged step %i";
      # A switch replaces this unit's own definition; it must not be restarted or stopped half-way.
      restartIfChanged = false;
      stopIfChanged = false;
      path = [ pkgs.nftables pkgs.systemd config.nix.package ];
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${cfg.package}/bin/osiris appliance helper %i --config ${configFile}";
        # The helper's own trust anchor (relay keys, accepted versions): root-only, never the daemon's to write.
        StateDirectory = "osiris-helper";
        StateDirectoryMode = "0700";
        UMask = "0077";
        PrivateTmp = true;
        TimeoutStartSec = "45min";
      };
    };
    security.polkit.enable = true;
    security.polkit.extraConfig = ''
      // OsirisCare: the unprivileged daemon may start its helper steps and the units it manages, nothing else.
      polkit.addRule(function (action, subject) {
        if (action.id !== "org.freedesktop.systemd1.manage-units" || subject.user !== "osiris") return polkit.Result.NOT_HANDLED;
        var unit = action.lookup("unit"), verb = action.lookup("verb");
        var helpers = ${builtins.toJSON (map (a: "osiris-helper@${a}.service") helperActions ++ [ "osiris-egress-refresh.service" ])};
        var managed = ${builtins.toJSON cfg.managedUnits};
        if (verb === "start" && helpers.indexOf(unit) >= 0) return polkit.Result.YES;
        if ((verb === "start" || verb === "restart") && managed.indexOf(unit) >= 0) return polkit.Result.YES;
        return polkit.Result.NOT_HANDLED;
      });
    '';

    # ---- firewall ----
    networking.firewall.enable = lib.mkDefault false;
    networking.nftables.enable = true;
    networking.nftables.ruleset = ruleset;

    systemd.services.osiris-egress-refresh = {
      description = "OsirisCare: resolve allowed egress hosts into the nftables sets";
      # Runs after every nftables (re)start too, which recreates the sets from the cached include.
      wantedBy = [ "multi-user.target" "nftables.service" ];
      after = [ "nftables.service" "network-online.target" "nss-lookup.target" ];
      wants = [ "network-online.target" ];
      path = [ pkgs.nftables pkgs.getent pkgs.coreutils pkgs.gnugrep pkgs.gawk ];
      environment = {
        OSIRIS_NFT_TABLE = "inet osiris";
        OSIRIS_EGRESS_KEEP_S = "86400";
      };
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${refreshScript} ${egressFile} ${egressStateDir}";
        # Exit 3 = some hosts did not resolve (their previous addresses were kept); the unit shows failed so
        # it is visible, the daemon records `alert` evidence from its own DNS checks.
        StateDirectory = lib.removePrefix "/var/lib/" egressStateDir;
        StateDirectoryMode = "0700";
        CapabilityBoundingSet = [ "CAP_NET_ADMIN" ];
        NoNewPrivileges = true;
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_UNIX" "AF_NETLINK" ];
        SystemCallArchitectures = "native";
        SystemCallFilter = [ "@system-service" ];
        TimeoutStartSec = "5min";
      };
    };
    systemd.timers.osiris-egress-refresh = {
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnBootSec = "1min";
        OnUnitActiveSec = cfg.egressRefreshInterval;
        RandomizedDelaySec = "30s";
      };
    };

    # ---- discovery: ICMP echo ----
    # The daemon has an empty capability bounding set and NoNewPrivileges, so a ping that relies on a
    # capability cannot run for it: /run/wrappers/bin/ping (first on the daemon's fixed PATH) fails with
    # "failed to inherit capabilities", and a cap_net_raw=ep binary is refused at exec. iputils' plain binary
    # from the store opens an unprivileged ICMP datagram socket instead, which the kernel allows to the groups
    # in net.ipv4.ping_group_range (systemd's own default, stated here because discovery relies on it).
    services.osiris-appliance.discoveryPingPath = lib.mkDefault "${pkgs.iputils}/bin/ping";
    boot.kernel.sysctl."net.ipv4.ping_group_range" = lib.mkDefault "0 2147483647";

    # ---- time and logs ----
    services.timesyncd.enable = true;
    services.journald.storage = "persistent";
    services.journald.extraConfig = ''
      SystemMaxUse=${cfg.journalMaxUse}
      SystemKeepFree=1G
      MaxFileSec=1month
    '';
  };
}
