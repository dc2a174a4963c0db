# Shared pieces of the nixosTests: a test TLS certificate, a DNS server for the test domain, the relay node
# (with a fault-injecting proxy in front of it) and the appliance node. Nodes: `relay`, `appliance`,
# `updates` (an allowed host, by DNS name) and `outside` (a host the appliance must not reach), all on VLAN 1,
# which is the appliance's LAN (eth1).
{ self }:
let
  domain = "osiris.test";
  relayName = "relay.${domain}";
  allowedName = "updates.${domain}";
in
rec {
  inherit domain relayName allowedName;
  statusPort = 8080;

  # Self-signed certificate for the relay's name; the appliance trusts it through security.pki.
  tls = pkgs: pkgs.runCommand "osiris-test-tls" { nativeBuildInputs = [ pkgs.openssl ]; } ''
    mkdir -p $out
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=${relayName}" -addext "subjectAltName=DNS:${relayName}" \
      -keyout $out/key.pem -out $out/cert.pem
  '';

  relayNode = { pkgs, nodes, lib, ... }: {
    imports = [ self.nixosModules.osiris-relay ];
    services.osiris-relay = {
      enable = true;
      listenAddress = "127.0.0.1";
      port = 8443;
      tlsCertFile = "${tls pkgs}/cert.pem";
      tlsKeyFile = "${tls pkgs}/key.pem";
      publicUrl = "https://${relayName}";
    };
    # The appliance reaches the relay through this proxy on 443, which can pass traffic, answer 503
    # ("relay down" without touching the relay's queue) or corrupt order signatures in pull responses.
    systemd.services.fault-proxy = {
      wantedBy = [ "multi-user.target" ];
      after = [ "osiris-relay.service" ];
      serviceConfig = {
        ExecStart = "${pkgs.python3}/bin/python3 ${./fault-proxy.py} --listen 0.0.0.0:443 --upstream https://127.0.0.1:8443 --cert ${tls pkgs}/cert.pem --key ${tls pkgs}/key.pem --mode-file /run/fault-proxy/mode";
        RuntimeDirectory = "fault-proxy";
        RuntimeDirectoryPreserve = true;
      };
    };
    # The test domain's DNS: only the relay and the allowed host resolve, and only through this server (not
    # /etc/hosts), so stopping it is a real DNS failure for the appliance.
    services.dnsmasq = {
      enable = true;
      resolveLocalQueries = false;
      settings = {
        no-resolv = true;
        no-hosts = true;
        address = [ "/${relayName}/${nodes.relay.networking.primaryIPAddress}" ]
          ++ lib.optional (nodes ? updates) "/${allowedName}/${nodes.updates.networking.primaryIPAddress}";
      };
    };
    networking.firewall.allowedTCPPorts = [ 443 53 ];
    networking.firewall.allowedUDPPorts = [ 53 ];
    environment.systemPackages = [ pkgs.jq ];
  };

  applianceNode = { pkgs, nodes, lib, ... }: {
    imports = [ self.nixosModules.osiris-appliance ];
    services.osiris-appliance = {
      enable = true;
      relayUrl = "https://${relayName}";
      syncIntervalSec = 10;
      claimCodeFile = "/var/lib/osiris-test/claim-code";
      lanInterfaces = [ "eth1" ];
      allowedEgressHosts = [ allowedName ];
      targets = [{ id = "appliance"; collector = "local"; intervalSec = 60; }];
      egressRefreshInterval = "20s";
    };
    security.pki.certificateFiles = [ "${tls pkgs}/cert.pem" ];
    networking.nameservers = lib.mkForce [ nodes.relay.networking.primaryIPAddress ];
    systemd.tmpfiles.rules = [ "d /var/lib/osiris-test 0750 root osiris -" ];
    environment.systemPackages = [ pkgs.curl pkgs.jq pkgs.iproute2 ];
  };

  # A host on the LAN serving plain HTTP on 443 (and 8000): `updates` is allowed on 443, `outside` is not.
  sinkNode = { pkgs, ... }: {
    networking.firewall.allowedTCPPorts = [ 443 8000 ];
    systemd.services.sink-443 = {
      wantedBy = [ "multi-user.target" ];
      serviceConfig.ExecStart = "${pkgs.python3}/bin/python3 -m http.server 443 --bind 0.0.0.0";
    };
    systemd.services.sink-8000 = {
      wantedBy = [ "multi-user.target" ];
      serviceConfig.ExecStart = "${pkgs.python3}/bin/python3 -m http.server 8000 --bind 0.0.0.0";
    };
    environment.systemPackages = [ pkgs.curl ];
  };

  # Python helpers shared by the test scripts (prepended to each testScript).
  pythonHelpers = ''
    import json
    import time

    APPLIANCE_CONFIG = "/etc/osiris/appliance.yaml"
    RELAY_CONFIG = "/etc/osiris/relay.yaml"
    _kit = [0]


    def status(machine):
        """`osiris appliance status --json` as the daemon's user (it reads the 0700 state directory)."""
        out = machine.succeed(f"runuser -u osiris -- osiris appliance status --config {APPLIANCE_CONFIG} --json")
        return json.loads(out)


    def relay_json(args):
        return json.loads(relay.succeed(f"runuser -u osiris-relay -- osiris relay {args} --config {RELAY_CONFIG} --json"))


    def bundles(machine, user, config, extra=""):
        """Every evidence bundle, via an auditor-kit export that `osiris evidence verify` must accept."""
        _kit[0] += 1
        out = f"/tmp/kit-{_kit[0]}"
        machine.succeed(f"runuser -u {user} -- osiris evidence export --config {config} {extra} --out {out}")
        machine.succeed(f"osiris evidence verify {out}")
        text = machine.succeed(f"cat {out}/bundles.jsonl")
        return [json.loads(line) for line in text.splitlines() if line.strip()]


    def appliance_bundles():
        return bundles(appliance, "osiris", APPLIANCE_CONFIG)


    def wait_for_bundle(predicate, what, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [b for b in appliance_bundles() if predicate(b)]
            if found:
                return found[0]
            time.sleep(5)
        raise Exception(f"no evidence bundle {what} within {timeout} s")


    def set_fault(mode):
        relay.succeed(f"echo {mode} > /run/fault-proxy/mode")


    def enroll():
        """Site + claim code on the relay; the appliance claims with it (as the provisioning unit does)."""
        site = relay_json("site create --name 'Test Clinic'")["site_id"]
        code = relay_json(f"claim-code create --site {site}")["code"]
        appliance.succeed(f"install -m 0640 -g osiris /dev/stdin /var/lib/osiris-test/claim-code <<< '{code}'")
        appliance.succeed(f"runuser -u osiris -- osiris appliance enroll --config {APPLIANCE_CONFIG}")
        appliance.succeed("systemctl restart osiris-appliance.service")
        appliance.wait_for_unit("osiris-appliance.service")
        s = status(appliance)
        assert s["enrollment"] == "enrolled", s
        return site, s["appliance_id"]
  '';
}
