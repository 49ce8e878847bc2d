/**
 * FAT images judged by the reference tools: fsck.fat -n -V clean, mcopy -s extraction equal to the
 * source (names, content, 2 s times), minfo agreeing on label, volume id and geometry, double builds
 * identical.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '../helpers/tools.js';
import { assertSameTree, buildFat, extract, fsckClean, minfo, mtools, treeOf } from './fat-helpers.js';

const tmp = tempDir('dw-fat-');
after(() => tmp.cleanup());
let n = 0;
const fresh = (name: string): string => { const d = join(tmp.dir, `${name}-${n++}`); mkdirSync(d, { recursive: true }); return d; };

function put(root: string, rel: string, data: string | Buffer, mtime = 1600000001): void {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, data);
  utimesSync(p, mtime, mtime);
}

/** A tree with every naming case: 8.3 in both cases, mixed case, long, Unicode, 8.3-forbidden characters, dot files. */
function oddNames(root: string): void {
  put(root, 'README.TXT', 'upper\n');
  put(root, 'readme.md', 'lower\n');
  put(root, 'Makefile', 'mixed\n');
  put(root, 'vmlinuz', Buffer.alloc(5000, 7));
  put(root, 'A Very Long File Name With Spaces.document', 'long\n');
  put(root, 'ünïcødé — ✓ 日本語.txt', 'unicode\n');
  // Names outside the BMP (UTF-16 surrogate pairs) are stored correctly but mtools 4.0 prints each
  // surrogate as '_', so they are covered by a golden-bytes test (structs.test.ts) instead.
  put(root, ' leading space', 'lead\n');
  put(root, 'UPPER.lower', 'base upper, long ext\n');
  put(root, 'Ab', 'short mixed\n');
  put(root, 'plus+comma,semi;eq=[brackets].x', 'odd\n');
  put(root, '.dotfile', 'dot\n');
  put(root, 'multi.dots.in.name.tar.gz', 'dots\n');
  put(root, 'x'.repeat(255), 'max\n');
  put(root, 'old-1970', 'old\n', 86400);
  put(root, 'future', 'future\n', 2000000000);
  put(root, 'odd-second', 'odd\n', 1500000001);
  put(root, 'empty', '');
  put(root, 'EFI/BOOT/BOOTX64.EFI', Buffer.alloc(70000, 0x4d));
  put(root, 'loader/entries/diskwright.conf', 'title x\n');
  for (let i = 0; i < 40; i++) put(root, `LongPrefix_${i}.txt`, `${i}\n`);
  for (let i = 0; i < 12; i++) put(root, `LONGPR~${i}.TXT`, `exact ${i}\n`);
}

async function roundTrip(src: string, over: Parameters<typeof buildFat>[2] = {}, expectType?: number): Promise<{ img: string; info: Awaited<ReturnType<typeof buildFat>> }> {
  const img = join(tmp.dir, `img-${n++}.img`);
  const info = await buildFat(treeOf(src), img, over);
  if (expectType) assert.equal(info.details?.fatType, expectType);
  fsckClean(img);
  const out = fresh('out');
  extract(img, out);
  assertSameTree(src, out);
  return { img, info };
}

test('fat: odd names round-trip on FAT12, FAT16 and FAT32', async () => {
  const src = fresh('odd');
  oddNames(src);
  await roundTrip(src, {}, 12);
  await roundTrip(src, { fat: { fatSize: 16 } }, 16);
  const { img, info } = await roundTrip(src, { fat: { fatSize: 32 } }, 32);
  const m = minfo(img);
  assert.equal(m.get('disk label'), 'TESTFAT    ');
  assert.equal(m.get('disk type'), 'FAT32   ');
  assert.equal(m.get('serial number'), String(info.uuid).replace('-', ''));
  assert.equal(m.get('sector size'), '512 bytes');
  assert.equal(m.get('cluster size'), `${Number(info.details?.clusterSize) / 512} sectors`);
  assert.equal(m.get('fats'), '2');
  assert.equal(m.get('backup boot sector'), '6');
  assert.equal(m.get('infoSector location'), '1');
  // The label is also the root's volume-label entry.
  const dir = mtools('mdir', ['-i', img, '::']);
  assert.match(dir, /Volume in drive : is TESTFAT/);
});

test('fat: empty tree, each FAT type, no label; explicit volume id wins', async () => {
  const src = fresh('empty');
  for (const fatSize of [12, 16, 32] as const) {
    const { img, info } = await roundTrip(src, { label: undefined, fsUuid: '1234-ABCD', fat: { fatSize } }, fatSize);
    assert.equal(info.uuid, '1234-ABCD');
    const m = minfo(img);
    assert.equal(m.get('serial number'), '1234ABCD');
    assert.equal(m.get('disk label'), 'NO NAME    ');
  }
});

test('fat: deep tree and a directory of thousands of long names', async () => {
  const src = fresh('big');
  let deep = 'd';
  for (let i = 0; i < 40; i++) deep += `/Level ${i}`;
  put(src, `${deep}/leaf.txt`, 'deep\n');
  for (let i = 0; i < 3000; i++) put(src, `many/Some rather long file name number ${i}.data`, `${i}`);
  for (let i = 0; i < 600; i++) put(src, `root-file-${i}.bin`, Buffer.alloc(i * 37, i & 0xff));
  // FAT16: fsck.fat and a full listing (mdir -/ -b prints every path); FAT32: the full round trip.
  const img = join(tmp.dir, 'big16.img');
  const info = await buildFat(treeOf(src), img);
  assert.equal(info.details?.fatType, 16);
  fsckClean(img);
  const listed = mtools('mdir', ['-/', '-b', '-i', img, '::']).split('\n').filter((l) => l.trim() !== '');
  assert.equal(listed.length, 3000 + 600 + 1 + 41 + 1, 'every file and directory listed (files, leaf, d + 40 levels, many)');
  assert.ok(listed.includes('::/many/Some rather long file name number 2999.data'));
  await roundTrip(src, { fat: { fatSize: 32 } }, 32);
});

test('fat: a volume filled to the last cluster, fixed sizes, 4 KiB sectors', async () => {
  const src = fresh('full');
  oddNames(src);
  const img = join(tmp.dir, 'auto.img');
  const auto = await buildFat(treeOf(src), img, { fat: { fatSize: 16 } });
  assert.equal(auto.details?.clusters, Math.max(4085, Number(auto.details?.usedClusters)));
  // Auto size with no forced type is exact: every cluster used.
  const a2 = await roundTrip(src);
  assert.equal(a2.info.details?.clusters, a2.info.details?.usedClusters);
  await roundTrip(src, { size: 64 << 20 }, 16);
  await roundTrip(src, { size: 300 << 20, fat: { fatSize: 32 } }, 32);
  await roundTrip(src, { extraSpace: 1 << 20 });
  await roundTrip(src, { sectorSize: 4096, fat: { fatSize: 32 } }, 32);
  await roundTrip(src, { sectorSize: 4096 });
});

test('fat: double builds are identical, independent of creation order and time zone', async () => {
  const a = fresh('orderA');
  const b = fresh('orderB');
  const names = Array.from({ length: 200 }, (_, i) => `File Number ${i}.txt`);
  for (const x of names) put(a, x, x);
  for (const x of [...names].reverse()) put(b, x, x);
  utimesSync(a, 1600000000, 1600000000);
  utimesSync(b, 1600000000, 1600000000);
  const i1 = join(tmp.dir, 'd1.img'), i2 = join(tmp.dir, 'd2.img'), i3 = join(tmp.dir, 'd3.img');
  await buildFat(treeOf(a), i1);
  await buildFat(treeOf(a), i2);
  await buildFat(treeOf(b), i3);
  assert.ok(readFileSync(i1).equals(readFileSync(i2)), 'same tree, same bytes');
  assert.ok(readFileSync(i1).equals(readFileSync(i3)), 'readdir order does not matter');
  // FAT times are written in UTC whatever the host's time zone.
  const savedTz = process.env.TZ;
  process.env.TZ = 'Pacific/Kiritimati';
  try {
    const i4 = join(tmp.dir, 'd4.img');
    await buildFat(treeOf(a), i4);
    assert.ok(readFileSync(i1).equals(readFileSync(i4)), 'the time zone does not matter');
  } finally {
    if (savedTz === undefined) delete process.env.TZ; else process.env.TZ = savedTz;
  }
});
