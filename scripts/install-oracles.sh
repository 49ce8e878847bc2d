#!/usr/bin/env bash
# Installs the reference tools the tests use as oracles (Debian packages). Run as root.
# scripts/test.mjs calls this when a tool is missing, so `npm test` works on a fresh machine.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(chromium fdisk gdisk parted e2fsprogs dosfstools mtools qemu-utils qemu-system-x86 ovmf xorriso genisoimage
      squashfs-tools zstd xz-utils bzip2 gzip cpio attr acl libcap2-bin debootstrap time mount ca-certificates
      nix-bin)
if [ "$(id -u)" = 0 ]; then SUDO=
elif command -v sudo >/dev/null; then SUDO=sudo
else echo "install-oracles.sh: installing packages needs root, and sudo is not installed; run this script as root" >&2; exit 1
fi
$SUDO apt-get update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
