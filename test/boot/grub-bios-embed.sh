#!/bin/bash
# Ported from the boot oracle recipe (../shared/boot/grub-bios-embed.sh) unchanged: the tests compare
# diskwright's GRUB embedding byte for byte with what this writes (test/boot/bootloader-grub-bios.test.ts).
# grub-bios-embed.sh DISK BOOT_IMG CORE_IMG CORE_LBA [MAX_SECTORS]
#
# Does by hand what `grub-install --target=i386-pc` (grub-bios-setup, util/setup.c)
# does for an *embedded* core.img, on a plain image file (no loop device, no root):
#
#  sector 0 (MBR) <- boot.img, with
#     0x003..0x059  BPB: copied from the disk's current sector 0 (zeros on a fresh disk)
#     0x05c..0x063  kernel_sector: LBA of core.img's first sector, 64-bit LE
#     0x064         boot_drive: 0xff = use the drive number the BIOS passed in DL
#     0x066..0x067  boot_drive_check: "jmp" (eb 05) replaced by "nop nop" (90 90) for
#                   hard disks (workaround for BIOSes that pass DL=0x00/0x01)
#     0x1b8..0x1fd  disk signature + reserved + partition table: copied from the
#                   disk's current sector 0 (so the table made by sfdisk survives)
#     0x1fe..0x1ff  55 aa (already in boot.img)
#  sectors CORE_LBA.. <- core.img (= diskboot.img + lzma_decompress.img + kernel + modules),
#     padded to 512 B, with the first blocklist entry of diskboot.img (the last 12 bytes
#     of core.img's first sector) set to:
#     0x1f4..0x1fb  start: CORE_LBA+1 (LBA of the 2nd sector of core.img), 64-bit LE
#     0x1fc..0x1fd  len:   number of sectors of core.img minus 1, 16-bit LE
#     0x1fe..0x1ff  segment: 0x0820 (load address 0x8200 = 0x8000 + 512)
#     and the entry before it (0x1e8..0x1f3) zeroed as terminator.
#
# CORE_LBA is 1 for the MBR gap (sectors 1..first_partition_start-1) or the first LBA
# of a GPT "BIOS boot" partition (type 21686148-6449-6E6F-744E-656564454649).
# MAX_SECTORS (optional) = size of that area; the script refuses to overflow it.
set -euo pipefail
DISK="$1"; BOOT="$2"; CORE="$3"; LBA="$4"; MAX="${5:-}"

[ "$(stat -c %s "$BOOT")" = 512 ] || { echo "boot.img must be 512 bytes" >&2; exit 1; }
csize=$(stat -c %s "$CORE")
nsec=$(( (csize + 511) / 512 ))
[ "$nsec" -ge 2 ] && [ "$nsec" -le 65535 ] || { echo "bad core.img size $csize" >&2; exit 1; }
if [ -n "$MAX" ] && [ "$nsec" -gt "$MAX" ]; then
  echo "core.img needs $nsec sectors, embedding area has $MAX" >&2; exit 1
fi

le() {  # le VALUE NBYTES -> raw little-endian bytes on stdout
  local v=$1 n=$2 i out=""
  for ((i = 0; i < n; i++)); do out+="$(printf '\\x%02x' $(( (v >> (8 * i)) & 255 )))"; done
  printf "$out"
}
put() {  # put FILE OFFSET <bytes on stdin>
  dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# --- core.img: pad + blocklist ---
cp "$CORE" "$tmp/core"; truncate -s $(( nsec * 512 )) "$tmp/core"
le 0 12 | put "$tmp/core" $(( 0x1e8 ))
{ le $(( LBA + 1 )) 8; le $(( nsec - 1 )) 2; le $(( 0x820 )) 2; } | put "$tmp/core" $(( 0x1f4 ))

# --- boot.img: merge with the disk's current MBR ---
cp "$BOOT" "$tmp/mbr"
dd if="$DISK" of="$tmp/old" bs=512 count=1 status=none
dd if="$tmp/old" bs=1 skip=$(( 0x03 )) count=$(( 0x5a - 0x03 )) status=none | put "$tmp/mbr" $(( 0x03 ))
dd if="$tmp/old" bs=1 skip=$(( 0x1b8 )) count=$(( 0x1fe - 0x1b8 )) status=none | put "$tmp/mbr" $(( 0x1b8 ))
le "$LBA" 8 | put "$tmp/mbr" $(( 0x5c ))
printf '\xff' | put "$tmp/mbr" $(( 0x64 ))
printf '\x90\x90' | put "$tmp/mbr" $(( 0x66 ))

dd if="$tmp/core" of="$DISK" bs=512 seek="$LBA" conv=notrunc status=none
dd if="$tmp/mbr" of="$DISK" bs=512 count=1 conv=notrunc status=none
echo "grub-bios-embed: boot.img -> LBA 0, core.img ($nsec sectors) -> LBA $LBA..$(( LBA + nsec - 1 ))"
