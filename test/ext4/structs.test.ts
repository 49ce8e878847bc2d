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
import { ExtentHeader, ExtentIndex, ExtentLeaf } from '../../src/fs/ext4/extent.js';
import { GroupDesc } from '../../src/fs/ext4/group.js';
import { DxCountLimit, DxEntry, DxRootInfo, DxTail, halfMd4Hash, seedWords } from '../../src/fs/ext4/htree.js';
import { encodeTime, Inode } from '../../src/fs/ext4/inode.js';
import { JournalSuperblock } from '../../src/fs/ext4/journal.js';
import { Superblock } from '../../src/fs/ext4/superblock.js';
import { XattrEntry, XattrHeader } from '../../src/fs/ext4/xattr.js';
import type { Tree, TreeNode } from '../../src/tree/model.js';
import { uuidToBytes } from '../../src/util/ids.js';
import { compareTreeToDir } from '../helpers/compare-tree.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { assertFsckClean, buildExt4, treeOf, withMount } from './ext4-helpers.js';

const tmp = tempDir('dw-ext4s-');
after(() => tmp.cleanup());

test('ext4 structs have the kernel sizes and offsets', () => {
  const sizes: [{ size: number; name: string }, number][] = [
    [Superblock, 1024], [GroupDesc, 64], [Inode, 256], [ExtentHeader, 12], [ExtentLeaf, 12], [ExtentIndex, 12],
    [DirEntry, 8], [DirEntryTail, 12], [DxRootInfo, 8], [DxCountLimit, 4], [DxEntry, 8], [DxTail, 8],
    [XattrHeader, 32], [XattrEntry, 16], [JournalSuperblock, 1024],
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

test('htree over non-ASCII names (unsigned-char hash): e2fsck clean, kernel lookups find every name', async () => {
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

test('a directory needing two htree index levels (20,000 long names): e2fsck clean, kernel lookups work', async () => {
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
