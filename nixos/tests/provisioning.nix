# First-boot provisioning of the appliance image (iso/provisioning.nix): without a stick the appliance
# registers as pending and shows its key fingerprint on the console; the MSP accepts it by fingerprint; with a
# stick labelled OSIRIS-CFG holding a claim code it enrolls at once. The stick is a loop device made inside
# the VM (udev gives it the same /dev/disk/by-label link a USB stick gets).
{ self }:
let
  common = import ./common.nix { inherit self; };
  applianceWithProvisioning = { pkgs, lib, ... }: {
    imports = [ common.applianceNode ../../iso/provisioning.nix ];
    services.osiris-appliance = {
      claimCodeFile = lib.mkForce null;
      allowedEgressHosts = lib.mkForce [ ];
    };
    environment.systemPackages = [ pkgs.dosfstools pkgs.mtools ];
  };
in
{
  name = "osiris-provisioning";

  nodes = {
    relay = common.relayNode;
    dropship = applianceWithProvisioning;
    stick = applianceWithProvisioning;
  };

  testScript = common.pythonHelpers + ''
    start_all()
    relay.wait_for_unit("osiris-relay.service")
    relay.wait_for_unit("fault-proxy.service")
    site = new_site("Provisioning Clinic")
    ISSUE = "/etc/issue.d/50-osiris.issue"


    def enrolled(machine):
        """Done as the provisioning unit sees it (the relay token exists) and as the store records it."""
        machine.wait_until_succeeds("test -f /var/lib/osiris/relay-token", timeout=180)
        assert enrollment(machine) == "enrolled", enrollment(machine)
        return start_daemon(machine)


    with subtest("without a stick: registered as pending, fingerprint on the console"):
        # `osiris appliance enroll` registering as pending prints "fingerprint: <fp>" (exit 75, asked again).
        dropship.wait_until_succeeds(
            "journalctl -u osiris-provision.service --no-pager -o cat | grep -q '^fingerprint: '", timeout=180)
        fingerprint = dropship.succeed(
            "journalctl -u osiris-provision.service --no-pager -o cat | sed -n 's/^fingerprint: //p' | tail -n 1").strip()
        assert enrollment(dropship) == "pending", enrollment(dropship)
        dropship.wait_until_succeeds(f"grep -q pending {ISSUE}", timeout=180)
        dropship.succeed(f"grep -qF '{fingerprint}' {ISSUE}")
        dropship.wait_until_tty_matches("1", "pending")

    with subtest("the MSP accepts the pending appliance by fingerprint; the next attempt enrolls it"):
        pending = [p for p in relay_admin("list-pending")["pending"] if p["fingerprint"] == fingerprint]
        assert len(pending) == 1 and pending[0]["state"] == "pending", pending
        accepted = relay_admin(f"accept-pending --pending {pending[0]['id']} --site {site} --fingerprint {fingerprint}")
        assert accepted["state"] == "accepted" and accepted["fingerprint"] == fingerprint, accepted
        dropship.succeed("systemctl start osiris-provision.service")
        s = enrolled(dropship)
        assert s["appliance"]["fingerprint"] == fingerprint, s["appliance"]
        assert s["site"]["id"] == site, s["site"]
        dropship.succeed("systemctl start osiris-console-banner.service")
        dropship.succeed(f"grep -q enrolled {ISSUE}")
        # Enrolled: the provisioning unit's condition now skips it.
        dropship.succeed("systemctl start osiris-provision.service")
        dropship.succeed("test \"$(systemctl show -p ConditionResult --value osiris-provision.service)\" = no")

    with subtest("a stick labelled OSIRIS-CFG with a claim code enrolls the appliance"):
        code = relay_admin(f"claim-code --site {site}")["code"]
        stick.succeed(
            "dd if=/dev/zero of=/root/stick.img bs=1M count=16",
            "mkfs.vfat -n OSIRIS-CFG /root/stick.img",
            f"printf 'claim_code: {code}\\nrelay_url: https://${common.relayName}\\n' > /root/osiris.yaml",
            "mcopy -i /root/stick.img /root/osiris.yaml ::osiris.yaml",
            "losetup -f --show /root/stick.img",
        )
        stick.wait_until_succeeds("test -e /dev/disk/by-label/OSIRIS-CFG")
        stick.succeed("systemctl restart osiris-provision.service")
        assert enrolled(stick)["site"]["id"] == site
        # Unmounted after the copy; the copy is in RAM, readable by the daemon's group only.
        stick.fail("findmnt -S /dev/disk/by-label/OSIRIS-CFG")
        stick.succeed("test \"$(stat -c '%a %U %G' /run/osiris-provision/usb/osiris.yaml)\" = '640 root osiris'")
        stick.succeed("journalctl -u osiris-provision.service --no-pager | grep -q 'copied the provisioning file'")
  '';
}
