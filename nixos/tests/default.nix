# nixosTests for the appliance and relay modules and the appliance image. Run on a machine with Nix and KVM:
#   nix build .#checks.x86_64-linux.appliance-basics   (or phase2-matrix, provisioning)
# They cannot run in this repository's CI (no Nix builds there); CI only parses them (nixos/module.test.ts).
{ pkgs, self }:
let
  runTest = file: pkgs.testers.runNixOSTest (import file { inherit self; });
in
{
  appliance-basics = runTest ./appliance-basics.nix;
  phase2-matrix = runTest ./phase2-matrix.nix;
  provisioning = runTest ./provisioning.nix;
}
