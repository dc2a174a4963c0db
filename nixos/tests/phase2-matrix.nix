# The Phase-2 fault matrix, end to end between a relay and an appliance:
#   1. an order whose signature does not verify is not executed and is recorded as `rejected`;
#   2. an order that arrives after its expiry is not executed and is recorded as `expired`;
#   3. while the relay is down evidence queues in the outbox; afterwards it is flushed and acknowledged
#      (receipts), and the relay's copy verifies;
#   4. a switch to a pinned system that fails its health check is rolled back, recorded as `reverted`;
#   5. when DNS fails the appliance records an `alert`, opens no egress, and keeps running.
{ self }:
let
  common = import ./common.nix { inherit self; };
in
{
  name = "osiris-phase2-matrix";

  nodes = {
    relay = common.relayNode;
    appliance = { pkgs, lib, ... }:
      let
        real = self.packages.${pkgs.stdenv.hostPlatform.system}.osiris;
        # Same CLI, but the daemon exits at once: a system whose health check must fail.
        broken = pkgs.writeShellScriptBin "osiris" ''
          if [ "''${1-} ''${2-}" = "appliance run" ]; then
            echo "osiris (test): deliberately broken daemon" >&2
            exit 1
          fi
          exec ${real}/bin/osiris "$@"
        '';
      in
      {
        imports = [ common.applianceNode ];
        services.osiris-appliance = {
          healingMode = "enforce";
          allowedEgressHosts = lib.mkForce [ ];
        };
        specialisation.broken.configuration = {
          services.osiris-appliance.package = lib.mkForce broken;
        };
        # Room for two system generations and the switch.
        virtualisation.memorySize = 2048;
        virtualisation.diskSize = 4096;
      };
  };

  testScript = common.pythonHelpers + ''
    start_all()
    relay.wait_for_unit("osiris-relay.service")
    relay.wait_for_unit("fault-proxy.service")
    relay.wait_for_unit("dnsmasq.service")
    site, app = enroll()

    # The relay's site settings override the YAML's healing mode at every pull (new sites start in observe);
    # the MSP sets enforce, as the web UI does, so the switch runbook below may act.
    assert msp_api("PUT", f"/api/sites/{site}/settings", {"healing_mode": "enforce"})["healing_mode"] == "enforce"
    wait_until(lambda: applied_healing_mode() == "enforce", "healing in enforce mode on the appliance", timeout=120)


    def scan_order(ttl_s):
        """A `force_scan` order: executed, it leaves `success` order evidence with its id."""
        return issue_order(app, "force_scan", {"host_id": APPLIANCE_TARGET}, ttl_s)


    def executed(order):
        return [b for b in appliance_bundles() if b.get("order_id") == order and b["outcome"] not in ("rejected", "expired")]


    with subtest("bad order signature: not executed, `rejected` evidence"):
        set_fault("tamper-order-signatures")
        tampered = scan_order(60)
        wait_for_bundle(lambda b: b["kind"] == "order" and b["outcome"] == "rejected"
                        and (b.get("post_state") or {}).get("reason") == "bad_signature", "rejecting the tampered order")
        # Let the order expire before the proxy passes traffic unaltered, so it can never run.
        time.sleep(70)
        set_fault("pass")
        time.sleep(30)
        assert executed(tampered) == [], executed(tampered)

    with subtest("expired order: not executed, `expired` evidence"):
        # The relay never sends an expired order: the proxy keeps it until it has expired, then delivers it.
        set_fault("hold-orders")
        order = scan_order(60)
        relay.wait_until_succeeds(f"journalctl -u fault-proxy.service --no-pager | grep -q 'held order {order}'", timeout=120)
        time.sleep(65)
        set_fault("release-orders")
        wait_for_bundle(lambda b: b["kind"] == "order" and b.get("order_id") == order and b["outcome"] == "expired",
                        f"expiring order {order}")
        set_fault("pass")
        assert executed(order) == [], executed(order)

    with subtest("relay down: evidence queues, then is flushed and acknowledged"):
        relay.succeed("systemctl stop osiris-relay.service")
        wait_until(lambda: outbox_pending() > 0, "queuing evidence in the outbox")
        queued_seq = max(b["seq"] for b in appliance_bundles())
        relay.succeed("systemctl start osiris-relay.service")
        relay.wait_for_unit("osiris-relay.service")
        wait_until(lambda: outbox_pending() == 0 and last_ack_seq() >= queued_seq,
                   f"flushing the outbox and acknowledging seq {queued_seq}")
        # The kit holds each chain up to its last relay-countersigned checkpoint, which may trail by a sync.
        wait_until(lambda: max([b["seq"] for b in relay_bundles(site) if b["appliance_id"] == app] or [0]) >= queued_seq,
                   f"the relay's verified kit reaching seq {queued_seq}", every=10)

    with subtest("failed rebuild: switched back, `reverted` evidence"):
        before = appliance.succeed("readlink -f /run/current-system").strip()
        broken = appliance.succeed("readlink -f /run/current-system/specialisation/broken").strip()
        relay_admin(f"appliance-config --appliance {app} --pinned-system {broken} --key-file {RELAY_KEY}")
        params = {"runbook": "appliance.nixos_switch_pinned", "host_id": APPLIANCE_TARGET, "ignore_window": True,
                  "runbook_params": {"health_timeout_s": 60}}
        order = issue_order(app, "run_runbook", params)
        wait_for_bundle(lambda b: b["kind"] == "remediation" and b.get("order_id") == order and b["outcome"] == "reverted",
                        f"reverting the switch of order {order}", timeout=900)
        assert appliance.succeed("readlink -f /run/current-system").strip() == before
        appliance.wait_for_unit("osiris-appliance.service")

    with subtest("DNS failure: `alert` evidence, no egress opened, the service keeps running"):
        restarts = appliance.succeed("systemctl show -p NRestarts --value osiris-appliance.service").strip()
        egress_before = appliance.succeed("nft list set inet osiris egress_v4")
        relay.succeed("systemctl stop dnsmasq.service")
        wait_for_bundle(lambda b: b["kind"] == "system" and b["outcome"] == "alert", "alerting on the DNS failure",
                        timeout=300)
        appliance.succeed("systemctl is-active osiris-appliance.service")
        assert appliance.succeed("systemctl show -p NRestarts --value osiris-appliance.service").strip() == restarts
        assert appliance.succeed("nft list set inet osiris egress_v4") == egress_before
        appliance.succeed("nft list chain inet osiris output | grep -q 'policy drop'")
        relay.succeed("systemctl start dnsmasq.service")
        wait_until(lambda: outbox_pending() == 0, "flushing the outbox after DNS came back")
  '';
}
