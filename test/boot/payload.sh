#!/bin/bash
# payload.sh [OUTDIR]   (default $DISKWRIGHT_BOOT_CACHE/payload, i.e. /tmp/diskwright-boot/payload)
# Ported from the boot oracle recipe; the tests call it themselves (test/boot/*.test.ts).
#
# Assembles the boot payload for the disk-image boot oracle from Debian
# packages, without installing them: `apt-get download` + `dpkg-deb -x` into a
# cache directory ($DISKWRIGHT_BOOT_CACHE/cache, default /tmp/diskwright-boot/cache).
#
# OUTDIR gets:
#   vmlinuz, initrd.img, kernel-version    Debian kernel + hand-made busybox initramfs
#   efi/systemd-bootx64.efi                systemd-boot (copy to \EFI\BOOT\BOOTX64.EFI)
#   efi/grubx64.efi                        GRUB EFI (grub-mkimage, needed modules embedded);
#                                          early config: search --file /boot/grub/grub.cfg
#   i386-pc/boot.img boot_hybrid.img cdboot.img diskboot.img   stock GRUB BIOS images
#   i386-pc/core-msdos1.img               core.img for an MBR disk, /boot/grub on partition 1
#   i386-pc/core-gpt2.img                 core.img for a GPT disk, /boot/grub on partition 2
#   i386-pc/eltorito.img                  El Torito (no-emul) image: cdboot.img+core, prefix /boot/grub
#   i386-pc/modules/                      GRUB i386-pc modules (*.mod, *.lst) to copy to /boot/grub/i386-pc
#   ovmf/OVMF_CODE_4M.fd OVMF_VARS_4M.fd  UEFI firmware for QEMU (pflash)
#   tools/grub-mkimage (+ grub dirs)      wrapper to run the extracted grub-mkimage
#   manifest.txt                          package versions and sha256 of every file
#
# Environment:
#   DISKWRIGHT_BOOT_CACHE  base dir (default /tmp/diskwright-boot); debs in its cache/
#   KERNEL_PKG     kernel package (default: what linux-image-amd64 depends on)
#   EXTRA_MODULES  extra kernel module names to put into the initramfs
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BASE="${DISKWRIGHT_BOOT_CACHE:-/tmp/diskwright-boot}"; CACHE="$BASE/cache"
OUT="${1:-$BASE/payload}"
mkdir -p "$OUT" "$CACHE/debs" "$CACHE/x"
OUT="$(cd "$OUT" && pwd)"

log() { echo "payload: $*" >&2; }

# ---- 1. fetch + extract packages -------------------------------------------
if [ -z "${KERNEL_PKG:-}" ]; then
  KERNEL_PKG="$(apt-cache depends linux-image-amd64 2>/dev/null \
    | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
  [ -n "$KERNEL_PKG" ] || { log "cannot resolve linux-image-amd64 (run apt-get update)"; exit 1; }
fi
PKGS=("$KERNEL_PKG" busybox-static systemd-boot-efi grub-efi-amd64-bin grub-pc-bin grub-common ovmf)

fetch() {  # fetch PKG -> prints extraction dir
  local p="$1" deb
  deb="$(ls "$CACHE/debs/${p}_"*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    log "apt-get download $p"
    (cd "$CACHE/debs" && apt-get download "$p" >/dev/null 2>&1) \
      || { log "apt-get download $p failed"; exit 1; }
    deb="$(ls "$CACHE/debs/${p}_"*.deb | head -n1)"
  fi
  if [ ! -e "$CACHE/x/$p/.done" ]; then
    rm -rf "$CACHE/x/$p"; mkdir -p "$CACHE/x/$p"
    dpkg-deb -x "$deb" "$CACHE/x/$p"
    dpkg-deb -f "$deb" Version > "$CACHE/x/$p/.version"
    touch "$CACHE/x/$p/.done"
  fi
  echo "$CACHE/x/$p"
}
declare -A X
for p in "${PKGS[@]}"; do X[$p]="$(fetch "$p")"; done

KX="${X[$KERNEL_PKG]}"
KVER="$(ls "$KX/lib/modules" | head -n1)"
BB="${X[busybox-static]}/bin/busybox"
GRUB_PC="${X[grub-pc-bin]}/usr/lib/grub/i386-pc"
GRUB_EFI="${X[grub-efi-amd64-bin]}/usr/lib/grub/x86_64-efi"
GRUB_BIN="${X[grub-common]}/usr/bin"
MKIMAGE="$GRUB_BIN/grub-mkimage"
"$MKIMAGE" --version >/dev/null || { log "extracted grub-mkimage does not run (missing shared libs?)"; exit 1; }

# ---- 2. kernel + initramfs ---------------------------------------------------
cp "$KX/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
echo "$KVER" > "$OUT/kernel-version"

MODDIR="$KX/lib/modules/$KVER"
if [ ! -s "$MODDIR/modules.dep" ]; then
  log "depmod (busybox) for $KVER"
  "$BB" depmod -b "$KX" "$KVER"
fi

# Modules for: virtio/AHCI/IDE/NVMe/USB/SCSI disks and CD-ROMs, the file
# systems an image builder produces, loop+squashfs for live images.
# crc32c-* first: ext4/btrfs need a crc32c implementation (softdep).
WANT="crc32c_generic crc32c-intel virtio_pci virtio_blk virtio_scsi sd_mod sr_mod
ata_piix ata_generic ahci nvme xhci_pci ehci_pci uhci_hcd usb-storage uas
ext4 vfat nls_cp437 nls_ascii nls_iso8859-1 nls_utf8 isofs udf squashfs erofs exfat
loop ${EXTRA_MODULES:-}"

declare -A DEP SEEN PATHOF
while IFS= read -r line; do
  m="${line%%:*}"; d="${line#*:}"
  b="$(basename "$m" .ko)"; b="${b//-/_}"
  PATHOF[$b]="$m"; DEP[$m]="$d"
done < "$MODDIR/modules.dep"
ORDER=()
visit() {
  local m="$1" d
  [ -n "${SEEN[$m]:-}" ] && return 0
  SEEN[$m]=1
  for d in ${DEP[$m]}; do visit "$d"; done
  ORDER+=("$m")
}
for w in $WANT; do
  k="${w//-/_}"
  if [ -n "${PATHOF[$k]:-}" ]; then visit "${PATHOF[$k]}"
  elif grep -q "/${w}.ko\$\|/${k}.ko\$" "$MODDIR/modules.builtin" 2>/dev/null; then :
  else log "warning: module $w not found (neither module nor builtin)"; fi
done

STAGE="$(mktemp -d "$BASE"/initrd.XXXXXX)"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE"/{bin,sbin,dev,proc,sys,mnt,sq,tmp,etc} "$STAGE/lib/modules/$KVER"
cp "$BB" "$STAGE/bin/busybox"
ln -s busybox "$STAGE/bin/sh"
install -m 0755 "$HERE/init.sh" "$STAGE/init"
# Stamp: the tests rebuild the payload when init.sh changes.
sha256sum < "$HERE/init.sh" | cut -d' ' -f1 > "$OUT/init.sha256"
: > "$STAGE/modules.list"
for m in "${ORDER[@]}"; do
  mkdir -p "$STAGE/lib/modules/$KVER/$(dirname "$m")"
  cp "$MODDIR/$m" "$STAGE/lib/modules/$KVER/$m"
  echo "$m" >> "$STAGE/modules.list"
done
# /dev/console lets the kernel give init a console before devtmpfs is mounted.
mknod -m 600 "$STAGE/dev/console" c 5 1 2>/dev/null || log "note: no mknod (not root); init re-opens /dev/console itself"
(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n > "$OUT/initrd.img"
log "initrd.img: ${#ORDER[@]} modules, $(stat -c %s "$OUT/initrd.img") bytes"

# ---- 3. UEFI bootloaders -----------------------------------------------------
mkdir -p "$OUT/efi"
cp "${X[systemd-boot-efi]}/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$OUT/efi/systemd-bootx64.efi"

# GRUB EFI via grub-mkimage (what grub-install --removable does; grub-mkstandalone
# would need libefivar/libefiboot on the host). All modules are embedded; the
# embedded early config (-c) runs in GRUB's *rescue* parser: plain commands
# only, no if/else. Normal mode then reads $prefix/grub.cfg.
EMB="$(mktemp "$BASE"/grub-embed.XXXXXX.cfg)"
cat > "$EMB" <<'EOF2'
search --no-floppy --set=root --file /boot/grub/grub.cfg
set prefix=($root)/boot/grub
EOF2
"$MKIMAGE" -d "$GRUB_EFI" -O x86_64-efi -C xz -p /boot/grub -c "$EMB" \
  -o "$OUT/efi/grubx64.efi" \
  normal linux configfile search search_fs_file search_label search_fs_uuid \
  part_gpt part_msdos fat iso9660 ext2 serial terminal echo test ls cat gzio \
  efi_gop sleep reboot halt
rm -f "$EMB"

# ---- 4. GRUB BIOS (i386-pc) --------------------------------------------------
mkdir -p "$OUT/i386-pc/modules"
for f in boot.img boot_hybrid.img cdboot.img diskboot.img; do cp "$GRUB_PC/$f" "$OUT/i386-pc/$f"; done
cp "$GRUB_PC"/*.mod "$GRUB_PC"/*.lst "$OUT/i386-pc/modules/"
# Prefix "(,msdos1)/boot/grub": the drive is the BIOS boot drive, partition 1.
"$MKIMAGE" -d "$GRUB_PC" -O i386-pc -C xz -p '(,msdos1)/boot/grub' \
  -o "$OUT/i386-pc/core-msdos1.img" biosdisk part_msdos ext2
"$MKIMAGE" -d "$GRUB_PC" -O i386-pc -C xz -p '(,gpt2)/boot/grub' \
  -o "$OUT/i386-pc/core-gpt2.img" biosdisk part_gpt ext2
# El Torito image = cdboot.img (2048 B) + core.img; root is the boot device (cd or hd).
"$MKIMAGE" -d "$GRUB_PC" -O i386-pc-eltorito -C xz -p /boot/grub \
  -o "$OUT/i386-pc/eltorito.img" biosdisk iso9660

# ---- 5. OVMF ---------------------------------------------------------------
mkdir -p "$OUT/ovmf"
for f in OVMF_CODE_4M.fd OVMF_VARS_4M.fd OVMF_CODE.fd OVMF_VARS.fd; do
  [ -f "${X[ovmf]}/usr/share/OVMF/$f" ] && cp "${X[ovmf]}/usr/share/OVMF/$f" "$OUT/ovmf/$f"
done

# ---- 6. tool wrappers --------------------------------------------------------
mkdir -p "$OUT/tools"
cat > "$OUT/tools/grub-mkimage" <<EOF
#!/bin/sh
# runs the extracted grub-mkimage; pass -d $GRUB_PC (i386-pc) or -d $GRUB_EFI (x86_64-efi)
exec "$MKIMAGE" "\$@"
EOF
chmod +x "$OUT/tools/grub-mkimage"
cat > "$OUT/tools/env.sh" <<EOF
GRUB_PC_DIR="$GRUB_PC"
GRUB_EFI_DIR="$GRUB_EFI"
GRUB_BIN_DIR="$GRUB_BIN"
BUSYBOX="$BB"
KVER="$KVER"
EOF

# ---- 7. manifest -----------------------------------------------------------
{
  echo "# packages"
  for p in "${PKGS[@]}"; do echo "$p $(cat "${X[$p]}/.version")"; done
  echo "# kernel $KVER, initramfs modules:"
  for m in "${ORDER[@]}"; do echo "  $m"; done
  echo "# sha256"
  (cd "$OUT" && find . -type f ! -path './i386-pc/modules/*' ! -name manifest.txt | LC_ALL=C sort | xargs sha256sum)
} > "$OUT/manifest.txt"
log "done: $OUT"
