# The appliance module's promises on a running system: the service starts (READY=1) under its hardening, no
# socket listens except the status page and mDNS, egress is limited to the allow-list (and fails closed when
# DNS is gone), inbound is limited to the LAN interface, state and key files are owner-only.
{ self }:
let
  common = import ./common.nix { inherit self; };
in
{
  name = "osiris-appliance-basics";

  nodes = {
    relay = common.relayNode;
    appliance = common.applianceNode;
    updates = common.sinkNode;
    outside = common.sinkNode;
  };

  testScript = common.pythonHelpers + ''
    start_all()
    relay.wait_for_unit("osiris-relay.service")
    relay.wait_for_unit("fault-proxy.service")
    relay.wait_for_unit("dnsmasq.service")
    for sink in (updates, outside):
        sink.wait_for_unit("sink-443.service")
        sink.wait_for_open_port(443)

    with subtest("the service starts once enrolled (Type=notify: active means the daemon sent READY=1)"):
        # With a relay URL the daemon refuses to run before `osiris appliance enroll` has succeeded.
        site, app = enroll()
        appliance.wait_for_unit("osiris-appliance.service")
        appliance.wait_for_open_port(${toString common.statusPort})
        assert status(appliance)["relay"]["state"] in ("never", "ok"), status(appliance)["relay"]

    with subtest("the service runs under its hardening"):
        shown = appliance.succeed(
            "systemctl show osiris-appliance.service -p User -p NoNewPrivileges -p ProtectSystem -p ProtectHome "
            "-p PrivateTmp -p CapabilityBoundingSet -p AmbientCapabilities -p WatchdogUSec -p Restart -p Type"
        )
        props = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
        print(props)
        assert props["User"] == "osiris", props
        assert props["Type"] == "notify", props
        assert props["NoNewPrivileges"] == "yes", props
        assert props["ProtectSystem"] == "strict", props
        assert props["ProtectHome"] == "yes", props
        assert props["PrivateTmp"] == "yes", props
        assert props["CapabilityBoundingSet"] == "", props
        assert props["AmbientCapabilities"] == "", props
        assert props["WatchdogUSec"] == "2min", props
        assert props["Restart"] == "on-failure", props
        print(appliance.succeed("systemd-analyze security osiris-appliance.service --no-pager || true"))

    with subtest("no listening socket other than the status page and mDNS"):
        # DHCP clients (dhcpcd) hold UDP 68/546 for lease renewals; they are clients, not services.
        allowed = {("tcp", ${toString common.statusPort}), ("udp", 5353)}
        dhcp_client = {("udp", 68), ("udp", 546)}
        listeners = appliance.succeed("ss -H -lntup")
        print(listeners)
        for line in listeners.splitlines():
            fields = line.split()
            proto, local = fields[0], fields[4]
            port = int(local.rsplit(":", 1)[1])
            if (proto, port) in dhcp_client and "dhcpcd" in line:
                continue
            assert (proto, port) in allowed, f"unexpected listening socket: {line}"

    with subtest("the status page answers on the LAN interface, also on port 80 (redirect)"):
        outside.succeed("curl -sf --max-time 10 http://appliance:${toString common.statusPort}/ >/dev/null")
        outside.succeed("curl -sf --max-time 10 http://appliance/ >/dev/null")

    with subtest("every other inbound port is dropped, and the drop is logged"):
        rc, _ = outside.execute("curl -s --max-time 5 http://appliance:22/")
        assert rc == 28, f"expected a timeout (dropped), curl exited {rc}"
        appliance.wait_until_succeeds("journalctl -k --grep 'osiris-drop-in: ' --no-pager | grep -q DPT=22", timeout=30)

    with subtest("the egress sets hold the relay and the allowed host, resolved by the timer"):
        appliance.wait_for_unit("osiris-egress-refresh.service")
        relay_ip = relay.succeed("ip -4 -o addr show eth1 | awk '{print $4}' | cut -d/ -f1").strip()
        updates_ip = updates.succeed("ip -4 -o addr show eth1 | awk '{print $4}' | cut -d/ -f1").strip()
        elements = appliance.succeed("nft list set inet osiris egress_v4")
        print(elements)
        assert f"{relay_ip} . tcp . 443" in elements, elements
        assert f"{updates_ip} . tcp . 443" in elements, elements

    with subtest("egress to an allowed host on 443 passes"):
        appliance.succeed("curl -sf --max-time 10 http://${common.allowedName}:443/ >/dev/null")

    with subtest("egress to a non-allowed host is dropped, and the drop is logged"):
        rc, _ = appliance.execute("curl -s --max-time 5 http://outside:443/")
        assert rc == 28, f"expected a timeout (dropped), curl exited {rc}"
        # Allowed host, other port: the set is per (address, protocol, port).
        rc, _ = appliance.execute("curl -s --max-time 5 http://${common.allowedName}:8000/")
        assert rc == 28, f"expected a timeout (dropped), curl exited {rc}"
        appliance.wait_until_succeeds("journalctl -k --grep 'osiris-drop-out: ' --no-pager | grep -q DPT=8000", timeout=30)

    with subtest("the egress refresh fails closed without DNS: previous addresses kept, nothing added"):
        before = appliance.succeed("nft list set inet osiris egress_v4")
        relay.succeed("systemctl stop dnsmasq.service")
        rc, _ = appliance.execute("systemctl start osiris-egress-refresh.service")
        assert rc != 0, "the refresh must report the failed lookups"
        appliance.succeed("journalctl -u osiris-egress-refresh.service --no-pager | grep -q 'cannot resolve ${common.relayName}; keeping'")
        after = appliance.succeed("nft list set inet osiris egress_v4")
        assert before == after, f"set changed without DNS:\n{before}\n---\n{after}"
        appliance.succeed("curl -sf --max-time 10 --resolve ${common.allowedName}:443:" + updates_ip + " http://${common.allowedName}:443/ >/dev/null")
        relay.succeed("systemctl start dnsmasq.service")

    with subtest("after a reboot without DNS the cached egress set is restored"):
        relay.succeed("systemctl stop dnsmasq.service")
        appliance.shutdown()
        appliance.start()
        appliance.wait_for_unit("nftables.service")
        elements = appliance.succeed("nft list set inet osiris egress_v4")
        assert f"{relay_ip} . tcp . 443" in elements, elements
        relay.succeed("systemctl start dnsmasq.service")
        appliance.wait_for_unit("osiris-appliance.service")

    with subtest("state directory 0700 and key files 0600, owned by the service user"):
        appliance.succeed("test \"$(stat -c '%a %U' /var/lib/osiris)\" = '700 osiris'")
        for key in ("identity.key", "evidence.key", "credentials.key", "relay-token"):
            appliance.succeed(f"test \"$(stat -c '%a %U' /var/lib/osiris/{key})\" = '600 osiris'")
        appliance.succeed("test \"$(stat -c '%a' /var/lib/osiris-egress)\" = 700")
        # Nothing in the state directory is readable by anyone but its owner.
        appliance.succeed("test -z \"$(find /var/lib/osiris -perm /077 -print)\"")
  '';
}
