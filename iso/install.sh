#!/usr/bin/env bash
# osiris-install [--yes] [DISK]
# Erases DISK (default: the only internal, non-removable disk other than the boot stick), creates
#   1  512 MiB EFI system partition, FAT32, label OSIRIS-ESP
#   2  the rest, ext4, label osiris-root
# and installs the appliance system $OSIRIS_APPLIANCE_SYSTEM onto it (GRUB at \EFI\BOOT\BOOTX64.EFI, no NVRAM
# entry). Stops at the first failing step and names it: an installer must not continue on a half-made disk.
set -euo pipefail

step="starting"
trap 'echo "osiris-install: failed while $step" >&2' ERR
say() { printf 'osiris-install: %s\n' "$*"; }

yes=0
disk=""
for arg in "$@"; do
  case "$arg" in
    --yes) yes=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    /dev/*) disk=$arg ;;
    *) echo "osiris-install: unknown argument $arg (usage: osiris-install [--yes] [/dev/DISK])" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then echo "osiris-install: run as root (sudo osiris-install)" >&2; exit 2; fi
if [ -z "${OSIRIS_APPLIANCE_SYSTEM:-}" ] || [ ! -e "$OSIRIS_APPLIANCE_SYSTEM/init" ]; then
  echo "osiris-install: OSIRIS_APPLIANCE_SYSTEM does not name a NixOS system (${OSIRIS_APPLIANCE_SYSTEM:-unset})" >&2
  exit 2
fi

step="choosing the disk"
if [ -z "$disk" ]; then
  # The boot stick is the disk holding the ISO's filesystem; never offer it.
  boot_disk=$(lsblk -no PKNAME "$(findmnt -no SOURCE /iso 2>/dev/null || echo /nonexistent)" 2>/dev/null || true)
  mapfile -t candidates < <(lsblk -dnpo NAME,TYPE,RM | awk -v boot="/dev/$boot_disk" '$2 == "disk" && $3 == 0 && $1 != boot { print $1 }')
  if [ "${#candidates[@]}" -ne 1 ]; then
    echo "osiris-install: found ${#candidates[@]} internal disks (${candidates[*]:-none}); name one: osiris-install /dev/DISK" >&2
    lsblk -dpo NAME,SIZE,MODEL,RM,TYPE >&2
    exit 2
  fi
  disk=${candidates[0]}
fi
[ -b "$disk" ] || { echo "osiris-install: $disk is not a block device" >&2; exit 2; }

say "this erases $disk: $(lsblk -dno SIZE,MODEL "$disk" | tr -s ' ')"
if [ "$yes" -ne 1 ]; then
  read -r -p "Type the disk name ($disk) to continue: " answer
  [ "$answer" = "$disk" ] || { echo "osiris-install: not confirmed; nothing was changed" >&2; exit 1; }
fi

# nvme0n1 -> nvme0n1p1, mmcblk0 -> mmcblk0p1, sda -> sda1
part() { case "$disk" in *[0-9]) printf '%sp%s' "$disk" "$1" ;; *) printf '%s%s' "$disk" "$1" ;; esac; }

step="partitioning $disk"
umount -R /mnt 2>/dev/null || true
wipefs -af "$disk"
sgdisk --zap-all "$disk"
sgdisk -n1:1MiB:+512MiB -t1:EF00 -c1:OSIRIS-ESP -n2:0:0 -t2:8300 -c2:osiris-root "$disk"
partprobe "$disk" || true
udevadm settle

step="formatting"
mkfs.vfat -F 32 -n OSIRIS-ESP "$(part 1)"
mkfs.ext4 -F -q -L osiris-root "$(part 2)"
udevadm settle

step="mounting"
mount /dev/disk/by-label/osiris-root /mnt
mkdir -p /mnt/boot
mount -o umask=0077 /dev/disk/by-label/OSIRIS-ESP /mnt/boot

step="installing the system (copying it from this stick)"
nixos-install --system "$OSIRIS_APPLIANCE_SYSTEM" --root /mnt --no-root-passwd --no-channel-copy

step="checking the boot loader"
[ -f /mnt/boot/EFI/BOOT/BOOTX64.EFI ] || { echo "osiris-install: \\EFI\\BOOT\\BOOTX64.EFI is missing after the install" >&2; exit 1; }

step="unmounting"
umount -R /mnt
say "done. Remove this stick. To enroll with a claim code, insert the stick labelled OSIRIS-CFG; without it"
say "the appliance registers as pending and shows its key fingerprint on this console. Then reboot."
