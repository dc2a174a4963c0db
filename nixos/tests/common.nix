# Shared pieces of the nixosTests: a test TLS certificate, a DNS server for the test domain, the relay node
# (with a fault-injecting proxy in front of it) and the appliance node. Nodes: `relay`, `appliance`,
# `updates` (an allowed host, by DNS name) and `outside` (a host the appliance must not reach), all on VLAN 1,
# which is the appliance's LAN (eth1).
{ self }:
let
  domain = "osiris.test";
  relayName = "relay.${domain}";
  allowedName = "updates.${domain}";
  # The relay's state directory; with no `database` and no `signingKeyFile` set, config.nix `relayArgs` runs
  # `osiris relay serve --db <stateDir>/relay.db --key-file <stateDir>/osiris-relay.key`, which the admin and
  # export commands below open too.
  relayStateDir = "/var/lib/osiris-relay";
  # The appliance's one target: its own system (the local collector). Orders name hosts by target id.
  applianceTarget = "appliance";
in
rec {
  inherit domain relayName allowedName relayStateDir applianceTarget;
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
      stateDir = relayStateDir;
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
    # curl: the relay's HTTP API (site settings have no CLI command); unzip: reading an auditor kit.
    environment.systemPackages = [ pkgs.jq pkgs.curl pkgs.unzip ];
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
      targets = [{ id = applianceTarget; collector = "local"; intervalSec = 60; }];
      egressRefreshInterval = "20s";
    };
    security.pki.certificateFiles = [ "${tls pkgs}/cert.pem" ];
    networking.nameservers = lib.mkForce [ nodes.relay.networking.primaryIPAddress ];
    systemd.tmpfiles.rules = [ "d /var/lib/osiris-test 0750 root osiris -" ];
    # sqlite: reads the appliance's libSQL store (an SQLite file); no CLI command prints the appliance's own
    # evidence, outbox or enrollment state.
    environment.systemPackages = [ pkgs.curl pkgs.jq pkgs.iproute2 pkgs.sqlite ];
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

  # Python helpers shared by the test scripts (prepended to each testScript). Every `osiris` command line here
  # is one the CLI accepts (cli/main.ts and the usage of each cli/*.ts command).
  pythonHelpers = ''
    import json
    import shlex
    import time

    APPLIANCE_CONFIG = "/etc/osiris/appliance.yaml"
    # appliance/config: `database` defaults to <state_dir>/appliance.db.
    APPLIANCE_DB = "/var/lib/osiris/appliance.db"
    APPLIANCE_TARGET = "${applianceTarget}"
    RELAY_DB = "${relayStateDir}/relay.db"
    RELAY_KEY = "${relayStateDir}/osiris-relay.key"
    # The relay itself (not the fault proxy), as seen from the relay node.
    RELAY_API = "https://127.0.0.1:8443"
    _kit = [0]
    _msp = {}


    def status(machine):
        """`osiris appliance status --json`: the running daemon's status page report (http://127.0.0.1:8080/)."""
        return json.loads(machine.succeed("osiris appliance status --json"))


    def store_rows(machine, sql):
        """Rows of the appliance's store, read-only as the daemon's user (the state directory is 0700)."""
        out = machine.succeed(f"runuser -u osiris -- sqlite3 -readonly -json {APPLIANCE_DB} {shlex.quote(sql)}")
        return json.loads(out) if out.strip() else []


    def store_value(machine, sql):
        rows = store_rows(machine, sql)
        return next(iter(rows[0].values())) if rows else None


    def enrollment(machine):
        """unclaimed | pending | enrolled (the identity row)."""
        return store_value(machine, "SELECT state FROM identity WHERE id = 1")


    def outbox_pending():
        return store_value(appliance, "SELECT count(*) AS n FROM outbox WHERE acked = 0")


    def last_ack_seq():
        return store_value(appliance, "SELECT coalesce(max(seq), 0) AS n FROM evidence WHERE acked = 1")


    def applied_healing_mode():
        """The healing mode the relay's last site configuration set (null before the first pull)."""
        return store_value(appliance, "SELECT json_extract(config, '$.healing_mode') AS m FROM site_config WHERE id = 1 AND source = 'relay'")


    def appliance_bundles():
        """The appliance's evidence chain as stored: each row's `line` is the bundle exactly as signed."""
        return [json.loads(r["line"]) for r in store_rows(appliance, "SELECT line FROM evidence ORDER BY seq")]


    def relay_admin(args, env=""):
        """`osiris relay admin` against the relay's database (the service keeps serving it)."""
        return json.loads(relay.succeed(
            f"runuser -u osiris-relay -- env {env} osiris relay admin {args} --db {RELAY_DB} --json"))


    def relay_bundles(site):
        """A site's evidence at the relay, through an auditor kit (ZIP) that `osiris evidence verify` accepts."""
        _kit[0] += 1
        kit = f"/tmp/kit-{_kit[0]}.zip"
        relay.succeed(f"runuser -u osiris-relay -- osiris evidence export --db {RELAY_DB} --site {site} "
                      f"--from 2000-01-01 --to 2100-01-01 --out {kit}")
        relay.succeed(f"osiris evidence verify {kit}")
        text = relay.succeed(f"unzip -p {kit} bundles.jsonl")
        return [json.loads(line) for line in text.splitlines() if line.strip()]


    def new_site(name):
        """MSP, client organisation and site (the relay's tenants); remembers the MSP for msp_api()."""
        if "id" not in _msp:
            _msp["id"] = relay_admin("create-msp --name 'Test MSP'")["id"]
        org = relay_admin(f"create-org --msp {_msp['id']} --name {shlex.quote(name + ' Org')}")["id"]
        return relay_admin(f"create-site --org {org} --name {shlex.quote(name)}")["id"]


    def msp_api(method, path, body):
        """The relay's HTTP API as an MSP admin (password login, session cookie, CSRF header)."""
        if "csrf" not in _msp:
            password = "nixos-test-password-1"
            relay_admin(f"create-user --msp {_msp['id']} --email admin@msp.${domain} --name Admin --role msp_admin",
                        env=f"OSIRIS_NEW_PASSWORD={password}")
            login = json.dumps({"email": "admin@msp.${domain}", "password": password})
            answer = relay.succeed(f"curl -sfk -c /tmp/msp-cookies -H 'Content-Type: application/json' "
                                   f"--data {shlex.quote(login)} {RELAY_API}/api/auth/login")
            _msp["csrf"] = json.loads(answer)["csrf_token"]
        return json.loads(relay.succeed(
            f"curl -sfk -b /tmp/msp-cookies -X {method} -H 'Content-Type: application/json' "
            f"-H 'X-CSRF-Token: {_msp['csrf']}' --data {shlex.quote(json.dumps(body))} {RELAY_API}{path}"))


    def issue_order(app, order_type, params, ttl_s=None):
        ttl = "" if ttl_s is None else f" --ttl-s {ttl_s}"
        return relay_admin(f"issue-order --appliance {app} --type {order_type} --params {shlex.quote(json.dumps(params))}"
                           f"{ttl} --key-file {RELAY_KEY}")["order_id"]


    def wait_until(condition, what, timeout=180, every=5):
        """Polls condition() (a Python check, where wait_until_succeeds takes a shell command) until it is true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(every)
        raise Exception(f"not {what} within {timeout} s")


    def wait_for_bundle(predicate, what, timeout=180):
        found = wait_until(lambda: [b for b in appliance_bundles() if predicate(b)], f"an evidence bundle {what}", timeout)
        return found[0]


    def set_fault(mode):
        relay.succeed(f"echo {mode} > /run/fault-proxy/mode")


    def start_daemon(machine):
        """(Re)starts the daemon of an enrolled appliance and returns its status report. The daemon exits while
        the appliance is not enrolled, and systemd gives up after five starts: start it afresh."""
        machine.succeed("systemctl reset-failed osiris-appliance.service; systemctl restart osiris-appliance.service")
        machine.wait_for_unit("osiris-appliance.service")
        machine.wait_for_open_port(${toString statusPort})
        return status(machine)


    def enroll():
        """Site + claim code on the relay; the appliance claims with the code in its claim_code_file."""
        site = new_site("Test Clinic")
        code = relay_admin(f"claim-code --site {site}")["code"]
        appliance.succeed(f"install -m 0640 -g osiris /dev/stdin /var/lib/osiris-test/claim-code <<< '{code}'")
        # Exit 75 (relay unreachable: the egress set may not hold the relay yet) is worth another try.
        appliance.wait_until_succeeds(f"runuser -u osiris -- osiris appliance enroll --config {APPLIANCE_CONFIG}", timeout=120)
        assert enrollment(appliance) == "enrolled"
        app = start_daemon(appliance)["appliance"]["id"]
        assert app == store_value(appliance, "SELECT appliance_id FROM identity WHERE id = 1"), app
        return site, app
  '';
}
