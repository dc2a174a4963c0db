#!/usr/bin/env bash
# console-banner.sh OSIRIS CONFIG STATUS_URL OUT
# Writes the console banner (an agetty issue file) from `osiris appliance status`: enrollment state, key
# fingerprint, where the status page is. Runs as the daemon's user; systemd installs OUT into /etc/issue.d.
set -u
if [ "$#" -ne 4 ]; then
  echo "usage: console-banner.sh OSIRIS CONFIG STATUS_URL OUT" >&2
  exit 2
fi
osiris=$1 config=$2 url=$3 out=$4

status=$("$osiris" appliance status --config "$config" 2>&1)
rc=$?
# agetty expands backslash escapes in issue files; the status text is shown literally.
escape() { sed -e 's/\\/\\\\/g' -e 's/^/  /'; }
{
  printf '\n  OsirisCare compliance appliance\n\n'
  if [ "$rc" -eq 0 ]; then
    printf '%s\n' "$status" | escape
  else
    printf 'status unavailable (osiris appliance status exited %s):\n%s\n' "$rc" "$(printf '%s' "$status" | head -c 400)" | escape
  fi
  printf '\n  Status page: %s (or http://\\4/)\n' "$url"
  printf '  Before accepting this appliance, your IT provider compares the fingerprint above with theirs.\n\n'
} >"$out.tmp" && mv -f "$out.tmp" "$out"
