# First-boot provisioning and the console banner of the appliance image.
#
# osiris-provision.service (at boot, then every 2 minutes until the appliance holds a relay token):
#   1. as root (ExecStartPre=+): if a USB stick labelled OSIRIS-CFG is present, mount it read-only, copy its
#      osiris.yaml (claim code, relay URL) to /run/osiris-provision/usb/osiris.yaml (root:osiris 0640; RAM
#      only, gone at power-off), unmount it;
#   2. as the daemon's user: `osiris appliance enroll --config /etc/osiris/appliance.yaml`, which claims with
#      the claim code (enrollment.usb_config_glob / claim_code_file) or, with none, registers the appliance
#      as pending (drop-ship) so the MSP can accept it after comparing the key fingerprint. Exit 0: enrolled;
#      75: pending or relay unreachable (asked again by the timer); anything else: an error.
# osiris-console-banner.service (every minute): `osiris appliance status` into /etc/issue.d, so the console
# login screen shows the enrollment state and the key fingerprint.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.osiris-appliance;
  osiris = "${cfg.package}/bin/osiris";
  configPath = "/etc/osiris/appliance.yaml";
  usbLabel = "OSIRIS-CFG";
  provisionDir = "/run/osiris-provision";
  stateName = lib.removePrefix "/var/lib/" cfg.stateDir;
  statusUrl =
    if cfg.redirectHttp then "http://${cfg.mdnsName}.local/"
    else "http://${cfg.mdnsName}.local:${toString cfg.statusPagePort}/";

  copyUsb = pkgs.writeShellScript "osiris-provision-usb" (builtins.readFile ./provision-usb.sh);
  banner = pkgs.writeShellScript "osiris-console-banner" (builtins.readFile ./console-banner.sh);

  # Same confinement as the daemon (the enroll command reads and writes the same state directory).
  sandbox = {
    User = "osiris";
    Group = "osiris";
    StateDirectory = stateName;
    StateDirectoryMode = "0700";
    UMask = "0077";
    CapabilityBoundingSet = "";
    NoNewPrivileges = true;
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    PrivateDevices = true;
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectControlGroups = true;
    RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_UNIX" "AF_NETLINK" ];
    RestrictNamespaces = true;
    LockPersonality = true;
    SystemCallArchitectures = "native";
    SystemCallFilter = [ "@system-service" "~@privileged" ];
    SystemCallErrorNumber = "EPERM";
  };
  nodeEnvironment = {
    NODE_ENV = "production";
    NODE_EXTRA_CA_CERTS = "/etc/ssl/certs/ca-certificates.crt";
  };
in
{
  services.osiris-appliance.usbConfigGlob = lib.mkDefault "${provisionDir}/usb/osiris.yaml";

  systemd.services.osiris-provision = {
    description = "OsirisCare provisioning: claim with a USB claim code, or register as pending";
    wantedBy = [ "multi-user.target" ];
    wants = [ "network-online.target" "osiris-egress-refresh.service" ];
    after = [ "network-online.target" "osiris-egress-refresh.service" "systemd-udev-settle.service" ];
    before = [ "osiris-appliance.service" "osiris-console-banner.service" ];
    # An enrolled appliance holds its relay token (appliance/store/keyfiles.ts KEY_FILES.relayToken).
    unitConfig.ConditionPathExists = "!${cfg.stateDir}/relay-token";
    path = [ pkgs.util-linux pkgs.coreutils ];
    environment = nodeEnvironment // {
      OSIRIS_USB_LABEL = usbLabel;
      OSIRIS_PROVISION_DIR = provisionDir;
    };
    serviceConfig = sandbox // {
      Type = "oneshot";
      ExecStartPre = "+${copyUsb}";
      ExecStart = "${osiris} appliance enroll --config ${configPath}";
      ExecStartPost = "+${pkgs.systemd}/bin/systemctl start --no-block osiris-console-banner.service";
      # 75 (EX_TEMPFAIL): registered as pending, or the relay is away; the timer asks again.
      SuccessExitStatus = [ 75 ];
      TimeoutStartSec = "2min";
    };
  };
  systemd.timers.osiris-provision = {
    wantedBy = [ "timers.target" ];
    timerConfig.OnUnitInactiveSec = "2min";
  };

  systemd.services.osiris-console-banner = {
    description = "OsirisCare: enrollment state and key fingerprint on the console";
    after = [ "osiris-provision.service" "osiris-appliance.service" ];
    wantedBy = [ "multi-user.target" ];
    environment = nodeEnvironment;
    serviceConfig = sandbox // {
      Type = "oneshot";
      RuntimeDirectory = "osiris-banner";
      ExecStart = "${banner} ${osiris} ${configPath} ${statusUrl} /run/osiris-banner/issue";
      # agetty shows /etc/issue.d/*.issue under /etc/issue and re-reads them on --reload.
      ExecStartPost = "+${pkgs.bash}/bin/bash -c '${pkgs.coreutils}/bin/install -m 0644 /run/osiris-banner/issue /etc/issue.d/50-osiris.issue && ${pkgs.util-linux}/bin/agetty --reload'";
      TimeoutStartSec = "1min";
    };
  };
  systemd.timers.osiris-console-banner = {
    wantedBy = [ "timers.target" ];
    timerConfig = { OnBootSec = "30s"; OnUnitActiveSec = "1min"; };
  };
  systemd.tmpfiles.rules = [ "d /etc/issue.d 0755 root root -" ];
}
