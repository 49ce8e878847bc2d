/**
 * zisofs (`iso9660: { zisofs: true }`): xorriso recognises the compressed files (its stream
 * report shows the zisofs decoder, as for its own `--zisofs` files) and osirrox reads every file
 * back transparently; files that do not shrink stay plain; the stored bytes start with the zisofs
 * header and block pointer table; compressing on the workers gives the same bytes every time.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compareTreeToDir } from '../helpers/compare-tree.js';
import { prng } from '../helpers/prng.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { buildIso, extract, isoinfoListing, treeOf, xorrisoClean } from './iso-helpers.js';

const tmp = tempDir('dw-iso-zisofs-');
after(() => tmp.cleanup());

test('zisofs: compressed files read back transparently, incompressible ones stay plain', async () => {
  const rand = prng('iso-zisofs');
  const src = join(tmp.dir, 'src');
  mkdirSync(join(src, 'dir'), { recursive: true });
  const text = (lines: number, tag: string): string => Array.from({ length: lines }, (_, i) => `${tag} line ${i}: ${i * 7919 % 1000}\n`).join('');
  writeFileSync(join(src, 'text.txt'), text(20000, 'text'));
  // Over 1 MiB: several jobs of 32 blocks on the workers.
  writeFileSync(join(src, 'dir/big.txt'), text(150000, 'big'));
  // Blocks of zeros are stored as nothing; the last block is short.
  writeFileSync(join(src, 'zeros.bin'), Buffer.concat([Buffer.alloc(40000, 0x61), Buffer.alloc(200000), Buffer.alloc(12345, 0x62)]));
  writeFileSync(join(src, 'random.bin'), rand.bytes(100000));
  writeFileSync(join(src, 'tiny.txt'), 'hi\n');
  writeFileSync(join(src, 'empty'), '');
  linkSync(join(src, 'text.txt'), join(src, 'dir/text-link.txt'));
  const tree = treeOf(src);
  const img = join(tmp.dir, 'z.iso');
  const info = await buildIso(tree, img, { iso: { zisofs: true, joliet: true } });
  assert.equal(info.details?.zisofsFiles, 3);
  xorrisoClean(img);

  const streams = runOk('xorriso', ['-indev', img, '-find', '/', '-type', 'f', '-exec', 'show_stream', '--']);
  const decoded = (p: string): boolean => new RegExp(`^'${p}' < --zisofs-decode:pz:32k < image:'${p}'$`, 'm').test(streams);
  for (const p of ['/text.txt', '/dir/big.txt', '/zeros.bin', '/dir/text-link.txt']) assert.ok(decoded(p), `${p} is zisofs:\n${streams}`);
  for (const p of ['/random.bin', '/tiny.txt', '/empty']) assert.ok(!decoded(p) && streams.includes(`'${p}'`), `${p} is plain:\n${streams}`);

  const out = join(tmp.dir, 'out');
  extract(img, out);
  assert.deepEqual(compareTreeToDir(tree, out, { timeGranularityNs: 1e9, xattrs: false, rootMetadata: false }), []);

  // The stored bytes: compressed sizes in the plain tree's records, the zisofs header in front.
  const plain = isoinfoListing(img);
  const rec = (name: string): { size: number; lba: number } => plain.find((e) => e.name === name)!;
  assert.equal(rec('RANDOM.BIN;1').size, 100000);
  const t = rec('TEXT.TXT;1');
  const size = Buffer.byteLength(text(20000, 'text'));
  assert.ok(t.size < size / 3, `compressed ${t.size} of ${size}`);
  const head = Buffer.alloc(16 + 4 * (Math.ceil(size / 32768) + 1));
  const fd = openSync(img, 'r');
  try { readSync(fd, head, 0, head.length, t.lba * 2048); } finally { closeSync(fd); }
  assert.equal(head.subarray(0, 8).toString('hex'), '37e45396c9dbd607');
  assert.equal(head.readUInt32LE(8), size);
  assert.deepEqual([head[12], head[13], head[14], head[15]], [4, 15, 0, 0]);
  assert.equal(head.readUInt32LE(16), head.length, 'the first block follows the pointer table');
  assert.equal(head.readUInt32LE(head.length - 4), t.size, 'the last pointer is the end of the data');
  // The hard link shares the compressed extent.
  const links = isoinfoListing(img, ['-R']).filter((e) => e.name === 'text.txt' || e.name === 'text-link.txt');
  assert.deepEqual(links.map((l) => l.lba), [t.lba, t.lba]);

  // The same bytes again (worker scheduling does not show).
  const again = join(tmp.dir, 'z2.iso');
  await buildIso(treeOf(src), again, { iso: { zisofs: true, joliet: true } });
  const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
  assert.equal(sha(again), sha(img));
});
