/**
 * Small disks for the read-side tests: a seeded source tree (small files, so most of an image's
 * non-zero blocks are metadata a mutation can hit; one file larger than a few blocks with a hole;
 * a symlink, a device, a hardlink, xattrs where the filesystem keeps them), built by diskwright
 * into a GPT or MBR disk with a FAT and an ext4 partition, in every container and compression.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../../src/build.js';
import { parseImageSpec } from '../../src/spec/schema.js';
import { prng } from '../helpers/prng.js';
import { runOk } from '../helpers/tools.js';

export const EPOCH = 1_700_000_000;

/** A seeded tree under `dir`/tree; returns its path. */
export function sourceTree(dir: string, seed = 'read-tree'): string {
  const rand = prng(seed);
  const root = join(dir, 'tree');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'usr/share/doc'), { recursive: true });
  writeFileSync(join(root, 'etc/os-release'), 'ID=diskwright\nNAME="read side"\n');
  writeFileSync(join(root, 'etc/hostname'), 'reader\n');
  for (let i = 0; i < 24; i++) writeFileSync(join(root, 'usr/share/doc', `note-${String(i).padStart(2, '0')}.txt`), rand.bytes(20 + rand.int(3000)).toString('base64'));
  writeFileSync(join(root, 'usr/blob.bin'), rand.bytes(40_000));
  return root;
}

/** The spec of a two-partition disk (FAT ESP, ext4 root) of `tree`. */
export function diskSpec(tree: string, table: 'gpt' | 'mbr', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `read-${table}`, seed: 'read-side', sourceDateEpoch: EPOCH, table,
    partitions: [
      { name: 'ESP', type: table === 'gpt' ? 'esp' : 'fat32', size: '2MiB', filesystem: 'vfat', label: 'ESP', contents: [{ source: join(tree, 'etc'), target: '/EFI/etc' }, { target: '/loader/loader.conf', text: 'timeout 3\n' }] },
      {
        name: 'root', type: 'linux', filesystem: 'ext4', label: 'root', extraSpace: '256KiB',
        contents: [
          { source: tree, target: '/' },
          { target: '/bin/sh', symlink: 'busybox' },
          { target: '/dev/console', device: 'char', major: 5, minor: 1, mode: '0600' },
          { target: '/tmp', directory: true, mode: '1777' },
        ],
      },
    ],
    ...extra,
  };
}

/** Build `spec` into `out` with `format` and `compression`. */
export async function build(spec: Record<string, unknown>, out: string, format = 'raw', compression = 'none'): Promise<void> {
  await buildImage(parseImageSpec({ ...spec, format, compression }), { output: out });
}

/** Containers and compressions diskwright writes, as (name, format, compression). */
export const OUR_FORMS: readonly [string, string, string][] = [
  ['qcow2', 'qcow2', 'none'], ['qcow2c', 'qcow2-compressed', 'none'], ['vhd', 'vhd', 'none'], ['vhdfixed', 'vhd-fixed', 'none'],
  ['vdi', 'vdi', 'none'], ['vmdk', 'vmdk', 'none'],
  ['zst', 'raw', 'zstd'], ['xz', 'raw', 'xz'], ['gz', 'raw', 'gzip'], ['bz2', 'raw', 'bzip2'],
];

/** What `qemu-img convert` writes, as (name, qemu-img arguments). */
export const QEMU_FORMS: readonly [string, string[]][] = [
  ['q-qcow2', ['-O', 'qcow2']], ['q-qcow2c', ['-O', 'qcow2', '-c']], ['q-vpc', ['-O', 'vpc']], ['q-vpcfixed', ['-O', 'vpc', '-o', 'subformat=fixed']],
  ['q-vdi', ['-O', 'vdi']], ['q-vmdk', ['-O', 'vmdk']], ['q-vmdkstream', ['-O', 'vmdk', '-o', 'subformat=streamOptimized']],
];

/** `qemu-img convert` of a raw image. */
export function qemuConvert(raw: string, out: string, args: readonly string[]): void {
  runOk('qemu-img', ['convert', '-f', 'raw', ...args, raw, out]);
}
