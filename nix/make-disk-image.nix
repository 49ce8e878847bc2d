# diskwright as a Nix function with nixpkgs' make-disk-image arguments (nixos/lib/make-disk-image.nix),
# run in one derivation: no VM, no KVM, no LKL, no qemu-img — diskwright writes the partition table,
# the filesystems and the container itself. The result is $out/nixos.{img,qcow2,vdi,vhd},
# $out/report.json (diskwright's report: offsets, GUIDs, UUIDs, sha256) and
# $out/nix-support/hydra-build-products, as make-disk-image writes it.
#
#   import ./nix/make-disk-image.nix {
#     diskwright = <the npm package's directory: dist/, package.json, node_modules/>;
#     node = pkgs.nodejs_20;                       # or nodeCommand = [ ... ] (see below)
#     partitionTableType = "efi"; format = "qcow2";
#     contents = [ { source = ./etc-hosts; target = "/etc/hosts"; mode = "0644"; user = "root"; group = "root"; } ];
#   }
#
# Arguments taken from make-disk-image, with its defaults and meanings:
#   contents            list of { source, target, mode?, user?, group? }: `source` (a path or store
#                       path) is copied to `target` in the root filesystem; `user` and `group` (both or
#                       neither, as make-disk-image asserts) own everything the entry copies (its
#                       `chown -R`); `mode` is the mode of `target` itself. make-disk-image applies a
#                       mode with `rsync --chmod`, which for a directory source reaches every file
#                       below it; here a directory source keeps its files' own modes. Glob sources
#                       ("*" in source) are not supported.
#   partitionTableType  legacy | legacy+gpt | efi | hybrid | none (efixbootldr is not supported).
#   format              raw | qcow2 | qcow2-compressed | vdi | vpc; file name nixos.<img|qcow2|vdi|vhd>.
#   diskSize            "auto" or a size in MiB (make-disk-image's `truncate -s ${diskSize}M`).
#   additionalSpace     free space added to the root filesystem when diskSize is "auto" ("512M").
#   bootSize            where the ESP ends, in parted units (efi and hybrid; "256M").
#   label               the root filesystem's label ("nixos").
#   fsType              "ext4" only (make-disk-image needs ext4 for a partitioned image too).
#   rootGPUID           the root partition's GPT GUID (efi, hybrid); rootFSUID the ext4 UUID
#                       (default: rootGPUID). make-disk-image's fixed disk and ESP GUIDs are kept.
#   name                the derivation's name ("nixos-disk-image").
# Not taken: config, installBootLoader, touchEFIVars, configFile, postVM, memSize, onlyNixStore,
# copyChannel, additionalPaths (they need a NixOS configuration or a VM; put a system closure in
# with a contents entry or diskwright's closureInfo input in `extraSpec`).
#
# diskwright's own additions:
#   bootContents        contents of the ESP (efi and hybrid): make-disk-image leaves it to the VM's
#                       bootloader installation; here it is a list like `contents`.
#   sourceDateEpoch     every timestamp is clamped to it (1: the Nix store's own mtime).
#   extraSpec           an attribute set merged over the generated spec (README "Spec"), e.g.
#                       { bootloader = ...; } or { compression = "zstd"; }.
#   diskwright          the package directory (required).
#   node / nodeCommand  how to run Node.js ≥ 20 in the build: `node` is a package with bin/node;
#                       nodeCommand a list (program, then its arguments) for a node that is not a
#                       Nix package, e.g. a host node and its libraries added to the store with
#                       nix/stage-runtime.mjs: [ "${rt}/lib/ld-linux-x86-64.so.2" "--library-path"
#                       "${rt}/lib" "${rt}/bin/node" ].
#   system              builtins.currentSystem.
#
# Hermetic: the builder is node running nix/builder.mjs; its only inputs are the store paths of
# node, the diskwright package, builder.mjs and the contents' sources (their store paths are in
# the spec's JSON, whose string context makes them inputs). It needs no network, no /bin/sh and
# nothing of the host, so it builds in the Nix sandbox, and the same inputs give the same output
# path and the same image bytes (diskwright's determinism: docs/ARCHITECTURE.md §4).
{ diskwright
, node ? null
, nodeCommand ? (if node == null then throw "make-disk-image.nix: give node (a package with bin/node) or nodeCommand" else [ "${node}/bin/node" ])
, system ? builtins.currentSystem
, name ? "nixos-disk-image"
, contents ? [ ]
, bootContents ? [ ]
, partitionTableType ? "legacy"
, format ? "raw"
, diskSize ? "auto"
, additionalSpace ? "512M"
, bootSize ? "256M"
, label ? "nixos"
, fsType ? "ext4"
, rootGPUID ? "F222513B-DED1-49FA-B591-20CE86A2FE7F"
, rootFSUID ? rootGPUID
, sourceDateEpoch ? 1
, extraSpec ? { }
}:

let
  fail = msg: throw "make-disk-image.nix: ${msg}";
  oneOf = what: value: allowed:
    if builtins.elem value allowed then value
    else fail "${what} ${builtins.toJSON value} is not one of ${builtins.concatStringsSep ", " allowed}";

  layout = oneOf "partitionTableType" partitionTableType [ "legacy" "legacy+gpt" "efi" "hybrid" "none" ];
  fmt = oneOf "format" format [ "raw" "qcow2" "qcow2-compressed" "vdi" "vpc" ];
  hasEsp = layout == "efi" || layout == "hybrid";

  # make-disk-image names the file after the format, qcow2-compressed being qcow2 (its `filename`).
  productFormat = if fmt == "qcow2-compressed" then "qcow2" else fmt;
  fileName = "nixos." + { qcow2 = "qcow2"; vdi = "vdi"; vpc = "vhd"; raw = "img"; }.${productFormat};

  # One make-disk-image contents entry as a diskwright contents entry (README "Spec").
  entry = where: c:
    let
      hasUser = (c.user or null) != null;
      hasGroup = (c.group or null) != null;
      source = c.source or (fail "${where}: an entry has no source");
    in
    if !(c ? target) then fail "${where}: an entry has no target"
    else if hasUser != hasGroup then fail "${where}: ${c.target} sets one of user and group; set none or both (as make-disk-image)"
    else if builtins.match ".*[*].*" (toString source) != null then fail "${where}: ${c.target}: glob sources are not supported; list the files"
    else { inherit source; inherit (c) target; }
      // (if (c.mode or null) != null then { mode = c.mode; } else { })
      // (if hasUser then { inherit (c) user group; recursiveOwner = true; } else { });

  root = {
    inherit label;
    fsUuid = rootFSUID;
    contents = map (entry "contents") contents;
  }
  # legacy and none have no GPT; in legacy+gpt make-disk-image gives rootGPUID to partition 3,
  # which does not exist, and root keeps its fixed GUID: the preset does the same without it.
  // (if hasEsp then { uuid = rootGPUID; } else { });

  spec = {
    inherit name layout sourceDateEpoch root;
    seed = name;
    format = fmt;
    size = if diskSize == "auto" then "auto" else "${toString diskSize}MiB";
  }
  // (if diskSize == "auto" then { inherit additionalSpace; } else { })
  // (if hasEsp then { inherit bootSize; boot.contents = map (entry "bootContents") bootContents; }
      else if bootContents != [ ] then fail "bootContents: partitionTableType ${layout} has no ESP"
      else { })
  // extraSpec;
in
if fsType != "ext4" then fail "fsType ${fsType}: only ext4 is supported"
else derivation {
  inherit name system;
  builder = builtins.head nodeCommand;
  args = builtins.tail nodeCommand ++ [ ./builder.mjs ];
  # builtins.toJSON turns each path into its store path and keeps the strings' context: every
  # source becomes an input of this derivation.
  specJson = builtins.toJSON spec;
  passAsFile = [ "specJson" ];
  diskwrightMain = "${diskwright}/dist/cli/main.js";
  inherit fileName productFormat;
}
