# The installed OsirisCare appliance: an x86_64 thin client (HP t640/t740 class: AMD/Intel, SATA, NVMe or
# eMMC, one or two NICs) running services.osiris-appliance, with first-boot provisioning and a console banner.
# An MSP builds it with its own site module (relay URL, LAN interfaces, host subnets): see iso/README.md.
{ config, lib, pkgs, ... }:
{
  imports = [
    ../nixos/module.nix
    ./provisioning.nix
  ];

  # ---- hardware ----
  boot.initrd.availableKernelModules = [ "ahci" "nvme" "xhci_pci" "ehci_pci" "usb_storage" "uas" "sd_mod" "sdhci_pci" "sdhci_acpi" "mmc_block" ];
  boot.supportedFilesystems = [ "vfat" "ext4" ];
  # NIC and CPU microcode blobs (Realtek/Intel NICs on thin clients need them).
  hardware.enableRedistributableFirmware = true;
  # Thin clients have 4-8 GiB RAM and small flash: compressed swap, no swap partition.
  zramSwap.enable = true;

  # ---- boot: UEFI, from the removable-media fallback path ----
  # GRUB goes to \EFI\BOOT\BOOTX64.EFI on the ESP and no NVRAM boot entry is written: HP thin-client firmware
  # does not reliably keep NVRAM entries (a lesson from the previous system) but always tries the fallback
  # path. Legacy BIOS boot of the installed system is not supported (the installer ISO itself boots either way).
  boot.loader.grub = {
    enable = true;
    efiSupport = true;
    efiInstallAsRemovable = true;
    device = "nodev";
    # Enough generations to roll back a failed switch (nixos.switch_generation), few enough for small disks.
    configurationLimit = 10;
  };
  boot.loader.efi.canTouchEfiVariables = false;
  boot.loader.efi.efiSysMountPoint = "/boot";

  # Partitions by label, as iso/install.sh creates them: the system does not depend on the disk's name.
  fileSystems."/" = { device = "/dev/disk/by-label/osiris-root"; fsType = "ext4"; options = [ "noatime" ]; };
  fileSystems."/boot" = { device = "/dev/disk/by-label/OSIRIS-ESP"; fsType = "vfat"; options = [ "umask=0077" ]; };

  # ---- network and local surfaces ----
  networking.hostName = lib.mkDefault "osiriscare";
  networking.useDHCP = lib.mkDefault true;
  services.osiris-appliance = {
    enable = true;
    lanInterfaces = lib.mkDefault [ "en*" "eth*" ];
    targets = lib.mkDefault [{ id = "appliance"; collector = "local"; }];
  };
  # The daemon answers mDNS itself (one listener on UDP 5353); avahi would be a second one.
  services.avahi.enable = false;
  # No remote shell: break-glass is the console. (The previous system ran sshd by default.)
  services.openssh.enable = false;

  # ---- lessons from the previous system ----
  # auditd with execve rules overflowed the kauditd backlog on thin clients and starved userspace.
  security.auditd.enable = false;
  security.audit.enable = false;

  # ---- accounts ----
  # No passwords in the image: root is locked; console access for support is added deliberately by the MSP.
  users.mutableUsers = false;
  users.users.root.hashedPassword = "!";

  documentation.enable = false;
  nix.settings.trusted-users = [ "root" ];
  system.stateVersion = "25.05";
}
