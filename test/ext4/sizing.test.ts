/**
 * ext4 sizing and options: auto size is snug, fixed sizes that are too small fail before writing with
 * the bytes needed, and every option shows in dumpe2fs; many groups and flex groups stay e2fsck clean.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildImage } from '../../src/build.js';
import { DiskwrightError } from '../../src/errors.js';
import { ext4Handler } from '../../src/fs/ext4/index.js';
import { compareTreeToDir } from '../helpers/compare-tree.js';
import { needsRoot } from '../helpers/root.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { assertFsckClean, buildExt4, ctxFor, dumpe2fsHeader, EPOCH, treeOf, withMount } from './ext4-helpers.js';

const tmp = tempDir('dw-ext4z-');
after(() => tmp.cleanup());

function sample(name: string, files = 30, size = 20000): string {
  const src = join(tmp.dir, name);
  for (let i = 0; i < files; i++) {
    mkdirSync(join(src, `d${i % 4}`), { recursive: true });
    writeFileSync(join(src, `d${i % 4}`, `f${i}`), Buffer.alloc(size + i, i));
  }
  return src;
}

test('a fixed size that is too small fails before writing, naming the bytes needed, and leaves no file; that size works', async () => {
  const src = sample('small', 40, 300000);
  const tree = treeOf(src);
  // The build's real output path, alone in its directory: a temporary file would show up beside it.
  const outDir = join(tmp.dir, 'too-small');
  mkdirSync(outDir);
  const out = join(outDir, 'root.img');
  const spec = (size: number): Record<string, unknown> => ({
    table: 'none', sourceDateEpoch: EPOCH, partitions: [{ name: 'root', filesystem: 'ext4', size, contents: [{ source: src, target: '/' }] }],
  });
  let err: unknown;
  try { await buildImage(spec(8 * 2 ** 20), { output: out }); } catch (e) { err = e; }
  assert.ok(err instanceof DiskwrightError, String(err));
  assert.equal(err.code, 'E_TOO_SMALL');
  assert.equal(err.path, 'partitions[0].size');
  const need = Number(/needs at least (\d+) bytes/.exec(err.message)?.[1]);
  assert.ok(need > 12 * 2 ** 20, err.message);
  assert.deepEqual(readdirSync(outDir), [], 'neither the output nor a temporary file exists');
  // The same spec and path at the size the error named: written there, e2fsck clean.
  const r = await buildImage(spec(need), { output: out });
  assert.equal(r.output, out);
  assert.equal(statSync(out).size, need);
  assert.deepEqual(readdirSync(outDir), ['root.img']);
  assertFsckClean(out);
  assert.throws(() => ext4Handler.plan(tree, ctxFor({ size: need - 4096 * 64 })), /E_TOO_SMALL|too small/);
});

test('options: 1 KiB and 2 KiB blocks, no journal, journal size, inode count, bytes per inode, reserved percent', async () => {
  const src = sample('opts');
  const tree = treeOf(src);
  const cases: { o: Parameters<typeof buildExt4>[2]; expect: Record<string, string | RegExp> }[] = [
    { o: { ext4: { blockSize: 1024 } }, expect: { 'Block size': '1024', 'First block': '1' } },
    { o: { ext4: { blockSize: 2048 }, size: 64 * 2 ** 20 }, expect: { 'Block size': '2048', 'Block count': '32768' } },
    { o: { ext4: { journal: false }, size: 64 * 2 ** 20 }, expect: { 'Filesystem features': /^ext_attr resize_inode dir_index filetype extent 64bit flex_bg/ } },
    { o: { ext4: { journalSize: '8MiB' }, size: 64 * 2 ** 20 }, expect: { 'Total journal size': '8M' } },
    { o: { ext4: { inodeCount: 5000 }, size: 64 * 2 ** 20 }, expect: { 'Inode count': '5008' } },
    { o: { ext4: { bytesPerInode: 4096 }, size: 64 * 2 ** 20 }, expect: { 'Inode count': '16384' } },
    { o: { ext4: { reservedPercent: 0 }, size: 64 * 2 ** 20 }, expect: { 'Reserved block count': '0' } },
    { o: { size: 64 * 2 ** 20 }, expect: { 'Reserved block count': '819', 'Total journal size': '4096k', 'Flex block group size': '16' } },
    { o: { ext4: { hashSeed: '11111111-2222-4333-8444-555555555555' } }, expect: { 'Directory Hash Seed': '11111111-2222-4333-8444-555555555555' } },
  ];
  let i = 0;
  for (const c of cases) {
    const img = join(tmp.dir, `opt-${i++}.img`);
    await buildExt4(tree, img, c.o);
    assertFsckClean(img);
    const h = dumpe2fsHeader(img);
    for (const [k, v] of Object.entries(c.expect)) {
      if (typeof v === 'string') assert.equal(h.get(k), v, `${JSON.stringify(c.o)}: ${k}`);
      else assert.match(h.get(k) ?? '', v, `${JSON.stringify(c.o)}: ${k}`);
    }
  }
});

test('many groups and several flex groups: 1 KiB blocks over 300 MiB, 4 KiB blocks over 3 GiB', { skip: needsRoot('loop mount') }, async () => {
  const src = sample('groups', 12, 3 * 2 ** 20);
  const tree = treeOf(src);
  for (const [blockSize, size] of [[1024, 300 * 2 ** 20], [4096, 3 * 2 ** 30]] as const) {
    const img = join(tmp.dir, `groups-${blockSize}.img`);
    const r = await buildExt4(tree, img, { size, ext4: { blockSize } });
    assert.ok((r.info.details!.groups as number) > 16, `${r.info.details!.groups} groups`);
    assertFsckClean(img);
    await withMount(img, join(tmp.dir, `mnt-groups-${blockSize}`), (dir) => {
      assert.deepEqual(compareTreeToDir(tree, dir, { ignore: ['/lost+found'] }), []);
    });
  }
  // Auto size with 1 KiB blocks: files cross backup superblocks, so they take several extents.
  const img = join(tmp.dir, 'groups-auto-1k.img');
  await buildExt4(tree, img, { ext4: { blockSize: 1024 } });
  assertFsckClean(img);
  assert.match(runOk('debugfs', ['-R', 'ex /d0/f0', img]), /Level Entries/);
});

test('bad options are refused with their spec path', () => {
  const tree = treeOf(sample('bad', 1, 10));
  const bad: [Parameters<typeof ctxFor>[0], string][] = [
    [{ ext4: { blockSize: 8192 as 4096 } }, 'partitions[0].ext4.blockSize'],
    [{ ext4: { inodeSize: 128 } }, 'partitions[0].ext4.inodeSize'],
    [{ label: 'a-label-longer-than-16' }, 'partitions[0].label'],
    [{ fsUuid: 'not-a-uuid' }, 'partitions[0].fsUuid'],
    [{ ext4: { inodeCount: 5 } }, 'partitions[0].ext4.inodeCount'],
    [{ ext4: { reservedPercent: 80 } }, 'partitions[0].ext4.reservedPercent'],
  ];
  for (const [o, path] of bad) {
    assert.throws(() => ext4Handler.plan(tree, ctxFor(o)), (e: unknown) => e instanceof DiskwrightError && e.path === path, path);
  }
});

test('a 1 TiB filesystem is planned in bounded memory and written sparse', async () => {
  const tree = treeOf(sample('tib', 3, 1000));
  const img = join(tmp.dir, 'tib.img');
  const before = process.memoryUsage().rss;
  const r = await buildExt4(tree, img, { size: 2 ** 40, hash: false });
  assert.equal(r.info.details!.groups, 8192);
  assert.ok(process.memoryUsage().rss - before < 200 * 2 ** 20, 'planning 1 TiB must not allocate per-block memory');
  const du = Number(runOk('du', ['-B1', img]).split('\t')[0]);
  assert.ok(du < 64 * 2 ** 20, `${du} bytes allocated on disk for an almost empty 1 TiB image`);
  assertFsckClean(img);
  assert.equal(dumpe2fsHeader(img).get('Block count'), String(2 ** 28));
});

test('a lost+found directory in the tree becomes inode 11 with its contents', { skip: needsRoot('loop mount') }, async () => {
  const src = join(tmp.dir, 'lpf');
  mkdirSync(join(src, 'lost+found'), { recursive: true });
  writeFileSync(join(src, 'lost+found', 'kept'), 'kept\n');
  writeFileSync(join(src, 'z'), 'z\n');
  const tree = treeOf(src);
  const img = join(tmp.dir, 'lpf.img');
  await buildExt4(tree, img);
  assertFsckClean(img);
  assert.match(runOk('debugfs', ['-R', 'ls -l /', img]), /^\s*11\s+40755.*lost\+found/m);
  await withMount(img, join(tmp.dir, 'mnt-lpf'), (dir) => {
    assert.deepEqual(compareTreeToDir(tree, dir), []);
  });
});
