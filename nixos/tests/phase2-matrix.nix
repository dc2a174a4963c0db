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
    appliance.wait_for_unit("osiris-appliance.service")
    site, app = enroll()


    def healing_mode():
        return status(appliance)["healing_mode"]


    def set_mode_order(mode, ttl_s):
        params = json.dumps({"mode": mode})
        return relay_json(f"order issue --appliance {app} --type set_healing_mode --params '{params}' --ttl-s {ttl_s}")["order_id"]


    assert healing_mode() == "enforce"

    with subtest("bad order signature: not executed, `rejected` evidence"):
        set_fault("tamper-order-signatures")
        set_mode_order("advise", 60)
        wait_for_bundle(lambda b: b["kind"] == "order" and b["outcome"] == "rejected", "rejecting the tampered order")
        assert healing_mode() == "enforce"
        # Let the order expire before the proxy passes it unaltered, so it can never run.
        time.sleep(70)
        set_fault("pass")

    with subtest("expired order: not executed, `expired` evidence"):
        set_fault("down")
        order = set_mode_order("observe", 60)
        time.sleep(75)
        set_fault("pass")
        wait_for_bundle(lambda b: b["kind"] == "order" and b.get("order_id") == order and b["outcome"] == "expired",
                        f"expiring order {order}")
        assert healing_mode() == "enforce"

    with subtest("relay down: evidence queues, then is flushed and acknowledged"):
        relay.succeed("systemctl stop osiris-relay.service")
        appliance.wait_until_succeeds(
            f"runuser -u osiris -- osiris appliance status --config {APPLIANCE_CONFIG} --json | jq -e '.outbox_pending > 0'",
            timeout=180)
        queued_seq = max(b["seq"] for b in appliance_bundles())
        relay.succeed("systemctl start osiris-relay.service")
        relay.wait_for_unit("osiris-relay.service")
        appliance.wait_until_succeeds(
            f"runuser -u osiris -- osiris appliance status --config {APPLIANCE_CONFIG} --json"
            f" | jq -e '.outbox_pending == 0 and .last_ack_seq >= {queued_seq}'",
            timeout=180)
        at_relay = bundles(relay, "osiris-relay", RELAY_CONFIG, f"--site {site}")
        assert max(b["seq"] for b in at_relay if b["appliance_id"] == app) >= queued_seq

    with subtest("failed rebuild: switched back, `reverted` evidence"):
        before = appliance.succeed("readlink -f /run/current-system").strip()
        broken = appliance.succeed("readlink -f /run/current-system/specialisation/broken").strip()
        relay_json(f"appliance pin-system --appliance {app} --system {broken}")
        params = json.dumps({"runbook": "appliance.nixos_switch_pinned", "host_id": app, "ignore_window": True,
                             "runbook_params": {"health_timeout_s": 60}})
        order = relay_json(f"order issue --appliance {app} --type run_runbook --params '{params}'")["order_id"]
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
        appliance.wait_until_succeeds(
            f"runuser -u osiris -- osiris appliance status --config {APPLIANCE_CONFIG} --json | jq -e '.outbox_pending == 0'",
            timeout=180)
  '';
}
