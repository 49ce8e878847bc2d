#!/usr/bin/env bash
# A/B: the CLI before this session's changes (9c06259, /tmp/old) against HEAD (/work/main), same
# inputs, alternating runs, median wall time of N runs each; plus mke2fs -d as the reference.
set -eu
ROOTFS=${ROOTFS:-/tmp/benchroot}; N=${N:-5}; OUT=/tmp/ab/out; mkdir -p $OUT
# OLD: a build of the commit to compare against (git archive REV | tar -x -C /tmp/old; npm run build there).
# Both CLIs run as installed: since the bundled CLI (scripts/bundle.mjs) NEW keeps its V8 code
# cache in ~/.cache/diskwright (DISKWRIGHT_CACHE_DIR), written by its first run of each command.
# Node 20 reads $NODE_EXTRA_CA_CERTS at every start (~50 ms here): unset it to see the CLI's own cost.
OLD="node ${OLD_CLI:-/tmp/old/dist/cli/main.js}"; NEW="node ${NEW_CLI:-$(dirname "$0")/../dist/cli/main.js}"
cat > /tmp/ab/disk.yaml <<YAML
name: ab
seed: ab
sourceDateEpoch: 1700000000
table: gpt
partitions:
  - { name: esp, type: esp, size: 64MiB, filesystem: vfat, contents: [{ source: ${ESP_DIR:-/tmp/ab/esp}, target: / }] }
  - { name: root, type: linux, size: auto, filesystem: ext4, contents: [{ source: $ROOTFS, target: / }] }
YAML
t() { local s=$(date +%s.%N); "$@" >/dev/null 2>&1 || echo "FAILED: $*" >&2; echo "$(date +%s.%N) - $s" | bc; }
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run_case() { # name, then the command with CLI placeholder
  local name=$1; shift
  : > $OUT/old.t; : > $OUT/new.t; : > $OUT/ref.t
  for i in $(seq $N); do
    sync; t bash -c "$OLD $*" >> $OUT/old.t
    sync; t bash -c "$NEW $*" >> $OUT/new.t
  done
  printf '| %s | %.3f | %.3f | %.2f |\n' "$name" $(med < $OUT/old.t) $(med < $OUT/new.t) $(echo "$(med < $OUT/new.t) / $(med < $OUT/old.t)" | bc -l)
}
echo "| case | before (s) | after (s) | after/before |"
echo "|---|---|---|---|"
run_case "start-up: --version" "--version"
run_case "start-up: build examples/efi-disk.yaml --dry-run" "build /work/main/examples/efi-disk.yaml --dry-run -q"
run_case "ext4 of a Debian 12 minbase rootfs" "ext4 $ROOTFS -o $OUT/r.img --epoch 1700000000 -q"
run_case "GPT disk (FAT ESP + ext4 root), raw" "build /tmp/ab/disk.yaml -o $OUT/d.img -q"
run_case "GPT disk, qcow2" "build /tmp/ab/disk.yaml -o $OUT/d.qcow2 --format qcow2 -q"
run_case "GPT disk, vhd" "build /tmp/ab/disk.yaml -o $OUT/d.vhd --format vhd -q"
run_case "GPT disk, raw + zstd" "build /tmp/ab/disk.yaml -o $OUT/d.img.zst --compression zstd -q"
: > $OUT/ref.t
for i in $(seq $N); do sync; rm -f $OUT/m.img; t mke2fs -q -t ext4 -d $ROOTFS $OUT/m.img 400M >> $OUT/ref.t; done
echo; echo "reference: mke2fs -t ext4 -d on the same rootfs, median $(med < $OUT/ref.t) s"
