import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage } from '../../src/build.js';
import { tempDir } from '../helpers/tools.js';

/**
 * A `format: qcow2` build of the UEFI boot test's disk boots in QEMU/OVMF like the raw one
 * (QEMU reads our qcow2 directly: `-drive format=qcow2`). Uses test/boot's payload and script.
 */
const BOOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'boot');
const CACHE = process.env.DISKWRIGHT_BOOT_CACHE ?? '/tmp/diskwright-boot';
const PAYLOAD = join(CACHE, 'payload');

function payload(): string {
  const need = ['vmlinuz', 'initrd.img', 'efi/systemd-bootx64.efi', 'ovmf/OVMF_CODE_4M.fd', 'ovmf/OVMF_VARS_4M.fd'];
  const initSha = createHash('sha256').update(readFileSync(join(BOOT, 'init.sh'))).digest('hex');
  const stamp = join(PAYLOAD, 'init.sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === initSha && need.every((f) => existsSync(join(PAYLOAD, f)))) return PAYLOAD;
  mkdirSync(CACHE, { recursive: true });
  const hasKernel = spawnSync('sh', ['-c', 'apt-cache depends linux-image-amd64 | grep -q "Depends: linux-image-[0-9]"']).status === 0;
  if (!hasKernel) spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const r = spawnSync('bash', [join(BOOT, 'payload.sh'), PAYLOAD], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DISKWRIGHT_BOOT_CACHE: CACHE } });
  assert.equal(r.status, 0, 'payload.sh failed');
  return PAYLOAD;
}

const tmp = tempDir('dw-boot-qcow2-');
test.after(() => tmp.cleanup());

test('boot: a format: qcow2 spec (efi layout, systemd-boot, ext4 root) boots in QEMU/OVMF', { timeout: 240_000 }, async () => {
  const p = payload();
  const token = 'dw-qcow2';
  const marker = 'DISKWRIGHT-QCOW2-ROOT-OK';
  const img = join(tmp.dir, 'efi.qcow2');
  const entry = [
    'title   diskwright qcow2 boot test',
    'linux   /vmlinuz',
    'initrd  /initrd.img',
    `options console=ttyS0,115200 panic=-1 diskimage.token=${token} diskimage.root=LABEL=nixos diskimage.fstype=ext4`,
    '',
  ].join('\n');
  await buildImage({
    name: 'qcow2-boot-test',
    sourceDateEpoch: 1700000000,
    format: 'qcow2',
    layout: 'efi',
    bootSize: '64MiB',
    boot: {
      fat: { fatSize: 32 },
      contents: [
        { source: join(p, 'efi/systemd-bootx64.efi'), target: '/EFI/BOOT/BOOTX64.EFI' },
        { source: join(p, 'vmlinuz'), target: '/vmlinuz' },
        { source: join(p, 'initrd.img'), target: '/initrd.img' },
        { text: 'timeout 0\ndefault diskwright.conf\n', target: '/loader/loader.conf' },
        { text: entry, target: '/loader/entries/diskwright.conf' },
      ],
    },
    root: { contents: [{ text: `${marker}\n`, target: '/etc/diskimage-marker' }], extraSpace: '4MiB' },
  }, { output: img, baseDir: tmp.dir });
  assert.equal(spawnSync('qemu-img', ['check', img]).status, 0);
  const r = spawnSync('bash', [join(BOOT, 'boot-check.sh'), img, '--uefi', '--format', 'qcow2', '--payload', p, '--timeout', '120', '-q', '--strict',
    '--expect', `DISKIMAGE-BOOT-OK ${token}`, '--expect', `DISKIMAGE-FILE ${marker}`, '--workdir', join(tmp.dir, 'run')], { encoding: 'utf8' });
  const out = r.stdout + r.stderr;
  assert.equal(r.status, 0, out);
  assert.match(out, /^PASS /m);
});
