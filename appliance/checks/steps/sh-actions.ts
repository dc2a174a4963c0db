/**
 * The fixed POSIX sh script of every Linux, appliance and macOS step action (protocol/catalogue/actions.ts).
 * A script never contains data: its parameters arrive as environment variables `OSIRIS_P_<NAME>` (validated
 * against the action's schema before anything is sent), and `OSIRIS_ROOT` prefixes the files it writes (empty
 * in production; a scratch directory in tests). Each script prints one line saying what it did, or why it
 * failed, and exits 0 only when the action completed. Privileged commands run directly as root, through
 * `sudo -n` otherwise, and fail cleanly when neither is possible. The appliance's own daemon is neither
 * (NoNewPrivileges, no capabilities): its steps run with `OSIRIS_PRIVILEGE=polkit`, and what they may do is
 * what the polkit rule of nixos/module.nix grants — start the helper units (osiris-helper@ACTION, which do
 * the root work from the verified signed config) and restart the managed units.
 */

/** Shared start of every action script. */
export const STEP_PRELUDE = String.raw`export LC_ALL=C
PATH=/run/wrappers/bin:/run/current-system/sw/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022
R=$OSIRIS_ROOT
if [ "$(id -u)" = 0 ]; then S=
elif [ "$OSIRIS_PRIVILEGE" = polkit ]; then S=
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then S="sudo -n --"
else echo "needs root or passwordless sudo on this host"; exit 3; fi
die() { echo "$*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
# put FILE: replaces FILE with stdin atomically (temp file beside it, then rename).
put() { $S mkdir -p "$(dirname "$1")" && $S sh -c 'cat >"$1.osiris-tmp" && chmod 644 "$1.osiris-tmp" && mv -f "$1.osiris-tmp" "$1"' sh "$1"; }
# wait_active UNIT SECONDS
wait_active() { i=0; while [ "$i" -lt "$2" ]; do [ "$(systemctl is-active "$1" 2>/dev/null)" = active ] && return 0; sleep 1; i=$((i + 1)); done; return 1; }
`;

const SYSCTL_KEYS = "net.ipv4.ip_forward net.ipv4.tcp_syncookies net.ipv4.conf.all.accept_redirects net.ipv4.conf.default.accept_redirects net.ipv4.conf.all.send_redirects net.ipv4.conf.all.accept_source_route";

const restart = String.raw`U=$OSIRIS_P_UNIT
$S systemctl restart -- "$U" || die "systemctl restart $U failed"
wait_active "$U" 30 || die "$U restarted but is not active after 30 s"
echo "$U restarted and active"`;

const journalVacuum = String.raw`$S journalctl --vacuum-size="$OSIRIS_P_MAX_SIZE_MB"M >/dev/null 2>&1 || die "journalctl --vacuum-size failed"
echo "journal reduced to at most $OSIRIS_P_MAX_SIZE_MB MiB"`;

const SHARED: Readonly<Record<string, string>> = { "systemd.restart": restart, "journal.vacuum": journalVacuum };

/** Linux host actions. */
export const LINUX_ACTIONS: Readonly<Record<string, string>> = {
  ...SHARED,
  "systemd.enable_now": String.raw`$S systemctl enable --now -- "$OSIRIS_P_UNIT" >/dev/null 2>&1 || die "systemctl enable --now $OSIRIS_P_UNIT failed"
echo "$OSIRIS_P_UNIT enabled and started"`,
  "systemd.restart_failed": String.raw`units=$(systemctl --failed --plain --no-legend --no-pager 2>/dev/null | awk '{ print $1 }' | head -n "$OSIRIS_P_MAX_UNITS")
[ -n "$units" ] || { echo "no failed units"; exit 0; }
bad=
for u in $units; do
  $S systemctl reset-failed -- "$u" >/dev/null 2>&1
  $S systemctl restart -- "$u" >/dev/null 2>&1 || bad="$bad $u"
done
[ -z "$bad" ] || die "restart failed for:$bad"
echo "restarted:" $units`,
  "sshd.set_option": String.raw`O=$OSIRIS_P_OPTION
V=$OSIRIS_P_VALUE
D="$R/etc/ssh/sshd_config.d/00-osiris.conf"
M="$R/etc/ssh/sshd_config"
[ -f "$M" ] || die "no $M"
if ! grep -Eiq '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/\*\.conf' "$M"; then
  { echo "Include /etc/ssh/sshd_config.d/*.conf"; cat "$M"; } | put "$M" || die "cannot add the Include line to $M"
fi
{ [ -f "$D" ] && grep -Eiv "^[[:space:]]*$O([[:space:]]|=)" "$D"; echo "$O $V"; } | put "$D" || die "cannot write $D"
echo "$O $V set in /etc/ssh/sshd_config.d/00-osiris.conf"`,
  "sshd.remove_option": String.raw`O=$OSIRIS_P_OPTION
D="$R/etc/ssh/sshd_config.d/00-osiris.conf"
[ -f "$D" ] || { echo "$O was not set by OsirisCare"; exit 0; }
grep -Eiv "^[[:space:]]*$O([[:space:]]|=)" "$D" | put "$D" || die "cannot write $D"
echo "$O removed from /etc/ssh/sshd_config.d/00-osiris.conf"`,
  "sshd.reload": String.raw`B=$(command -v sshd || echo /usr/sbin/sshd)
$S "$B" -t -f "$R/etc/ssh/sshd_config" >/dev/null 2>&1 || die "sshd -t rejects the configuration; not reloading"
for u in ssh.service sshd.service; do
  if systemctl cat "$u" >/dev/null 2>&1; then $S systemctl reload -- "$u" || die "reload of $u failed"; echo "configuration valid, $u reloaded"; exit 0; fi
done
die "neither ssh.service nor sshd.service exists"`,
  "sysctl.snapshot": String.raw`F="$R/var/lib/osiris/snapshots/sysctl"
$S mkdir -p -m 700 "$(dirname "$F")" || die "cannot create the snapshot directory"
for k in ${SYSCTL_KEYS}; do
  p=/proc/sys/$(echo "$k" | tr . /)
  [ -r "$p" ] && printf '%s=%s\n' "$k" "$(cat "$p")"
done | put "$F" || die "cannot write $F"
echo "saved $(wc -l <"$F" | tr -d ' ') kernel parameters"`,
  "sysctl.set": String.raw`K=$OSIRIS_P_KEY
V=$OSIRIS_P_VALUE
D="$R/etc/sysctl.d/90-osiris.conf"
$S sysctl -q -w "$K=$V" || die "sysctl -w $K=$V failed"
{ [ -f "$D" ] && grep -v "^$K[[:space:]]*=" "$D"; echo "$K = $V"; } | put "$D" || die "cannot write $D"
echo "$K = $V now and in /etc/sysctl.d/90-osiris.conf"`,
  "sysctl.restore_snapshot": String.raw`F="$R/var/lib/osiris/snapshots/sysctl"
D="$R/etc/sysctl.d/90-osiris.conf"
[ -f "$F" ] || die "no sysctl snapshot was taken; nothing to restore"
while IFS='=' read -r k v; do
  case $k in net.ipv4.*) ;; *) continue ;; esac
  $S sysctl -q -w "$k=$v" || die "sysctl -w $k=$v failed"
  if [ -f "$D" ]; then grep -v "^$k[[:space:]]*=" "$D" | put "$D"; fi
done <"$F"
$S rm -f "$F"
echo "kernel parameters restored from the snapshot"`,
  "file.chmod": String.raw`P="$R$OSIRIS_P_PATH"
if [ ! -e "$P" ]; then
  [ "$OSIRIS_P_MISSING_OK" = 1 ] && { echo "$OSIRIS_P_PATH does not exist; nothing to do"; exit 0; }
  die "$OSIRIS_P_PATH does not exist"
fi
G=root
case $OSIRIS_P_PATH in */shadow|*/gshadow) getent group shadow >/dev/null 2>&1 && G=shadow ;; esac
$S chown "root:$G" "$P" && $S chmod "$OSIRIS_P_MODE" "$P" || die "cannot set $OSIRIS_P_PATH to root:$G $OSIRIS_P_MODE"
echo "$OSIRIS_P_PATH is now root:$G mode $OSIRIS_P_MODE"`,
  "journald.set_storage": String.raw`D="$R/etc/systemd/journald.conf.d/90-osiris.conf"
printf '[Journal]\nStorage=%s\n' "$OSIRIS_P_STORAGE" | put "$D" || die "cannot write $D"
$S systemctl restart systemd-journald.service || die "Storage=$OSIRIS_P_STORAGE written, but systemd-journald did not restart"
echo "journald Storage=$OSIRIS_P_STORAGE, systemd-journald restarted"`,
  "timesync.enable": String.raw`for u in chrony.service chronyd.service systemd-timesyncd.service; do
  if systemctl cat "$u" >/dev/null 2>&1; then
    $S systemctl enable --now -- "$u" >/dev/null 2>&1 || die "cannot enable $u"
    echo "$u enabled and started"; exit 0
  fi
done
die "neither chrony nor systemd-timesyncd is installed"`,
  "autoupdate.enable": String.raw`if [ -x /usr/bin/unattended-upgrade ]; then
  printf 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n' | put "$R/etc/apt/apt.conf.d/20auto-upgrades" || die "cannot write 20auto-upgrades"
  if [ "$OSIRIS_P_SECURITY_ONLY" = 1 ]; then $S rm -f "$R/etc/apt/apt.conf.d/52osiris-all-updates"
  else printf 'Unattended-Upgrade::Origins-Pattern { "origin=*"; };\n' | put "$R/etc/apt/apt.conf.d/52osiris-all-updates"; fi
  echo "unattended-upgrades enabled (security only: $OSIRIS_P_SECURITY_ONLY)"; exit 0
fi
if [ -f "$R/etc/dnf/automatic.conf" ]; then
  T=default; [ "$OSIRIS_P_SECURITY_ONLY" = 1 ] && T=security
  $S sed -i -e "s/^apply_updates.*/apply_updates = yes/" -e "s/^upgrade_type.*/upgrade_type = $T/" "$R/etc/dnf/automatic.conf" || die "cannot edit automatic.conf"
  $S systemctl enable --now dnf-automatic.timer >/dev/null 2>&1 || die "cannot enable dnf-automatic.timer"
  echo "dnf-automatic enabled (upgrade_type $T)"; exit 0
fi
die "neither unattended-upgrades nor dnf-automatic is installed"`,
  "packages.clean_cache": String.raw`if have apt-get; then $S apt-get clean || die "apt-get clean failed"; echo "apt cache cleaned"
elif have dnf; then $S dnf clean packages >/dev/null || die "dnf clean failed"; echo "dnf cache cleaned"
else die "no apt-get or dnf"; fi`,
};

/** The appliance's own actions (run with the local transport). */
export const APPLIANCE_ACTIONS: Readonly<Record<string, string>> = {
  ...SHARED,
  "systemd.start": String.raw`U=$OSIRIS_P_UNIT
timeout "$OSIRIS_P_WAIT_S" $S systemctl start -- "$U" || die "$U did not finish successfully within $OSIRIS_P_WAIT_S s"
r=$(systemctl show -p Result --value -- "$U")
[ "$r" = success ] || die "$U finished with result $r"
echo "$U ran and finished successfully"`,
  "nixos.switch_generation": String.raw`SYS=/nix/var/nix/profiles/system
before=$(readlink "$SYS")
if [ "$OSIRIS_P_TARGET" = pinned ]; then
  [ -n "$OSIRIS_PINNED_SYSTEM" ] || die "no pinned system in the signed appliance config"
  $S nix-store --realise "$OSIRIS_PINNED_SYSTEM" >/dev/null || die "cannot fetch the pinned system"
  $S nix-env -p "$SYS" --set "$OSIRIS_PINNED_SYSTEM" || die "cannot set the system profile"
else
  $S nix-env -p "$SYS" --rollback >/dev/null || die "no previous generation to roll back to"
fi
$S "$SYS/bin/switch-to-configuration" switch >/dev/null 2>&1 || die "switch-to-configuration failed (profile $before -> $(readlink "$SYS"))"
echo "switched from $before to $(readlink "$SYS")"`,
  "nixos.health_check": String.raw`i=0
while [ "$i" -lt "$OSIRIS_P_TIMEOUT_S" ]; do
  s=$(systemctl is-system-running 2>/dev/null)
  if [ "$s" = running ] && [ "$(systemctl is-active osiris-appliance.service)" = active ] && [ -w "$R/var/lib/osiris" ]; then echo "system running, appliance daemon active, store writable"; exit 0; fi
  sleep 2; i=$((i + 2))
done
die "not healthy after $OSIRIS_P_TIMEOUT_S s (system state: $s)"`,
  "nft.restore_baseline": String.raw`[ "$OSIRIS_BASELINE_VERIFIED" = 1 ] || die "the firewall baseline's signature is not verified; refusing to load it"
[ -n "$OSIRIS_BASELINE_RULESET" ] || die "the signed config has no firewall baseline"
printf '%s\n' "$OSIRIS_BASELINE_RULESET" | $S nft -j -f - || die "nft rejected the baseline; the previous ruleset stays loaded"
echo "firewall baseline loaded"`,
  "restic.restore_test": String.raw`[ -n "$OSIRIS_BACKUP_REPO" ] || die "no backup repository configured"
export RESTIC_REPOSITORY="$OSIRIS_BACKUP_REPO" RESTIC_PASSWORD_FILE="$OSIRIS_BACKUP_PASSFILE"
OUT="$R/var/lib/osiris/restore-test.json"
W=$($S mktemp -d) || die "cannot make a scratch directory"
trap '$S rm -rf "$W"' EXIT
snap=$($S restic snapshots --latest 1 --json | sed -n 's/.*"short_id":"\([0-9a-f]*\)".*/\1/p' | head -n 1)
[ -n "$snap" ] || die "the repository has no snapshot"
limit=$((OSIRIS_P_MAX_TOTAL_MB * 1048576))
$S restic ls --json "$snap" | sed -n 's/^{"name":"[^"]*","type":"file","path":"\([^"\\]*\)",.*"size":\([0-9]*\).*/\1 \2/p' >"$W.list"
n=0; total=0; ok=1
while read -r p size; do
  [ "$n" -lt "$OSIRIS_P_SAMPLE_FILES" ] || break
  [ $((total + size)) -le "$limit" ] || continue
  $S restic restore "$snap" --target "$W" --include "$p" >/dev/null 2>&1 || { ok=0; break; }
  a=$($S sha256sum "$W$p" | cut -d' ' -f1)
  b=$($S restic dump "$snap" "$p" | sha256sum | cut -d' ' -f1)
  [ -n "$a" ] && [ "$a" = "$b" ] || ok=0
  n=$((n + 1)); total=$((total + size))
done <"$W.list"
rm -f "$W.list"
[ "$n" -gt 0 ] || ok=0
okj=false; [ "$ok" = 1 ] && okj=true
printf '{"finished_at":"%s","ok":%s,"files":%s,"bytes":%s,"snapshot":"%s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$okj" "$n" "$total" "$snap" | put "$OUT" || die "cannot write $OUT"
[ "$ok" = 1 ] || die "restore test failed: $n files checked from snapshot $snap"
echo "restored $n files ($total bytes) from snapshot $snap; checksums match"`,
  "nix.collect_garbage": String.raw`$S nix-env -p /nix/var/nix/profiles/system --delete-generations "+$OSIRIS_P_KEEP_GENERATIONS" >/dev/null 2>&1 || die "cannot delete old generations"
$S nix-collect-garbage >/dev/null 2>&1 || die "nix-collect-garbage failed"
echo "kept the newest $OSIRIS_P_KEEP_GENERATIONS generations and collected garbage"`,
};

/** macOS host actions. */
export const MACOS_ACTIONS: Readonly<Record<string, string>> = {
  "macos.firewall_enable": String.raw`$S /usr/libexec/ApplicationFirewall/socketfilterfw --setglobalstate on >/dev/null || die "socketfilterfw failed"
echo "application firewall on"`,
  "macos.auto_update_enable": String.raw`P=/Library/Preferences/com.apple.SoftwareUpdate
$S softwareupdate --schedule on >/dev/null 2>&1
for k in AutomaticCheckEnabled AutomaticDownload CriticalUpdateInstall; do $S defaults write "$P" "$k" -bool true || die "cannot set $k"; done
echo "automatic update checks, downloads and critical installs on"`,
};
