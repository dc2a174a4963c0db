# A fully populated reseller-mode configuration of services.osiris-appliance (every option that reaches the
# appliance's YAML is set, every target collector appears). CI turns it into nixos/config-sample.reseller.json
# through nixos/config.nix and checks the appliance's loader accepts it.
{
  stateDir = "/var/lib/osiris";
  database = "/var/lib/osiris/appliance.db";
  logLevel = "debug";

  siteId = "site_0123abcd";
  siteName = "Lakeside Family Clinic";
  timezone = "America/New_York";
  healingMode = "enforce";
  maintenanceWindows = [
    { rrule = "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22"; duration = "PT4H"; }
    { rrule = "FREQ=MONTHLY;BYDAY=SU;BYSETPOS=1;BYHOUR=1"; duration = "PT2H"; tz = "Europe/Berlin"; }
  ];
  allowDisruptiveOutsideWindow = false;
  deploymentMode = "reseller";
  resellerId = "rsl_0123abcd";
  l2Enabled = true;

  relayUrl = "https://relay.example-msp.com:8443";
  relayPinSha256 = "abababababababababababababababababababababababababababababababab";
  syncIntervalSec = 120;
  orderTtlSec = 600;

  claimCodeFile = "/var/lib/osiris-provision/claim-code";
  usbConfigGlob = "/run/osiris-provision/usb/osiris.yaml";

  targets = [
    { id = "appliance"; collector = "local"; intervalSec = 300; timeoutSec = 30; platform = "appliance"; }
    {
      id = "fs01"; name = "File server"; collector = "ssh"; address = "192.168.10.5"; port = 2222; platform = "linux";
      credentialRef = "linux-key"; hostKeySha256 = "SHA256:Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE"; intervalSec = 900; timeoutSec = 30;
    }
    {
      id = "dc01"; name = "Domain controller"; collector = "winrm"; address = "dc01.clinic.lan"; port = 5986; https = true; auth = "ntlm";
      platform = "windows"; credentialRef = "clinic-admin";
      certSha256 = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"; intervalSec = 900; timeoutSec = 60;
    }
    { id = "lab-pc1"; name = "Simulated front desk PC"; collector = "lab"; host = "frontdesk"; platform = "windows"; intervalSec = 900; }
  ];
  labSiteDir = "/var/lib/osiris-lab/lakeside";
  credentialsFile = "/etc/osiris/credentials.yaml";

  evidenceRetentionCount = 500;
  evidenceRetentionDays = 2555;
  ntpMaxSkewSec = 2.5;

  statusPagePort = 8080;
  statusPageBind = [ "192.168.10.2" "::" ];
  redirectHttp = true;
  lanInterfaces = [ "enp1s0" ];
  mdns = true;
  mdnsName = "osiris-lakeside";

  discoverySubnets = [ "192.168.10.0/24" ];
  discoverySchedule = "off";
  discoveryNightlyAt = "03:15";
  discoveryDepth = "full";
  discoveryConcurrency = 8;
  discoveryRatePerSecond = 20;
  discoveryConnectTimeoutMs = 2000;
  discoveryNameTimeoutMs = 1000;
  discoveryLivenessProbes = 4;
  discoveryDnsServers = [ "192.168.10.5" ];
  discoveryArpPath = "/proc/net/arp";
  discoveryExclude = [ "192.168.10.50" "00:11:22:33:44:55" ];
  discoveryMaxDurationSec = 3600;
  syslogTarget = { host = "siem.reseller.example"; port = 6514; transport = "tls"; };
  webhookUrl = "https://hooks.reseller.example/osiris";
  webhookSecretFile = "/etc/osiris/webhook-secret";

  allowedEgressHosts = [ "updates.example.com" "203.0.113.7" ];
  hostSubnets = [ "192.168.10.0/24" ];
}
