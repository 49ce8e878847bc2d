/** Trees FAT cannot hold: each fails with a DiskwrightError naming the path, before any output. */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DiskwrightError } from '../../src/errors.js';
import { fatHandler } from '../../src/fs/fat/index.js';
import { newDir, type Tree, type TreeNode } from '../../src/tree/model.js';
import { tempDir } from '../helpers/tools.js';
import { fatContext, treeOf } from './fat-helpers.js';

const tmp = tempDir('dw-fat-err-');
after(() => tmp.cleanup());
const T = { sec: 1600000000, nsec: 0 };

function file(name: string | Buffer, data = 'x'): TreeNode {
  const d = Buffer.from(data);
  return { name: Buffer.isBuffer(name) ? name : Buffer.from(name), kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: T, atime: T, ctime: T, xattrs: [], size: d.length, content: { kind: 'bytes', data: d } };
}
function treeWith(...kids: TreeNode[]): Tree {
  const root = newDir(Buffer.alloc(0), T);
  root.children = kids.sort((a, b) => Buffer.compare(a.name, b.name));
  return { root };
}
function fails(tree: Tree, code: string, re: RegExp, over = {}): void {
  assert.throws(() => fatHandler.plan(tree, fatContext(over)), (e: unknown) => {
    assert.ok(e instanceof DiskwrightError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });
}

test('fat: names that differ only in case or trailing dots clash, naming both', () => {
  fails(treeWith(file('Readme.txt'), file('README.TXT')), 'E_FAT_NAME_CLASH', /\/README\.TXT and \/Readme\.txt/);
  fails(treeWith(file('notes'), file('notes.')), 'E_FAT_NAME_CLASH', /\/notes and \/notes\./);
  fails(treeWith(file('a b'), file('a b  ')), 'E_FAT_NAME_CLASH', /a b/);
  fails(treeWith(file('Ärger'), file('äRGER')), 'E_FAT_NAME_CLASH', /Ärger/);
  // One unit maps to one: 'ß' and 'ss' are different names on FAT.
  assert.doesNotThrow(() => fatHandler.plan(treeWith(file('straße'), file('strasse')), fatContext()));
});

test('fat: bad names, symlinks, devices and huge files are errors naming the path', () => {
  fails(treeWith(file(Buffer.from([0x66, 0xff, 0x6f]))), 'E_FAT_NAME', /not valid UTF-8/);
  fails(treeWith(file('what?')), 'E_FAT_NAME', /\/what\?.*cannot contain "\?"/);
  fails(treeWith(file('...')), 'E_FAT_NAME', /only of dots/);
  fails(treeWith(file('y'.repeat(256))), 'E_FAT_NAME', /at most 255/);
  const big = file('huge.iso');
  big.size = 4 * 1024 ** 3;
  big.content = { kind: 'file', path: '/nonexistent', offset: 0, size: big.size, fileSize: big.size };
  fails(treeWith(big), 'E_FAT_FILE_TOO_BIG', /\/huge\.iso: 4294967296 bytes/);
  const src = join(tmp.dir, 'links');
  mkdirSync(join(src, 'd'), { recursive: true });
  writeFileSync(join(src, 'd', 'target'), 'x');
  symlinkSync('target', join(src, 'd', 'link'));
  fails(treeOf(src), 'E_FAT_UNSUPPORTED', /\/d\/link: a symlink cannot be stored/);
});

test('fat: a directory past 65536 entries is an error; a file of 4 GiB - 1 is planned', () => {
  const many = Array.from({ length: 17000 }, (_, i) => file(`a long name that needs three entries ${String(i).padStart(6, '0')}`));
  fails(treeWith(many[0]!, ...many.slice(1)), 'E_FAT_DIR_TOO_BIG', /^partitions\[0\]: \/: the directory needs \d+ entries/);
  const max = file('max.bin');
  max.size = 0xffffffff;
  max.content = { kind: 'file', path: '/nonexistent', offset: 0, size: max.size, fileSize: max.size };
  const { volume, info } = fatHandler.plan(treeWith(max), fatContext({ fat: { fatSize: 32 } }));
  assert.equal(info.details?.clusterSize, 4096); // mkfs.fat's FAT32 table: 4 KiB clusters up to 8 GiB
  assert.ok(volume.size > 0xffffffff);
  const data = volume.extents.find((e) => e.source.kind === 'file');
  assert.equal(data?.length, 0xffffffff);
});

test('fat: a fixed size too small fails before writing, naming the bytes needed; bad options are named', () => {
  fails(treeWith(file('a', 'x'.repeat(100000))), 'E_FAT_NO_SPACE', /needs at least \d+ bytes/, { size: 65536 });
  fails(treeWith(file('a')), 'E_FAT_NO_SPACE', /too few for FAT32/, { size: 8 << 20, fat: { fatSize: 32 } });
  fails(treeWith(file('a')), 'E_FAT_LABEL', /bad FAT label/, { label: 'way too long label' });
  fails(treeWith(file('a')), 'E_FAT_VOLUME_ID', /XXXX-XXXX/, { fsUuid: 'nope' });
  fails(treeWith(file('a')), 'E_FAT_CLUSTER', /power of two/, { fat: { clusterSize: 3000 } });
});

test('fat: explicit cluster size, label case and the volume id from the seed', () => {
  const r = fatHandler.plan(treeWith(file('a')), fatContext({ label: 'esp', fat: { clusterSize: 4096 } }));
  assert.equal(r.info.details?.clusterSize, 4096);
  assert.equal(r.info.label, 'ESP');
  const a = fatHandler.plan(treeWith(file('a')), fatContext({ name: 'one' })).info.uuid;
  const b = fatHandler.plan(treeWith(file('a')), fatContext({ name: 'two' })).info.uuid;
  assert.match(String(a), /^[0-9A-F]{4}-[0-9A-F]{4}$/);
  assert.notEqual(a, b);
});
