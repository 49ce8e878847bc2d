/**
 * ext4 on-disk structures: declared sizes match the kernel's, crc32c and the directory hash agree
 * with the reference tools (debugfs dx_hash; e2fsck and the kernel for unsigned-char names).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { crc32c } from '../../src/fs/ext4/checksum.js';
import { DirEntry, DirEntryTail } from '../../src/fs/ext4/dir.js';
import { ExtentHeader, ExtentIndex, ExtentLeaf, ExtentTail } from '../../src/fs/ext4/extent.js';
import { GroupDesc } from '../../src/fs/ext4/group.js';
import { DxCountLimit, DxEntry, DxRootInfo, DxTail, halfMd4Hash, seedWords } from '../../src/fs/ext4/htree.js';
import { deviceIblock, encodeTime, Inode } from '../../src/fs/ext4/inode.js';
import { JournalSuperblock } from '../../src/fs/ext4/journal.js';
import { Superblock } from '../../src/fs/ext4/superblock.js';
import { XattrEntry, XattrHeader } from '../../src/fs/ext4/xattr.js';
import type { Tree, TreeNode } from '../../src/tree/model.js';
import { uuidToBytes } from '../../src/util/ids.js';
import { compareTreeToDir } from '../helpers/compare-tree.js';
import { needsRoot } from '../helpers/root.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { assertFsckClean, buildExt4, ctxFor, treeOf, withMount } from './ext4-helpers.js';
import { ext4Handler } from '../../src/fs/ext4/index.js';
import type { Volume } from '../../src/extent/extent.js';

const tmp = tempDir('dw-ext4s-');
after(() => tmp.cleanup());

test('ext4 structs have the kernel sizes and offsets', () => {
  const sizes: [{ size: number; name: string }, number][] = [
    [Superblock, 1024], [GroupDesc, 64], [Inode, 256], [ExtentHeader, 12], [ExtentLeaf, 12], [ExtentIndex, 12],
    [DirEntry, 8], [DirEntryTail, 12], [DxRootInfo, 8], [DxCountLimit, 4], [DxEntry, 8], [DxTail, 8],
    [XattrHeader, 32], [XattrEntry, 16], [JournalSuperblock, 1024], [ExtentTail, 4],
  ];
  for (const [s, n] of sizes) assert.equal(s.size, n, s.name);
  assert.equal(Superblock.offsetOf('s_magic'), 0x38);
  assert.equal(Superblock.offsetOf('s_desc_size'), 0xfe);
  assert.equal(Superblock.offsetOf('s_log_groups_per_flex'), 0x174);
  assert.equal(Superblock.offsetOf('s_checksum'), 0x3fc);
  assert.equal(GroupDesc.offsetOf('bg_checksum'), 0x1e);
  assert.equal(Inode.offsetOf('i_block'), 0x28);
  assert.equal(Inode.offsetOf('i_checksum_hi'), 0x82);
  assert.equal(Inode.offsetOf('i_projid'), 0x9c);
});

test('crc32c matches the Castagnoli check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
});

test('extra epoch bits encode times before 1970 and after 2038', () => {
  assert.deepEqual(encodeTime({ sec: 0, nsec: 0 }), { base: 0, extra: 0 });
  assert.deepEqual(encodeTime({ sec: -1, nsec: 5 }), { base: 0xffffffff, extra: 20 });
  assert.deepEqual(encodeTime({ sec: 2 ** 31, nsec: 0 }), { base: 2 ** 31, extra: 1 });
  assert.deepEqual(encodeTime({ sec: 2 ** 32 + 7, nsec: 999999999 }), { base: 7, extra: ((999999999 * 4) + 1) >>> 0 });
});

test('half_md4 directory hash agrees with debugfs dx_hash', () => {
  const seed = '26e1f1c2-6d74-b18f-24f5-006963eba363';
  for (const name of ['hello', 'a'.repeat(70), 'lost+found', 'x'.repeat(255), 'entry-01234-zz']) {
    for (const s of [undefined, seed]) {
      const args = ['-R', `dx_hash -h half_md4${s ? ` -s ${s}` : ''} ${name}`];
      const out = runOk('debugfs', args);
      const m = /Hash of .* is 0x([0-9a-f]+)/.exec(out);
      assert.ok(m, out);
      const words = s ? seedWords(uuidToBytes(s)) : new Uint32Array(4);
      assert.equal(halfMd4Hash(Buffer.from(name), words), parseInt(m[1]!, 16), `${name} seed ${s}`);
    }
  }
});

test('htree over non-ASCII names (unsigned-char hash): e2fsck clean, kernel lookups find every name', { skip: needsRoot('loop mount') }, async () => {
  const src = join(tmp.dir, 'unicode');
  mkdirSync(join(src, 'd'), { recursive: true });
  for (let i = 0; i < 400; i++) writeFileSync(join(src, 'd', `ñämé-${i}-日本語-${'é'.repeat(i % 30)}`), `${i}`);
  const tree = treeOf(src);
  const img = join(tmp.dir, 'unicode.img');
  await buildExt4(tree, img);
  assertFsckClean(img);
  assert.match(runOk('debugfs', ['-R', 'stat /d', img]), /Flags: 0x81000/);
  await withMount(img, join(tmp.dir, 'mnt-u'), (dir) => {
    assert.deepEqual(compareTreeToDir(tree, dir, { ignore: ['/lost+found'] }), []);
    // A lookup by name goes through the htree (readdir does not).
    for (const i of [0, 17, 399]) runOk('stat', [join(dir, 'd', `ñämé-${i}-日本語-${'é'.repeat(i % 30)}`)]);
  });
});

test('a directory needing two htree index levels (20,000 long names): e2fsck clean, kernel lookups work', { skip: needsRoot('loop mount') }, async () => {
  const t = { sec: 1700000000, nsec: 0 };
  const names = Array.from({ length: 20000 }, (_, i) => Buffer.from(`${i.toString(36).padStart(4, '0')}-${'n'.repeat(190)}`)).sort(Buffer.compare);
  const children: TreeNode[] = names.map((name, i) => ({
    name, kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], size: i % 3, content: { kind: 'bytes', data: Buffer.alloc(i % 3, 0x61) },
  }));
  const dir: TreeNode = { name: Buffer.from('wide'), kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], size: 0, children };
  const tree: Tree = { root: { name: Buffer.alloc(0), kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], size: 0, children: [dir] } };
  const img = join(tmp.dir, 'wide.img');
  await buildExt4(tree, img);
  assertFsckClean(img);
  assert.match(runOk('debugfs', ['-R', 'htree_dump /wide', img]), /Indirect levels: 1/);
  await withMount(img, join(tmp.dir, 'mnt-wide'), (mnt) => {
    assert.deepEqual(compareTreeToDir(tree, mnt, { ignore: ['/lost+found'], xattrs: false }), []);
    for (const i of [0, 4999, 12345, 19999]) runOk('stat', [join(mnt, 'wide', names[i]!.toString())]);
  });
});

/** Encode `values` into a zeroed struct and expect exactly the bytes `at` lists (offset → bytes), zeros elsewhere. */
function golden(s: { size: number; encode(v: Record<string, number | bigint | Uint8Array | number[]>, b: Uint8Array): void }, values: Record<string, number | bigint | number[]>, at: [number, number[]][]): void {
  const buf = new Uint8Array(s.size);
  s.encode(values, buf);
  const want = new Uint8Array(s.size);
  for (const [o, bytes] of at) want.set(bytes, o);
  assert.deepEqual([...buf], [...want], JSON.stringify(values, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)));
}

test('64-bit superblock counts and times go to their _lo/_hi fields at the spec offsets', () => {
  golden(Superblock, { s_blocks_count: 0x1_2345_6789 }, [[0x4, [0x89, 0x67, 0x45, 0x23]], [0x150, [1, 0, 0, 0]]]);
  golden(Superblock, { s_r_blocks_count: 2 ** 32 + 2 }, [[0x8, [2, 0, 0, 0]], [0x154, [1, 0, 0, 0]]]);
  golden(Superblock, { s_free_blocks_count: 2n ** 40n + 3n }, [[0xc, [3, 0, 0, 0]], [0x158, [0, 1, 0, 0]]]);
  // Times: 32 bits plus an 8-bit _hi (1970 to 2^40 seconds).
  golden(Superblock, { s_mtime: 2 ** 32 + 1 }, [[0x2c, [1, 0, 0, 0]], [0x275, [1]]]);
  golden(Superblock, { s_wtime: 2 ** 33 + 5 }, [[0x30, [5, 0, 0, 0]], [0x274, [2]]]);
  golden(Superblock, { s_lastcheck: 1700000000 }, [[0x40, [0x00, 0xf1, 0x53, 0x65]]]);
  golden(Superblock, { s_mkfs_time: 2 ** 40 - 1 }, [[0x108, [0xff, 0xff, 0xff, 0xff]], [0x276, [0xff]]]);
  assert.throws(() => Superblock.encode({ s_wtime: 2 ** 40 }, new Uint8Array(1024)), /s_wtime: value 1099511627776 does not fit in 40 bits/);
  assert.throws(() => Superblock.encode({ s_blocks_count: 2n ** 64n }, new Uint8Array(1024)), RangeError);
  assert.throws(() => Superblock.encode({ s_blocks_count: 1, s_blocks_count_hi: 0 }, new Uint8Array(1024)), /given together/);
  // Arrays: __u32 s_hash_seed[4] and s_jnl_blocks[17], the latter ending where s_blocks_count_hi starts.
  golden(Superblock, { s_hash_seed: [1, 2, 3, 0x04030201] }, [[0xec, [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3, 4]]]);
  golden(Superblock, { s_jnl_blocks: [...new Array<number>(16).fill(0), 0xaabbccdd] }, [[0x14c, [0xdd, 0xcc, 0xbb, 0xaa]]]);
  assert.throws(() => Superblock.encode({ s_jnl_blocks: new Array<number>(18).fill(0) }, new Uint8Array(1024)), /18 elements do not fit in 17/);
});

test('group descriptor fields split into the first and second 32 bytes (64bit feature)', () => {
  golden(GroupDesc, { bg_block_bitmap: 2 ** 32 + 1 }, [[0x0, [1, 0, 0, 0]], [0x20, [1, 0, 0, 0]]]);
  golden(GroupDesc, { bg_inode_bitmap: 2 ** 34 + 2 }, [[0x4, [2, 0, 0, 0]], [0x24, [4, 0, 0, 0]]]);
  golden(GroupDesc, { bg_inode_table: 2 ** 33 + 7 }, [[0x8, [7, 0, 0, 0]], [0x28, [2, 0, 0, 0]]]);
  golden(GroupDesc, { bg_free_blocks_count: 0x12345 }, [[0xc, [0x45, 0x23]], [0x2c, [1, 0]]]);
  golden(GroupDesc, { bg_free_inodes_count: 0x20001 }, [[0xe, [1, 0]], [0x2e, [2, 0]]]);
  golden(GroupDesc, { bg_used_dirs_count: 0x30003 }, [[0x10, [3, 0]], [0x30, [3, 0]]]);
  golden(GroupDesc, { bg_itable_unused: 0x40004 }, [[0x1c, [4, 0]], [0x32, [4, 0]]]);
  golden(GroupDesc, { bg_exclude_bitmap: 2 ** 32 + 5 }, [[0x14, [5, 0, 0, 0]], [0x34, [1, 0, 0, 0]]]);
  golden(GroupDesc, { bg_block_bitmap_csum: 0xdeadbeef }, [[0x18, [0xef, 0xbe]], [0x38, [0xad, 0xde]]]);
  golden(GroupDesc, { bg_inode_bitmap_csum: 0x01020304 }, [[0x1a, [4, 3]], [0x3a, [2, 1]]]);
  assert.throws(() => GroupDesc.encode({ bg_free_blocks_count: 2 ** 32 }, new Uint8Array(64)), /bg_free_blocks_count: value 4294967296 does not fit in 32 bits/);
});

test('inode owners, size, i_blocks, xattr block and checksum split at the spec offsets; i_block is __le32[15]', () => {
  golden(Inode, { i_uid: 70000 }, [[0x2, [0x70, 0x11]], [0x78, [1, 0]]]);
  golden(Inode, { i_gid: 65600 }, [[0x18, [0x40, 0]], [0x7a, [1, 0]]]);
  golden(Inode, { i_size: 5 * 2 ** 30 + 3 }, [[0x4, [3, 0, 0, 0x40]], [0x6c, [1, 0, 0, 0]]]);
  golden(Inode, { i_blocks: 2 ** 47 + 9 }, [[0x1c, [9, 0, 0, 0]], [0x74, [0, 0x80]]]);
  golden(Inode, { i_file_acl: 2 ** 32 + 0x10 }, [[0x68, [0x10, 0, 0, 0]], [0x76, [1, 0]]]);
  golden(Inode, { i_checksum: 0x11223344 }, [[0x7c, [0x44, 0x33]], [0x82, [0x22, 0x11]]]);
  golden(Inode, { i_block: [0, 0x0501] }, [[0x2c, [1, 5, 0, 0]]]);
  const bad: [string, number][] = [['i_uid', 2 ** 32], ['i_blocks', 2 ** 48], ['i_file_acl', 2 ** 48], ['i_size', -1]];
  for (const [f, v] of bad) assert.throws(() => Inode.encode({ [f]: v }, new Uint8Array(256)), RangeError, f);
  assert.throws(() => Inode.encode({ i_block: new Uint8Array(61) }, new Uint8Array(256)), /61 bytes do not fit in 60/);
  // Device numbers (fs/ext4/inode.c): old 16-bit encoding in i_block[0], else the new one in i_block[1].
  assert.deepEqual(deviceIblock(8, 1), [0x801]);
  assert.deepEqual(deviceIblock(300, 70000), [0, 0x11112c70]);
});

test('extent start and index leaf are 48-bit: hi u16 and lo u32 at the spec offsets', () => {
  golden(ExtentLeaf, { ee_block: 1, ee_len: 2, ee_start: 2 ** 40 + 0x0a0b0c0d }, [[0x0, [1, 0, 0, 0]], [0x4, [2, 0]], [0x6, [0, 1]], [0x8, [0x0d, 0x0c, 0x0b, 0x0a]]]);
  golden(ExtentIndex, { ei_block: 3, ei_leaf: 2 ** 32 + 4 }, [[0x0, [3, 0, 0, 0]], [0x4, [4, 0, 0, 0]], [0x8, [1, 0]]]);
  assert.throws(() => ExtentLeaf.encode({ ee_start: 2 ** 48 }, new Uint8Array(12)), /ee_start: value 281474976710656 does not fit in 48 bits/);
  assert.throws(() => ExtentIndex.encode({ ei_leaf: 2n ** 48n }, new Uint8Array(12)), RangeError);
});

/** The bytes a volume holds at [offset, offset + length), from its metadata extents. */
function volumeBytes(v: Volume, offset: number, length: number): Uint8Array {
  const e = v.extents.find((x) => x.offset <= offset && offset + length <= x.offset + x.length && x.source.kind === 'bytes');
  assert.ok(e && e.source.kind === 'bytes', `no metadata at ${offset}`);
  const at = (e.source.at ?? 0) + offset - e.offset;
  return e.source.data.subarray(at, at + length);
}

test('a planned volume: the superblock carries the plan\'s counts and s_jnl_blocks backs up the journal inode', () => {
  const t = { sec: 1700000000, nsec: 0 };
  const file = (name: string, size: number): TreeNode => ({ name: Buffer.from(name), kind: 'file', mode: 0o644, uid: 70000, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], size, content: { kind: 'bytes', data: Buffer.alloc(size, 0x5a) } });
  const tree: Tree = { root: { name: Buffer.alloc(0), kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], size: 0, children: [file('a', 5000), file('b', 0)] } };
  for (const blockSize of [1024, 4096] as const) {
    const planned = ext4Handler.plan(tree, ctxFor({ ext4: { blockSize }, extraSpace: 1 << 20 }));
    const d = planned.info.details!;
    const sb = Superblock.decode(volumeBytes(planned.volume, 1024, 1024));
    assert.equal(sb.s_blocks_count, d.blocks);
    assert.equal(sb.s_free_blocks_count, d.freeBlocks);
    assert.equal(sb.s_wtime, 1700000000);
    const gdtAt = (blockSize === 1024 ? 2 : 1) * blockSize;
    const gd = GroupDesc.decode(volumeBytes(planned.volume, gdtAt, 64));
    const inodeAt = (gd.bg_inode_table as number) * blockSize + (8 - 1) * 256;
    const journal = Inode.decode(volumeBytes(planned.volume, inodeAt, 256));
    assert.equal(journal.i_size, (d.journalBlocks as number) * blockSize);
    assert.deepEqual(sb.s_jnl_blocks, [...(journal.i_block as number[]), journal.i_size_high, journal.i_size_lo]);
    const fileA = Inode.decode(volumeBytes(planned.volume, (gd.bg_inode_table as number) * blockSize + (12 - 1) * 256, 256));
    assert.equal(fileA.i_uid, 70000);
    assert.equal(fileA.i_size, 5000);
  }
});
