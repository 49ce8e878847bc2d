/**
 * Helpers of the boot loader tests (issue 10): the boot payload (test/boot/payload.sh, via
 * iso-payload.ts), GRUB's i386-pc directory from its extracted package, building an example spec
 * with the CLI beside a `payload` link, and reading partitions of a built image with the reference
 * tools (sfdisk, dd-style copies for e2fsck/debugfs/fsck.fat, mtools at an offset).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, ROOT, sfdiskJson, type SfdiskPartition } from '../helpers/disk.js';
import { runOk } from '../helpers/tools.js';
import { BOOT_DIR, ensureIsoPayload } from './iso-payload.js';

export { bootCheck, BOOT_DIR } from './iso-payload.js';

/** The payload directory (built once per cache). */
export function payload(): string {
  return ensureIsoPayload();
}

/** GRUB's i386-pc directory of the extracted grub-pc-bin package (kernel.img, lzma_decompress.img, *.mod), as payload.sh records it. */
export function grubPcDir(p = payload()): string {
  const env = readFileSync(join(p, 'tools/env.sh'), 'utf8');
  const m = /^GRUB_PC_DIR="([^"]+)"$/m.exec(env);
  assert.ok(m && existsSync(join(m[1]!, 'kernel.img')), `GRUB_PC_DIR in ${p}/tools/env.sh`);
  return m[1]!;
}

/**
 * A directory that looks like the payload to a spec (`payload/…`), plus `grub-i386-pc`: GRUB's
 * whole i386-pc directory, which the examples that assemble core.img name.
 */
export function specDir(dir: string): string {
  const p = payload();
  mkdirSync(dir, { recursive: true });
  const view = join(dir, 'payload');
  if (!existsSync(view)) {
    mkdirSync(view);
    for (const name of ['vmlinuz', 'initrd.img', 'efi', 'i386-pc', 'ovmf', 'tools']) symlinkSync(join(p, name), join(view, name));
    symlinkSync(grubPcDir(p), join(view, 'grub-i386-pc'));
    symlinkSync(ARM64, join(view, 'arm64'));
  }
  return dir;
}

/** The arm64 kernel and initramfs of test/boot/uboot-arm64.sh (made by `armPayload`). */
export const ARM64 = join(process.env.DISKWRIGHT_BOOT_CACHE ?? '/tmp/diskwright-boot', 'arm64');

/**
 * The arm64 boot payload: Debian's arm64 kernel, a busybox initramfs that prints its token, and
 * QEMU's arm64 system emulator with Debian's U-Boot for it (installed by uboot-arm64.sh; about a
 * minute the first time, then a no-op).
 */
export function armPayload(): string {
  if (!existsSync(join(ARM64, 'Image')) || !existsSync(join(ARM64, 'initrd.img')) || !existsSync('/usr/lib/u-boot/qemu_arm64/u-boot.bin')) {
    const r = spawnSync('bash', [join(BOOT_DIR, 'uboot-arm64.sh'), 'payload', ARM64], { stdio: ['ignore', 'inherit', 'inherit'] });
    assert.equal(r.status, 0, 'uboot-arm64.sh payload failed');
  }
  return ARM64;
}

/** Build `examples/<name>` with the CLI from a copy in `dir` (beside its payload view); returns the image path. */
export function buildExample(name: string, dir: string, out = join(dir, name.replace(/\.ya?ml$/, '.img')), extra: string[] = []): string {
  specDir(dir);
  copyFileSync(join(ROOT, 'examples', name), join(dir, name));
  const r = cli(['build', name, '-o', out, '-q', ...extra], { cwd: dir });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return out;
}

/** Build a spec given as YAML text in `dir`; returns the CLI's result. */
export function buildYaml(yaml: string, dir: string, out: string): { status: number; stdout: string; stderr: string } {
  specDir(dir);
  writeFileSync(join(dir, 'spec.yaml'), yaml);
  return cli(['build', 'spec.yaml', '-o', out, '-q'], { cwd: dir });
}

/** The partitions sfdisk reads, with byte offsets. */
export function parts(img: string): (SfdiskPartition & { offset: number; bytes: number })[] {
  return sfdiskJson(img).partitions.map((p) => ({ ...p, offset: p.start * 512, bytes: p.size * 512 }));
}

/** Copy `[offset, offset + size)` of `img` to its own file (for e2fsck, debugfs, fsck.fat). */
export function extract(img: string, offset: number, size: number, to: string): string {
  const buf = Buffer.alloc(size);
  const fd = openSync(img, 'r');
  try { readSync(fd, buf, 0, size, offset); } finally { closeSync(fd); }
  writeFileSync(to, buf);
  return to;
}

/** Bytes `[offset, offset + length)` of a file. */
export function bytesAt(file: string, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try { readSync(fd, buf, 0, length, offset); } finally { closeSync(fd); }
  return buf;
}

/** A file of the FAT filesystem at `offset` of `img`, copied out by mtools to `scratch` and read. */
export function fatFile(img: string, offset: number, path: string, scratch: string): Buffer {
  runOk('mcopy', ['-o', '-i', `${img}@@${offset}`, `::${path}`, scratch]);
  return readFileSync(scratch);
}

/** Every path of the FAT filesystem at `offset` (mtools' recursive listing, `/`-separated, sorted). */
export function fatPaths(img: string, offset: number): string[] {
  const out = runOk('mdir', ['-/', '-b', '-i', `${img}@@${offset}`, '::/']);
  return out.split('\n').filter((l) => l.startsWith('::/')).map((l) => l.slice(2).replace(/\/$/, '')).sort();
}

/** A file of an ext4 partition, read by debugfs from a copy of it. */
export function ext4File(img: string, p: { offset: number; bytes: number }, path: string, scratch: string): string {
  return runOk('debugfs', ['-R', `cat ${path}`, extract(img, p.offset, p.bytes, scratch)]);
}
