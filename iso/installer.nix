# The installer: a live USB/ISO image that writes the appliance system onto a thin client's internal disk.
# It boots on UEFI and on legacy BIOS (isohybrid); the installed system boots UEFI only, from the fallback
# path \EFI\BOOT\BOOTX64.EFI (iso/appliance.nix). The appliance system is built in advance and carried in
# the image's store, so installing needs no network.
#
# Usage on the thin client: boot the stick, log in on the console (user `nixos`, no password), run
#   sudo osiris-install            (picks the only internal disk, asks to confirm by typing its name)
#   sudo osiris-install /dev/sda   (names the disk)
{ config, lib, pkgs, modulesPath, ... }:
let
  cfg = config.osiris.installer;
  tools = [ pkgs.util-linux pkgs.gptfdisk pkgs.dosfstools pkgs.e2fsprogs pkgs.coreutils pkgs.gnugrep pkgs.gawk pkgs.systemd ];
  osiris-install = pkgs.writeShellScriptBin "osiris-install" ''
    export OSIRIS_APPLIANCE_SYSTEM=${cfg.applianceSystem}
    export PATH=${lib.makeBinPath tools}:$PATH
    exec ${pkgs.bash}/bin/bash ${./install.sh} "$@"
  '';
in
{
  imports = [ (modulesPath + "/installer/cd-dvd/installation-cd-minimal.nix") ];

  options.osiris.installer.applianceSystem = lib.mkOption {
    type = lib.types.package;
    description = "The appliance system to install: `config.system.build.toplevel` of a configuration that imports iso/appliance.nix and the MSP's site module (the flake's lib.mkImage sets it).";
  };

  config = {
    isoImage.volumeID = "OSIRIS_INSTALL";
    isoImage.makeEfiBootable = true;
    isoImage.makeUsbBootable = true;
    isoImage.storeContents = [ cfg.applianceSystem ];
    environment.systemPackages = [ osiris-install ];
    services.getty.helpLine = lib.mkAfter ''

      To install the OsirisCare appliance on this machine's internal disk (erasing it), run:
          sudo osiris-install
    '';
    # The previous system's auditd rules starved thin clients; the installer does not need auditing either.
    security.auditd.enable = false;
  };
}
