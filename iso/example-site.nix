# An MSP's site settings for the appliance image. Copy this file, set your relay and the clinic's network,
# and build: nix build .#packages.x86_64-linux.installer-iso (or your own flake calling lib.mkImage).
# The relay URL is part of the image on purpose: the firewall only lets the appliance reach this relay,
# so a provisioning stick cannot point it elsewhere.
{
  services.osiris-appliance = {
    relayUrl = "https://relay.example-msp.com";
    timezone = "America/New_York";
    # The clinic's host subnets for SSH/WinRM checks (leave empty until the site is known).
    hostSubnets = [ ];
  };
}
