/**
 * The boot payload for the ISO boot tests: what test/boot/payload.sh assembles (Debian kernel,
 * busybox initramfs, GRUB for i386-pc and x86_64-efi, OVMF) in $DISKWRIGHT_BOOT_CACHE/payload
 * (default /tmp/diskwright-boot/payload), built once and reused while init.sh is unchanged.
 * The same check as test/boot/efi-boot.test.ts, plus the GRUB files an ISO needs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BOOT_DIR = dirname(fileURLToPath(import.meta.url));
const CACHE = process.env.DISKWRIGHT_BOOT_CACHE ?? '/tmp/diskwright-boot';
export const PAYLOAD = join(CACHE, 'payload');
const NEEDED = [
  'vmlinuz', 'initrd.img', 'efi/grubx64.efi', 'ovmf/OVMF_CODE_4M.fd', 'ovmf/OVMF_VARS_4M.fd',
  'i386-pc/eltorito.img', 'i386-pc/boot_hybrid.img', 'i386-pc/modules/normal.mod',
];

/** The payload directory, built first when missing or stale (about 30 s the first time). */
export function ensureIsoPayload(): string {
  const initSha = createHash('sha256').update(readFileSync(join(BOOT_DIR, 'init.sh'))).digest('hex');
  const stamp = join(PAYLOAD, 'init.sha256');
  const current = existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === initSha;
  if (current && NEEDED.every((f) => existsSync(join(PAYLOAD, f)))) return PAYLOAD;
  mkdirSync(CACHE, { recursive: true });
  const hasKernel = spawnSync('sh', ['-c', 'apt-cache depends linux-image-amd64 | grep -q "Depends: linux-image-[0-9]"']).status === 0;
  if (!hasKernel) spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const r = spawnSync('bash', [join(BOOT_DIR, 'payload.sh'), PAYLOAD], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DISKWRIGHT_BOOT_CACHE: CACHE } });
  assert.equal(r.status, 0, 'payload.sh failed');
  return PAYLOAD;
}

/** Boot `img` with test/boot/boot-check.sh; returns its output and the serial log. */
export function bootCheck(img: string, args: string[], workdir: string): { ok: boolean; out: string; serial: string } {
  const r = spawnSync('bash', [join(BOOT_DIR, 'boot-check.sh'), img, '--payload', PAYLOAD, '-q', '--workdir', workdir, ...args], { encoding: 'utf8' });
  const out = r.stdout + r.stderr;
  const log = join(workdir, 'serial.log');
  return { ok: r.status === 0, out, serial: existsSync(log) ? readFileSync(log, 'latin1') : '' };
}
