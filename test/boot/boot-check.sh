#!/bin/bash
# boot-check.sh IMAGE [options]   -- boot a disk image in QEMU and look for markers
#
#   --uefi | --bios        firmware (default --uefi): OVMF (pflash) or SeaBIOS
#   --cdrom                attach IMAGE as a CD-ROM (read-only, raw) instead of a disk
#   --if IF                disk bus: virtio (default) | sata | ide | nvme | usb | scsi
#                          (cdrom: sata/ide (default) | scsi | usb)
#   --format FMT           image format (raw|qcow2|vpc|vhdx|vdi|vmdk); default: detected
#                          with `qemu-img info` (and a VHD footer check) and passed explicitly
#   --expect STRING        line fragment that must appear on the serial console; repeatable,
#                          all must appear (default: DISKIMAGE-BOOT-OK). When the oracle's
#                          initramfs runs, PASS also waits for its DISKIMAGE-DONE line.
#   --fail-on STRING       fragment that fails the run at once; repeatable (defaults:
#                          "Kernel panic", "DISKIMAGE-DONE status=fail", OVMF's
#                          "UEFI Interactive Shell", "grub rescue>", SeaBIOS's
#                          "No bootable device" (debug port); --no-default-fail drops them)
#   --timeout SEC          give up after SEC seconds (default 180)
#   --machine M            q35 (default) | pc
#   --accel A              tcg (default) | kvm | auto (kvm when /dev/kvm is usable and the
#                          CPU has vmx/svm; on this machine it is not: TCG)
#   --smp N / --memory MB  default 1 / 512
#   --payload DIR          payload dir made by payload.sh (default $DISKWRIGHT_BOOT_CACHE/payload or /tmp/diskwright-boot/payload; for OVMF)
#   --ovmf-code F --ovmf-vars F   explicit firmware files (default payload/ovmf/*_4M.fd,
#                          then /usr/share/OVMF)
#   --workdir DIR          where serial.log etc. go (default /tmp/diskwright-boot/runs/NAME-TIMESTAMP)
#   --wait-exit            after all expects are seen, wait for the guest to power off
#                          (and fail if it does not before the timeout)
#   --qemu-arg ARG         extra QEMU argument; repeatable
#   --strict               turn warnings into FAIL (kernel complaints about the image:
#                          GPT backup header misplaced, fs errors, I/O errors)
#   -q                     quiet: only the PASS/FAIL line (and the log tail on FAIL)
# Exit status: 0 PASS, 1 FAIL (marker missing, fail pattern, timeout), 2 usage/setup error.
# The image is never modified (snapshot=on / read-only).
set -uo pipefail

usage() { awk 'NR>1 && /^#/ {sub(/^# ?/, ""); print; next} NR>1 {exit}' "$0"; exit 2; }
die() { echo "boot-check: $*" >&2; exit 2; }

IMG=""; FW=uefi; CDROM=0; IFACE=""; FMT=""; TIMEOUT=180; MACHINE=q35; ACCEL=tcg
SMP=1; MEM=512; PAYLOAD="${DISKWRIGHT_BOOT_CACHE:-/tmp/diskwright-boot}/payload"; OVMF_CODE=""; OVMF_VARS=""
WORKDIR=""; WAIT_EXIT=0; QUIET=0; STRICT=0
EXPECTS=(); QARGS=()
# Fail at once when one of these shows up on the serial console ...
FAILS=("Kernel panic" "DISKIMAGE-DONE status=fail"
       "UEFI Interactive Shell"                        # OVMF found nothing to boot
       "No bootable option or device was found"        # OVMF without built-in shell
       "grub rescue>" "Entering rescue mode")
# ... or in the firmware debug log (SeaBIOS, port 0x402).
FW_FAILS=("No bootable device")
while [ $# -gt 0 ]; do
  case "$1" in
    --uefi) FW=uefi ;;
    --bios) FW=bios ;;
    --cdrom) CDROM=1 ;;
    --if) IFACE="$2"; shift ;;
    --format) FMT="$2"; shift ;;
    --expect) EXPECTS+=("$2"); shift ;;
    --fail-on) FAILS+=("$2"); shift ;;
    --no-default-fail) FAILS=(); FW_FAILS=() ;;
    --timeout) TIMEOUT="$2"; shift ;;
    --machine) MACHINE="$2"; shift ;;
    --accel) ACCEL="$2"; shift ;;
    --smp) SMP="$2"; shift ;;
    --memory|-m) MEM="$2"; shift ;;
    --payload) PAYLOAD="$2"; shift ;;
    --ovmf-code) OVMF_CODE="$2"; shift ;;
    --ovmf-vars) OVMF_VARS="$2"; shift ;;
    --workdir) WORKDIR="$2"; shift ;;
    --wait-exit) WAIT_EXIT=1 ;;
    --qemu-arg) QARGS+=("$2"); shift ;;
    --strict) STRICT=1 ;;
    -q) QUIET=1 ;;
    -h|--help) usage ;;
    -*) die "unknown option $1" ;;
    *) [ -z "$IMG" ] || die "only one IMAGE"; IMG="$1" ;;
  esac
  shift
done
[ -n "$IMG" ] || usage
[ -r "$IMG" ] || die "cannot read $IMG"
[ ${#EXPECTS[@]} -gt 0 ] || EXPECTS=("DISKIMAGE-BOOT-OK")
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86 qemu-utils)"
IMG="$(readlink -f "$IMG")"
QIMG="${IMG//,/,,}"   # QEMU option syntax: a literal comma is written ",,"

# ---- work dir ---------------------------------------------------------------
if [ -z "$WORKDIR" ]; then
  WORKDIR="${DISKWRIGHT_BOOT_CACHE:-/tmp/diskwright-boot}/runs/$(basename "$IMG")-$FW$([ $CDROM = 1 ] && echo -cd)-$(date +%Y%m%d-%H%M%S)-$$"
fi
mkdir -p "$WORKDIR" || die "cannot create $WORKDIR"
LOG="$WORKDIR/serial.log"; DBG="$WORKDIR/firmware-debug.log"; QLOG="$WORKDIR/qemu.log"
: > "$LOG"

# ---- image format -----------------------------------------------------------
if [ -z "$FMT" ]; then
  if [ $CDROM = 1 ]; then FMT=raw
  else
    FMT="$(qemu-img info --output=json "$IMG" 2>/dev/null | sed -n 's/^ *"format": "\([^"]*\)".*/\1/p' | head -n1)"
    [ -n "$FMT" ] || die "qemu-img cannot identify $IMG"
    # A fixed-size VHD has only a 512-byte footer (no header): qemu-img probes it as raw.
    if [ "$FMT" = raw ] && [ "$(tail -c 512 "$IMG" | head -c 8 | tr -d '\0')" = conectix ]; then FMT=vpc; fi
  fi
fi

# ---- firmware -----------------------------------------------------------------
FWARGS=()
if [ $FW = uefi ]; then
  for c in "$OVMF_CODE" "$PAYLOAD/ovmf/OVMF_CODE_4M.fd" /usr/share/OVMF/OVMF_CODE_4M.fd; do
    [ -n "$c" ] && [ -f "$c" ] && { OVMF_CODE="$c"; break; }
  done
  for v in "$OVMF_VARS" "$PAYLOAD/ovmf/OVMF_VARS_4M.fd" /usr/share/OVMF/OVMF_VARS_4M.fd; do
    [ -n "$v" ] && [ -f "$v" ] && { OVMF_VARS="$v"; break; }
  done
  [ -f "$OVMF_CODE" ] && [ -f "$OVMF_VARS" ] || die "OVMF not found (run payload.sh or apt-get install ovmf)"
  cp "$OVMF_VARS" "$WORKDIR/vars.fd"   # per-run copy: NVRAM writes never leak between runs
  FWARGS=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
          -drive "if=pflash,format=raw,unit=1,file=$WORKDIR/vars.fd")
fi
# SeaBIOS (and OVMF DEBUG builds) print to the debug port 0x402.
FWARGS+=(-chardev "file,id=fwdbg,path=$DBG" -device "isa-debugcon,iobase=0x402,chardev=fwdbg")

# ---- accelerator ------------------------------------------------------------
if [ "$ACCEL" = auto ]; then
  # /dev/kvm may exist without hardware virtualisation (nested sandboxes): require vmx/svm too
  if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qwE "vmx|svm" /proc/cpuinfo; then ACCEL=kvm; else ACCEL=tcg; fi
fi
case "$ACCEL" in
  kvm) ACCARGS=(-accel kvm -cpu host) ;;
  tcg) ACCARGS=(-accel tcg) ;;
  *) die "--accel tcg|kvm|auto" ;;
esac

# ---- boot device --------------------------------------------------------------
DEV=()
if [ $CDROM = 1 ]; then
  DRV="file=$QIMG,if=none,id=boot0,media=cdrom,readonly=on,format=$FMT"
  case "${IFACE:-sata}" in
    sata|ide) DEV=(-drive "$DRV" -device "ide-cd,drive=boot0,bootindex=0") ;;
    scsi) DEV=(-device virtio-scsi-pci,id=scsi0 -drive "$DRV" -device "scsi-cd,bus=scsi0.0,drive=boot0,bootindex=0") ;;
    usb) DEV=(-device qemu-xhci,id=xhci -drive "$DRV" -device "usb-storage,bus=xhci.0,drive=boot0,bootindex=0") ;;
    *) die "--if for --cdrom: sata|ide|scsi|usb" ;;
  esac
else
  DRV="file=$QIMG,if=none,id=boot0,format=$FMT,snapshot=on"
  case "${IFACE:-virtio}" in
    virtio) DEV=(-drive "$DRV" -device "virtio-blk-pci,drive=boot0,bootindex=0") ;;
    sata|ide) DEV=(-drive "$DRV" -device "ide-hd,drive=boot0,bootindex=0") ;;
    nvme) DEV=(-drive "$DRV" -device "nvme,serial=diskimage0,drive=boot0,bootindex=0") ;;
    scsi) DEV=(-device virtio-scsi-pci,id=scsi0 -drive "$DRV" -device "scsi-hd,bus=scsi0.0,drive=boot0,bootindex=0") ;;
    usb) DEV=(-device qemu-xhci,id=xhci -drive "$DRV" -device "usb-storage,bus=xhci.0,drive=boot0,bootindex=0") ;;
    *) die "--if virtio|sata|ide|nvme|scsi|usb" ;;
  esac
fi

CMD=(qemu-system-x86_64 -name diskimage-boot-check -machine "$MACHINE" "${ACCARGS[@]}"
     -m "$MEM" -smp "$SMP" -nodefaults -vga std -display none -no-reboot
     -serial "file:$LOG" -monitor none -nic none
     "${FWARGS[@]}" "${DEV[@]}" "${QARGS[@]}")
printf '%q ' "${CMD[@]}" > "$WORKDIR/qemu-cmd.txt"; echo >> "$WORKDIR/qemu-cmd.txt"
[ $QUIET = 1 ] || echo "boot-check: $IMG ($FMT, $FW$([ $CDROM = 1 ] && echo ', cdrom'), ${IFACE:-default if}, $ACCEL) -> $WORKDIR" >&2

# snapshot=on overlays go to $TMPDIR: keep them in the work dir.
T0=$(date +%s.%N)
TMPDIR="$WORKDIR" "${CMD[@]}" > "$QLOG" 2>&1 &
QPID=$!
cleanup() {
  kill -0 "$QPID" 2>/dev/null || return 0
  kill "$QPID" 2>/dev/null; sleep 0.5; kill -9 "$QPID" 2>/dev/null; return 0
}
trap 'cleanup; exit 1' INT TERM HUP

elapsed() { echo "$(date +%s.%N) $T0" | awk '{printf "%.1f", $1-$2}'; }
all_found() {
  local e
  for e in "${EXPECTS[@]}"; do grep -aqF -- "$e" "$LOG" || return 1; done
  return 0
}
failed_on() {
  local f
  for f in "${FAILS[@]}"; do grep -aqF -- "$f" "$LOG" && { echo "$f"; return 0; }; done
  for f in "${FW_FAILS[@]}"; do grep -aqF -- "$f" "$DBG" 2>/dev/null && { echo "$f (firmware debug log)"; return 0; }; done
  return 1
}

RESULT=""; REASON=""; T_FOUND=""; T_KERNEL="-"
while :; do
  alive=1; kill -0 "$QPID" 2>/dev/null || alive=0
  # stage timing: first kernel message = firmware + bootloader done
  [ "$T_KERNEL" = - ] && grep -aqF "Linux version" "$LOG" && T_KERNEL="$(elapsed)"
  if f="$(failed_on)"; then RESULT=FAIL; REASON="found fail pattern '$f'"; break; fi
  if [ -z "$T_FOUND" ] && all_found; then T_FOUND="$(elapsed)"; fi
  if [ -n "$T_FOUND" ] && [ $WAIT_EXIT = 0 ]; then
    # With the oracle's own initramfs, let it finish (DISKIMAGE-DONE) so that its
    # status and the kernel's complaints about the image are seen too.
    if ! grep -aqF "DISKIMAGE-BOOT-OK" "$LOG" || grep -aqF "DISKIMAGE-DONE" "$LOG"; then
      RESULT=PASS; break
    fi
  fi
  if [ $alive = 0 ]; then
    if [ -n "$T_FOUND" ]; then RESULT=PASS
    elif all_found; then T_FOUND="$(elapsed)"; RESULT=PASS
    else RESULT=FAIL; REASON="QEMU exited before all expected markers appeared"; fi
    break
  fi
  if awk -v t="$(elapsed)" -v m="$TIMEOUT" 'BEGIN{exit !(t>=m)}'; then
    RESULT=FAIL
    if [ -n "$T_FOUND" ] && [ $WAIT_EXIT = 1 ]; then REASON="guest did not power off within ${TIMEOUT}s"
    elif [ -n "$T_FOUND" ]; then REASON="initramfs did not finish (no DISKIMAGE-DONE) within ${TIMEOUT}s"
    else REASON="timeout after ${TIMEOUT}s"; fi
    break
  fi
  sleep 0.2
done
TOTAL="$(elapsed)"
cleanup
wait "$QPID" 2>/dev/null

# Kernel complaints about the image that do not stop the boot (reported as WARN).
WARN_RE='GPT:|Alternate GPT|EXT4-fs error|EXT4-fs warning|FAT-fs \(|I/O error|SQUASHFS error|ISOFS: |isofs_fill_super|Buffer I/O error|unable to read partition table|partition table beyond EOD|p[0-9]+ size [0-9]+ extends beyond EOD'
WARNS="$(grep -aoE "($WARN_RE)[^[:cntrl:]]*" "$LOG" | sort -u | head -n 20)"
if [ "$RESULT" = PASS ] && [ -n "$WARNS" ] && [ $STRICT = 1 ]; then
  RESULT=FAIL; REASON="--strict: kernel warnings about the image"
fi
stages() {
  local fwh=no bl=no k=no i=no r=no
  { grep -aqF "BdsDxe: starting" "$LOG" || grep -aqF "Booting from " "$DBG" 2>/dev/null; } && fwh=yes
  grep -aqE "DISKIMAGE-GRUB-OK|Booting \`|EFI stub: " "$LOG" && bl=yes
  grep -aqF "Linux version" "$LOG" && k=yes
  grep -aqF "DISKIMAGE-BOOT-OK" "$LOG" && i=yes
  grep -aqF "DISKIMAGE-ROOT " "$LOG" && r=yes
  echo "stages: firmware-handoff=$fwh bootloader=$bl kernel=$k initramfs=$i rootfs=$r"
  grep -aoE "(BdsDxe: [^[:cntrl:]]*|Booting from [^[:cntrl:]]*)" "$LOG" "$DBG" 2>/dev/null | sed 's/^[^:]*\/\([^/:]*\):/  \1: /' | tail -n 4
}
if [ -n "$WARNS" ]; then echo "$WARNS" | sed 's/^/WARN: /'; fi

if [ "$RESULT" = PASS ]; then
  if [ $QUIET = 0 ]; then grep -ao 'DISKIMAGE-[^[:cntrl:]]*' "$LOG" | sed 's/^/  /'; fi
  echo "PASS $(basename "$IMG") fmt=$FMT fw=$FW$([ $CDROM = 1 ] && echo ' cdrom') kernel_at=${T_KERNEL}s markers_at=${T_FOUND}s total=${TOTAL}s log=$LOG"
  exit 0
fi
missing=()
for e in "${EXPECTS[@]}"; do grep -aqF -- "$e" "$LOG" || missing+=("$e"); done
echo "FAIL $(basename "$IMG") fmt=$FMT fw=$FW$([ $CDROM = 1 ] && echo ' cdrom'): $REASON after ${TOTAL}s; kernel_at=$([ "$T_KERNEL" = - ] && echo - || echo "${T_KERNEL}s"); missing: ${missing[*]:-none}; log=$LOG"
stages
echo "----- last 40 lines of serial log ($LOG) -----"
tail -n 40 "$LOG" | tr -d '\r'
if [ -s "$DBG" ]; then echo "----- last 10 lines of firmware debug log ($DBG) -----"; tail -n 10 "$DBG" | tr -d '\r'; fi
if [ -s "$QLOG" ]; then echo "----- qemu stderr ($QLOG) -----"; tail -n 10 "$QLOG"; fi
exit 1
