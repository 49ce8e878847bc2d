/**
 * FAT corpora shared by bench/fat.bench.ts and bench/disk.bench.ts, made once under bench/corpus.ts's
 * ROOT (outside the repo):
 *   rootfs-fat: the Debian minbase tree of bench/corpus.ts made FAT-representable: symlinks, devices,
 *               fifos and sockets left out (rsync --no-links --no-devices --no-specials), then every
 *               name FAT cannot hold removed (characters fatgen103 §7 forbids in long names, and the
 *               second of two names equal up to case, e.g. man7/PAM.7.gz beside pam.7.gz);
 *   esp:        an ESP as NixOS fills one: a kernel, an initramfs, a second generation and ~300 files.
 */
import { existsSync, copyFileSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../test/helpers/prng.js';
import { prepared, sh, trees } from './corpus.js';

/** fatgen103 §7: characters a long name may not hold (besides controls). */
const FORBIDDEN = /["*/:<>?\\|\x00-\x1f\x7f]/;

/** Remove, depth first in byte order, every name FAT cannot store (see the header). Returns how many. */
function dropNonFatNames(dir: string): number {
  let dropped = 0;
  const seen = new Set<string>();
  const names = readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare).map((b) => b.toString('utf8'));
  for (const name of names) {
    const path = join(dir, name);
    const key = name.replace(/[. ]+$/, '').toUpperCase();
    if (FORBIDDEN.test(name) || key === '' || seen.has(key)) { rmSync(path, { recursive: true, force: true }); dropped++; continue; }
    seen.add(key);
    if (lstatSync(path).isDirectory()) dropped += dropNonFatNames(path);
  }
  return dropped;
}

/** The Debian minbase tree (bench/corpus.ts `rootfs`) as FAT can hold it. */
export function fatRootfs(): string {
  const rootfs = prepared('rootfs', trees.rootfs!.make);
  return prepared('rootfs-fat', (dir) => {
    sh('rsync', ['-r', '-t', '--no-links', '--no-devices', '--no-specials', '--exclude=/dev/', '--exclude=/proc/', '--exclude=/sys/', `${rootfs}/`, `${dir}/`]);
    process.stderr.write(`rootfs-fat: ${dropNonFatNames(dir)} names FAT cannot hold removed\n`);
  });
}

/** Deterministic pseudo-random bytes (incompressible, like kernels and initramfs images). */
const bytes = (seed: string, n: number): Buffer => prng(seed).bytes(n);

/** An ESP: kernel, initramfs and systemd-boot (the boot tests' payload when cached, else random bytes), a 2nd generation, 300 files. */
export function makeEsp(dir: string): void {
  const payload = join(process.env.DISKWRIGHT_BOOT_CACHE ?? '/tmp/diskwright-boot', 'payload');
  mkdirSync(join(dir, 'EFI/BOOT'), { recursive: true });
  mkdirSync(join(dir, 'loader/entries'), { recursive: true });
  if (existsSync(join(payload, 'vmlinuz'))) {
    copyFileSync(join(payload, 'vmlinuz'), join(dir, 'vmlinuz'));
    copyFileSync(join(payload, 'initrd.img'), join(dir, 'initrd.img'));
    copyFileSync(join(payload, 'efi/systemd-bootx64.efi'), join(dir, 'EFI/BOOT/BOOTX64.EFI'));
  } else {
    writeFileSync(join(dir, 'vmlinuz'), bytes('vmlinuz', 8 << 20));
    writeFileSync(join(dir, 'initrd.img'), bytes('initrd', 32 << 20));
    writeFileSync(join(dir, 'EFI/BOOT/BOOTX64.EFI'), bytes('bootx64', 100 << 10));
  }
  // A second kernel generation and a bigger initrd, as a NixOS ESP holds.
  writeFileSync(join(dir, 'EFI/nixos-kernel-2.efi'), bytes('k2', 12 << 20));
  writeFileSync(join(dir, 'EFI/nixos-initrd-2.efi'), bytes('i2', 40 << 20));
  writeFileSync(join(dir, 'loader/loader.conf'), 'timeout 3\ndefault nixos-generation-2.conf\n');
  for (let i = 0; i < 300; i++) {
    const sub = join(dir, 'EFI', `vendor-${i % 12}`, `Firmware Update ${i % 5}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `Component_${i}.bin`), bytes(`f${i}`, 1024 + ((i * 7919) % 65536)));
    if (i % 10 === 0) writeFileSync(join(dir, 'loader/entries', `nixos-generation-${i}.conf`), `title NixOS ${i}\nlinux /vmlinuz\n`);
  }
}
