#!/usr/bin/env bash
# Copies the provisioning file from a USB stick labelled $OSIRIS_USB_LABEL (default OSIRIS-CFG) to
# $OSIRIS_PROVISION_DIR/usb/osiris.yaml (root:osiris 0640), where enrollment.usb_config_glob finds it.
# Runs as root before `osiris appliance enroll` (osiris-provision.service, ExecStartPre=+).
#
# Never fails the unit: no stick, no file or an unreadable stick all mean "enroll without a claim code",
# which registers the appliance as pending. Every such case is logged. The stick is mounted read-only,
# nosuid/nodev/noexec, only for the copy; its contents are not interpreted here (the osiris CLI parses them).
set -u

label=${OSIRIS_USB_LABEL:-OSIRIS-CFG}
dir=${OSIRIS_PROVISION_DIR:-/run/osiris-provision}
# A provisioning file holds a claim code and a URL; anything bigger is not one.
max_bytes=65536
# A stick present at power-on may still be being probed by udev.
wait_s=5

log() { printf 'osiris-provision: %s\n' "$*" >&2; }

if ! install -d -m 0750 -o root -g osiris "$dir" "$dir/usb"; then
  log "cannot create $dir/usb; continuing without a provisioning file"
  exit 0
fi

dev=/dev/disk/by-label/$label
for _ in $(seq "$wait_s"); do
  [ -e "$dev" ] && break
  sleep 1
done
if [ ! -e "$dev" ]; then
  log "no USB stick labelled $label; enrolling without a claim code registers this appliance as pending"
  exit 0
fi

mnt=$(mktemp -d "$dir/mnt.XXXXXX") || { log "cannot create a mount point under $dir"; exit 0; }
if ! mount -o ro,nosuid,nodev,noexec "$dev" "$mnt"; then
  log "cannot mount $dev read-only; ignoring the stick"
  rmdir "$mnt"
  exit 0
fi

file=""
for name in osiris.yaml osiris.yml; do
  if [ -f "$mnt/$name" ]; then file=$mnt/$name; break; fi
done
if [ -z "$file" ]; then
  log "the stick labelled $label has no osiris.yaml; enrolling without a claim code"
elif [ "$(stat -c %s "$file")" -gt "$max_bytes" ]; then
  log "$(basename "$file") on $label is larger than $max_bytes bytes; ignoring it"
elif install -m 0640 -o root -g osiris "$file" "$dir/usb/osiris.yaml.tmp" && mv -f "$dir/usb/osiris.yaml.tmp" "$dir/usb/osiris.yaml"; then
  log "copied the provisioning file from the stick labelled $label"
else
  log "could not copy $(basename "$file") from $label"
fi

umount "$mnt" || log "could not unmount $mnt"
rmdir "$mnt" 2>/dev/null
exit 0
