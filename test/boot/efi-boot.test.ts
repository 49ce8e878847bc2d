/**
 * The UEFI boot test (issue 5): a `layout: efi` disk built by diskwright — systemd-boot as
 * \EFI\BOOT\BOOTX64.EFI, a loader entry, kernel and initramfs on our FAT ESP, an ext4 root — boots
 * in QEMU with OVMF; the initramfs mounts the root partition by label and prints a file from it.
 * The guest kernel then mounts the ESP with its vfat driver and prints a file under a long name
 * (DISKIMAGE-EXTRA-FILE); --strict fails on any FAT-fs/EXT4-fs complaint.
 * The root is our ext4 (src/fs/ext4). The test passes only on those lines (boot-check.sh waits for `DISKIMAGE-FILE <marker>`).
 *
 * The payload (Debian kernel, busybox initramfs, systemd-boot, OVMF) is assembled by
 * test/boot/payload.sh into $DISKWRIGHT_BOOT_CACHE (default /tmp/diskwright-boot), outside the repo.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { buildImage } from '../../src/build.js';
import { tempDir } from '../helpers/tools.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CACHE = process.env.DISKWRIGHT_BOOT_CACHE ?? '/tmp/diskwright-boot';
const PAYLOAD = join(CACHE, 'payload');

/** Build the payload once per cache (about 30 s the first time, then a no-op). */
export function ensurePayload(): string {
  const need = ['vmlinuz', 'initrd.img', 'efi/systemd-bootx64.efi', 'ovmf/OVMF_CODE_4M.fd', 'ovmf/OVMF_VARS_4M.fd'];
  const initSha = createHash('sha256').update(readFileSync(join(HERE, 'init.sh'))).digest('hex');
  const stamp = join(PAYLOAD, 'init.sha256');
  const current = existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === initSha;
  if (current && need.every((f) => existsSync(join(PAYLOAD, f)))) return PAYLOAD;
  mkdirSync(CACHE, { recursive: true });
  const hasKernel = spawnSync('sh', ['-c', 'apt-cache depends linux-image-amd64 | grep -q "Depends: linux-image-[0-9]"']).status === 0;
  if (!hasKernel) spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const r = spawnSync('bash', [join(HERE, 'payload.sh'), PAYLOAD], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DISKWRIGHT_BOOT_CACHE: CACHE } });
  assert.equal(r.status, 0, 'payload.sh failed');
  return PAYLOAD;
}

const tmp = tempDir('dw-boot-efi-');
after(() => tmp.cleanup());

test('boot: layout efi with systemd-boot on our FAT ESP and an ext4 root boots in QEMU/OVMF', { timeout: 240_000 }, async () => {
  const payload = ensurePayload();
  const token = 'dw-efi-fat';
  const marker = 'DISKWRIGHT-EFI-ROOT-OK';
  // Also read back by the guest kernel's vfat driver from the ESP (a long-name path).
  const espMarker = 'DISKWRIGHT-ESP-VFAT-OK';
  const espFile = '/EFI/diskwright-test/a-long-marker-name.txt';
  const img = join(tmp.dir, 'efi.img');
  const entry = [
    'title   diskwright EFI boot test',
    'linux   /vmlinuz',
    'initrd  /initrd.img',
    `options console=ttyS0,115200 panic=-1 diskimage.token=${token} diskimage.root=LABEL=nixos diskimage.fstype=ext4 ` +
      `diskimage.extra=PARTLABEL=ESP diskimage.extrafstype=vfat diskimage.extrafile=${espFile}`,
    '',
  ].join('\n');
  await buildImage({
    name: 'efi-boot-test',
    sourceDateEpoch: 1700000000,
    layout: 'efi',
    bootSize: '64MiB',
    boot: {
      // FAT32, the UEFI specification's choice for fixed media (56 MiB: 114k clusters of 512 B).
      fat: { fatSize: 32 },
      contents: [
        { source: join(payload, 'efi/systemd-bootx64.efi'), target: '/EFI/BOOT/BOOTX64.EFI' },
        { source: join(payload, 'vmlinuz'), target: '/vmlinuz' },
        { source: join(payload, 'initrd.img'), target: '/initrd.img' },
        { text: 'timeout 0\ndefault diskwright.conf\n', target: '/loader/loader.conf' },
        { text: entry, target: '/loader/entries/diskwright.conf' },
        { text: `${espMarker}\n`, target: espFile },
      ],
    },
    root: {
      contents: [{ text: `${marker}\n`, target: '/etc/diskimage-marker' }],
      extraSpace: '4MiB',
    },
  }, { output: img, baseDir: tmp.dir });
  const fsck = spawnSync('sh', ['-c', `set -e; off=$(sfdisk -J ${img} | node -e 'const j=JSON.parse(require("fs").readFileSync(0));process.stdout.write(String(j.partitiontable.partitions[0].start*512))'); MTOOLS_SKIP_CHECK=1 mdir -i ${img}@@$off ::/EFI/BOOT`], { encoding: 'utf8' });
  assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
  assert.match(fsck.stdout, /BOOTX64\s+EFI/);
  const r = spawnSync('bash', [join(HERE, 'boot-check.sh'), img, '--uefi', '--payload', payload, '--timeout', '120', '-q', '--strict',
    '--expect', `DISKIMAGE-BOOT-OK ${token}`, '--expect', `DISKIMAGE-FILE ${marker}`,
    '--expect', `DISKIMAGE-EXTRA-FILE ${espMarker}`, '--workdir', join(tmp.dir, 'run')], { encoding: 'utf8' });
  const out = r.stdout + r.stderr;
  process.stdout.write(out.split('\n').filter((l) => l.startsWith('PASS') || l.startsWith('FAIL') || l.startsWith('WARN')).join('\n') + '\n');
  assert.equal(r.status, 0, out);
  assert.match(out, new RegExp(`^PASS .*`, 'm'));
});
