/**
 * A file of more than 4 GiB (ECMA-119 level 3): recorded as several extents of less than 4 GiB,
 * all records but the last flagged multi-extent, in both trees; osirrox reads it back equal; its
 * holes stay holes in the image.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, statSync, writeSync, ftruncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { prng } from '../helpers/prng.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { buildIso, isoinfoListing, sameSparseFiles, treeOf, xorrisoClean } from './iso-helpers.js';

const tmp = tempDir('dw-iso-big-');
after(() => tmp.cleanup());

/** Just over 4 GiB: reading holes costs time (the plan scans the file once, osirrox reads the image once). */
const SIZE = 0xfffff800 + (3 << 20) + 12345;
/** libisofs' extent size: 4 GiB less one sector. */
const SECTION = 0xfffff800;

test('multi-extent: a sparse 4.5 GiB file in two extents, read back equal', async () => {
  const src = join(tmp.dir, 'src');
  mkdirSync(src);
  const rand = prng('iso-big');
  const big = join(src, 'big.bin');
  const fd = openSync(big, 'w');
  try {
    ftruncateSync(fd, SIZE);
    // Data at the start, across the boundary between the two extents, and at the very end.
    for (const at of [0, SECTION - 3000, SIZE - 7000]) writeSync(fd, rand.bytes(6000), 0, 6000, at);
  } finally { closeSync(fd); }
  writeFileSync(join(src, 'small.txt'), 'after the big one\n');

  const img = join(tmp.dir, 'big.iso');
  const info = await buildIso(treeOf(src), img, { iso: { joliet: true } });
  assert.ok(info.size > SIZE && info.size < SIZE + (1 << 20));
  // Holes stayed holes: the image holds little more than the data.
  assert.ok(statSync(img).blocks * 512 < 8 << 20, `image allocates ${statSync(img).blocks * 512} bytes`);

  // Both trees (Rock Ridge, then Joliet with -read_fs norock): two extents, the second right after the first.
  for (const read of [[], ['-read_fs', 'norock']]) {
    const report = read.length ? runOk('xorriso', [...read, '-indev', img, '-find', '/', '-exec', 'report_lba', '--']) : xorrisoClean(img, { checkMedia: false });
    const lba = [...report.matchAll(/^File data lba:\s+(\d+) ,\s+(\d+) ,\s+(\d+) ,\s+(\d+) , '\/big\.bin'$/gm)].map((m) => m.slice(1).map(Number));
    assert.deepEqual(lba.map((x) => [x[0], x[3]]), [[0, SIZE], [1, SIZE]], report);
    assert.equal(lba[1]![1], lba[0]![1]! + SECTION / 2048, 'the second extent follows the first');
    assert.equal(lba[0]![2]! + lba[1]![2]!, Math.ceil(SIZE / 2048));
  }
  // isoinfo shows the file once, with the size of its last extent (it lists the final record).
  const rec = isoinfoListing(img, ['-R']).filter((e) => e.name === 'big.bin');
  assert.deepEqual(rec.map((r) => [r.size, r.flags]), [[SIZE - SECTION, '00']]);

  // osirrox reads all of it (writing runs of zeros as holes); the two files are compared where
  // either holds data (elsewhere both are holes: zeros).
  const out = join(tmp.dir, 'out');
  runOk('osirrox', ['-indev', img, '-osirrox', 'on:sparse=1m', '-extract', '/', out]);
  assert.ok(sameSparseFiles(big, join(out, 'big.bin')), 'the extracted file differs from the source');
  assert.equal(statSync(join(out, 'small.txt')).size, 18);
});
