/**
 * The filesystem readers alone on many damaged filesystems, in process (the spawned fuzz test
 * covers the CLI; this one reaches far more cases per second): ext4 from diskwright, from
 * `mke2fs -d` and ext2 with block maps from `mke2fs -t ext2`, FAT from diskwright and from
 * `mkfs.fat` + `mcopy`, ISO 9660 from diskwright (Rock Ridge, Joliet, zisofs, a relocated deep
 * directory) and from `xorriso -as mkisofs -R -J`, squashfs from diskwright (zstd) and from
 * `mksquashfs -comp xz`, each damaged in its metadata blocks (bytes set, 32-bit words set to
 * extremes or to other metadata blocks' numbers, blocks copied over others) and then walked completely: every directory listed, every
 * file read, every link and xattr read. Anything thrown must be a DiskwrightError naming the
 * image, the structure and an offset; no case may take more than a few seconds.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DiskwrightError } from '../../src/errors.js';
import { Ext4Reader } from '../../src/fs/ext4/read.js';
import { FatReader } from '../../src/fs/fat/read.js';
import { IsoReader } from '../../src/fs/iso9660/read.js';
import { SquashfsReader } from '../../src/fs/squashfs/read.js';
import { walk } from '../../src/inspect/files.js';
import type { FsReader, ReadSource } from '../../src/inspect/fsread.js';
import { prng } from '../helpers/prng.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { build, sourceTree } from './fixtures.js';

const CASES = Number(process.env.DW_FSFUZZ_CASES ?? 600);
const { dir, cleanup } = tempDir('dw-fsfuzz-');
after(cleanup);
/** `metadata`: where the metadata is (the first half, or all of a squashfs, whose tables follow its data). */
const images: { name: string; bytes: Buffer; open: (src: ReadSource) => FsReader; metadata: 'first half' | 'all' }[] = [];

before(async () => {
  const tree = sourceTree(dir, 'fsfuzz');
  const ours = join(dir, 'ours.ext4'), fat = join(dir, 'ours.fat');
  await build({ name: 'e', seed: 'e', table: 'none', partitions: [{ filesystem: 'ext4', extraSpace: '128KiB', contents: [{ source: tree, target: '/' }, { target: '/l', symlink: 'x'.repeat(80) }] }] }, ours);
  await build({ name: 'f', seed: 'f', table: 'none', partitions: [{ filesystem: 'vfat', size: '2MiB', contents: [{ source: tree, target: '/' }] }] }, fat);
  const mke2fs = join(dir, 'mke2fs.ext4'), ext2 = join(dir, 'mke2fs.ext2'), mkfat = join(dir, 'mkfs.fat');
  runOk('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', tree, mke2fs, '4M']);
  runOk('mke2fs', ['-q', '-F', '-t', 'ext2', '-b', '1024', '-d', tree, ext2, '4M']);
  runOk('mkfs.fat', ['-C', '-F', '16', mkfat, String(16 * 1024)]);
  runOk('sh', ['-c', `cd '${tree}' && MTOOLS_SKIP_CHECK=1 mcopy -s -i '${mkfat}' * ::/`]);
  const oursIso = join(dir, 'ours.iso'), oursSq = join(dir, 'ours.sqfs'), xorriso = join(dir, 'xorriso.iso'), mksq = join(dir, 'mksquashfs.sqfs');
  await build({ name: 'i', seed: 'i', table: 'none', partitions: [{ filesystem: 'iso9660', iso9660: { joliet: true, zisofs: true }, contents: [{ source: tree, target: '/' }, { target: '/l', symlink: 'x'.repeat(80) }, { target: '/a/b/c/d/e/f/g/h/i/j/deep', text: 'deep\n' }] }] }, oursIso);
  await build({ name: 's', seed: 's', table: 'none', partitions: [{ filesystem: 'squashfs', squashfs: { compression: 'zstd', blockSize: '4KiB' }, contents: [{ source: tree, target: '/' }, { target: '/l', symlink: 'x'.repeat(80) }] }] }, oursSq);
  runOk('xorriso', ['-as', 'mkisofs', '-R', '-J', '-quiet', '-o', xorriso, tree]);
  runOk('mksquashfs', [tree, mksq, '-comp', 'xz', '-b', '4096', '-xattrs', '-noappend', '-quiet', '-no-progress']);
  const ext = (src: ReadSource): FsReader => new Ext4Reader(src, { image: 'img', base: 0 });
  const vfat = (src: ReadSource): FsReader => new FatReader(src, { image: 'img', base: 0 });
  const iso = (src: ReadSource): FsReader => new IsoReader(src, { image: 'img', base: 0 });
  const sq = (src: ReadSource): FsReader => new SquashfsReader(src, { image: 'img', base: 0 });
  for (const [name, path, open, metadata] of [
    ['ours ext4', ours, ext, 'first half'], ['mke2fs ext4', mke2fs, ext, 'first half'], ['mke2fs ext2', ext2, ext, 'first half'], ['ours FAT', fat, vfat, 'first half'], ['mkfs.fat FAT16', mkfat, vfat, 'first half'],
    ['ours ISO 9660', oursIso, iso, 'first half'], ['xorriso ISO 9660', xorriso, iso, 'first half'], ['ours squashfs', oursSq, sq, 'all'], ['mksquashfs squashfs', mksq, sq, 'all'],
  ] as const) {
    images.push({ name, bytes: readFileSync(path), open, metadata });
  }
});

const source = (b: Buffer): ReadSource => ({ size: b.length, read: (o, l) => b.subarray(Math.min(o, b.length), Math.min(b.length, o + l)) });

/** Open, walk and read everything; the count of nodes reached. */
function readAll(fs: FsReader): number {
  let n = 0;
  walk(fs, fs.root(), (_rel, node) => {
    n++;
    fs.xattrs(node);
    if (node.kind === 'symlink') fs.readlink(node);
    if (node.kind === 'file') for (const [s, e] of fs.dataRanges(node)) for (let at = s; at < e; at += 1 << 20) fs.read(node, at, Math.min(1 << 20, e - at));
  }, 'img');
  return n;
}

const EXTREMES = [0, 1, 2, 0x7f, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 11, 12];

test(`${CASES} damaged copies of each filesystem are read to the end or refused with one error naming a structure and offset`, () => {
  const counts: string[] = [];
  for (const img of images) {
    assert.ok(readAll(img.open(source(img.bytes))) > 10, `${img.name}: the undamaged image reads`);
    const rand = prng(`fsfuzz:${img.name}`);
    // Metadata: the non-zero 1 KiB blocks of the first half (superblock, descriptors, bitmaps, inodes, FATs, directories).
    const blocks: number[] = [];
    for (let b = 0; b < (img.metadata === 'all' ? img.bytes.length : img.bytes.length / 2); b += 1024) if (img.bytes.subarray(b, b + 1024).some((x) => x !== 0)) blocks.push(b);
    let ok = 0, refused = 0, slowest = 0;
    for (let i = 0; i < CASES; i++) {
      const b = Buffer.from(img.bytes);
      const at = blocks[rand.int(blocks.length)]!;
      const op = rand.int(4);
      if (op === 0) for (let k = 1 + rand.int(8); k > 0; k--) b[at + rand.int(1024)] = rand.int(256);
      else if (op === 1) for (let k = 1 + rand.int(3); k > 0; k--) b.writeUInt32LE(EXTREMES[rand.int(EXTREMES.length)]!, at + 4 * rand.int(256));
      else if (op === 2) b.copy(b, at, blocks[rand.int(blocks.length)]!, at + 1024 > b.length ? b.length : undefined);
      // A pointer to metadata (this block or another, as a 1 KiB or 4 KiB block number): loops in
      // extent trees, indirect blocks and cluster chains.
      else for (let k = 1 + rand.int(4); k > 0; k--) b.writeUInt32LE(Math.floor(blocks[rand.int(blocks.length)]! / (rand.int(2) ? 1024 : 4096)) + rand.int(3), at + 4 * rand.int(256));
      const t0 = performance.now();
      try {
        readAll(img.open(source(b)));
        ok++;
      } catch (e) {
        assert.ok(e instanceof DiskwrightError, `${img.name} case ${i} (op ${op} at ${at}): ${(e as Error)?.stack ?? String(e)}`);
        assert.match(e.code, /^E_IMAGE_(CORRUPT|UNSUPPORTED|LOOP)$/, `${img.name} case ${i}: ${e.code} ${e.message}`);
        assert.match(e.message, e.code === 'E_IMAGE_CORRUPT' ? /^img: .* at offset \d+: / : /^img|symbolic links/, `${img.name} case ${i}: ${e.message}`);
        refused++;
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    counts.push(`${img.name}: ${ok} read, ${refused} refused, slowest ${slowest.toFixed(0)} ms`);
    assert.ok(slowest < 5000, `${img.name}: a case took ${slowest} ms`);
  }
  console.log(`fs fuzz (${CASES} cases each): ${counts.join('; ')}`);
});
