{
  description = "OsirisCare: compliance appliance (NixOS module, image) and relay";

  # No flake.lock is committed yet: the first `nix flake lock` on a machine with network access pins this.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";

  outputs = { self, nixpkgs }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
      osiris = pkgs.callPackage ./nixos/package.nix { };

      # The modules default their package to this flake's build of the repository.
      withPackage = module: name: { lib, ... }: {
        imports = [ module ];
        config.services.${name}.package = lib.mkDefault self.packages.${system}.osiris;
      };

      # An MSP's appliance image: the installed system for its site module, and the installer that carries it.
      # Images are packages; this flake exports no nixosConfigurations.
      mkImage = { siteModule }:
        let
          appliance = nixpkgs.lib.nixosSystem {
            inherit system;
            modules = [ self.nixosModules.osiris-appliance self.nixosModules.osiris-appliance-image siteModule ];
          };
          installer = nixpkgs.lib.nixosSystem {
            inherit system;
            modules = [ ./iso/installer.nix { osiris.installer.applianceSystem = appliance.config.system.build.toplevel; } ];
          };
        in
        {
          system = appliance.config.system.build.toplevel;
          installerIso = installer.config.system.build.isoImage;
        };
    in
    {
      lib = { inherit mkImage; };

      nixosModules = {
        osiris-appliance = withPackage ./nixos/module.nix "osiris-appliance";
        osiris-relay = withPackage ./nixos/relay.nix "osiris-relay";
        # The installed appliance system: hardware, UEFI boot, first-boot provisioning, console banner.
        osiris-appliance-image = ./iso/appliance.nix;
      };

      packages.${system} = {
        inherit osiris;
        default = osiris;
        # Built with the placeholder relay of iso/example-site.nix; MSPs use lib.mkImage with their own.
        installer-iso = (mkImage { siteModule = ./iso/example-site.nix; }).installerIso;
      };

      checks.${system} = import ./nixos/tests { inherit pkgs self; };
    };
}
