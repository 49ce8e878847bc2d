#!/usr/bin/env bash
# Ported from the boot oracle (../shared/boot/uboot-arm64.sh); test/boot/bootloader-extlinux.test.ts runs it.
# uboot-arm64.sh payload OUTDIR      fetch an arm64 kernel, build a tiny arm64 initramfs
# uboot-arm64.sh boot IMAGE TOKEN    boot IMAGE (raw) under QEMU's arm64 `virt` machine with Debian's
#                                    U-Boot for QEMU; PASS when the initramfs prints TOKEN
# U-Boot's distro boot scans the disk's bootable partitions (or partition 1 when none is flagged)
# for /extlinux/extlinux.conf or /boot/extlinux/extlinux.conf, on FAT or ext4 (metadata_csum and
# 64bit are fine), loads KERNEL/INITRD and boots with APPEND. The kernel is Debian's arm64 Image;
# the initramfs prints "SD-BOOT-OK token=..." from the kernel command line and powers off.
# Host packages: qemu-system-arm u-boot-qemu cpio gzip (and `dpkg --add-architecture arm64`).
set -euo pipefail
case "${1:-}" in
payload)
  out=${2:?OUTDIR}; mkdir -p "$out"; out=$(cd "$out" && pwd)
  [ -f "$out/Image" ] && [ -f "$out/initrd.img" ] && exit 0
  dpkg --print-foreign-architectures | grep -q arm64 || { dpkg --add-architecture arm64; apt-get update -qq; }
  command -v qemu-system-aarch64 >/dev/null && [ -f /usr/lib/u-boot/qemu_arm64/u-boot.bin ] ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-arm u-boot-qemu cpio >/dev/null
  w=$(mktemp -d); trap 'rm -rf "$w"' EXIT; cd "$w"
  kpkg=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  apt-get download "${kpkg%%:*}:arm64" busybox-static:arm64 >/dev/null 2>&1
  dpkg-deb -x linux-image-*.deb k; dpkg-deb -x busybox-static_*.deb bb
  cp k/boot/vmlinuz-* "$out/Image"
  mkdir -p ir/bin ir/proc; cp bb/bin/busybox ir/bin/
  cat > ir/init <<'I'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "SD-BOOT-OK $(/bin/busybox tr ' ' '\n' < /proc/cmdline | /bin/busybox grep '^token=')"
/bin/busybox poweroff -f
I
  chmod +x ir/init; (cd ir && find . | cpio -o -H newc 2>/dev/null | gzip -9) > "$out/initrd.img"
  echo "$kpkg" > "$out/kernel-package" ;;
boot)
  img=${2:?IMAGE}; tok=${3:?TOKEN}; log=${LOG:-$img.uboot.log}
  timeout "${TIMEOUT:-120}" qemu-system-aarch64 -M virt -cpu cortex-a57 -m 1024 -nographic -no-reboot \
    -bios /usr/lib/u-boot/qemu_arm64/u-boot.bin -snapshot \
    -drive if=none,file="$img",format=raw,id=d -device virtio-blk-device,drive=d </dev/null >"$log" 2>&1 || true
  if grep -a -q "SD-BOOT-OK token=$tok" "$log"; then echo "PASS $img (U-Boot arm64)"; exit 0; fi
  echo "FAIL $img: $(grep -a -m3 -E 'extlinux|Retrieving|rror|panic' "$log" | tr '\n' ' ')"; exit 1 ;;
*) echo "usage: $0 payload OUTDIR | boot IMAGE TOKEN" >&2; exit 2 ;;
esac
