/**
 * The Joliet tree read by osirrox with `-read_fs norock` (and by isoinfo -J): UCS-2 names, at most 64
 * characters, unique in each directory, names that Joliet can hold kept as they are, every file
 * there with its content; the supplementary volume descriptor found.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir, runOk } from '../helpers/tools.js';
import { buildIso, isoinfoD, isoinfoListing, treeOf, xorrisoClean } from './iso-helpers.js';

const tmp = tempDir('dw-iso-joliet-');
after(() => tmp.cleanup());

const FILES: Record<string, string> = {
  'readme.txt': 'plain',
  'README.TXT': 'upper',
  [`${'L'.repeat(70)}-one.txt`]: 'long one',
  [`${'L'.repeat(70)}-two.txt`]: 'long two',
  'a:b': 'colon becomes underscore',
  'a_b': 'already an underscore',
  'ünïcødé 日本語.txt': 'unicode in UCS-2',
  '😀 outside UCS-2.txt': 'astral plane',
  'semi;colon?star*.txt': 'forbidden characters',
  [`sub/${'D'.repeat(80)}/x`]: 'long directory name',
  'sub/deeper/still/deeper/and/deeper/than/eight/levels/f': 'Joliet is not relocated',
  'no-extension': 'no dot',
};

test('joliet: names, lengths, uniqueness and contents as osirrox reads them', async () => {
  const src = join(tmp.dir, 'src');
  for (const [p, data] of Object.entries(FILES)) {
    mkdirSync(join(src, p, '..'), { recursive: true });
    writeFileSync(join(src, p), data);
  }
  const img = join(tmp.dir, 'j.iso');
  await buildIso(treeOf(src), img, { iso: { joliet: true } });
  xorrisoClean(img);
  assert.ok(isoinfoD(img).has('Joliet with UCS level 3 found'));

  // -read_fs norock loads the Joliet tree (it must come before the image is loaded).
  const found = runOk('osirrox', ['-read_fs', 'norock', '-indev', img, '-find', '/', '-type', 'f'])
    .split('\n').filter((l) => l.startsWith("'/")).map((l) => l.slice(1, -1));
  assert.equal(found.length, Object.keys(FILES).length, found.join('\n'));
  for (const path of found) for (const part of path.split('/').slice(1)) assert.ok([...part].length <= 64, `${part}: at most 64 characters`);
  assert.equal(new Set(found).size, found.length);
  // Names Joliet can hold stay as they are; the one that `a:b` becomes is taken by `a_b` itself.
  for (const keep of ['readme.txt', 'README.TXT', 'a_b', 'ünïcødé 日本語.txt', 'no-extension', 'sub/deeper/still/deeper/and/deeper/than/eight/levels/f']) assert.ok(found.includes(`/${keep}`), keep);
  assert.ok(found.includes('/a_b1'), 'a:b becomes a_b, taken, so a_b1');
  assert.ok(found.includes('/semi_colon_star_.txt'));
  assert.ok(found.includes('/_ outside UCS-2.txt'));
  const longs = found.filter((f) => f.startsWith('/LLL'));
  assert.equal(longs.length, 2);
  for (const l of longs) assert.ok(l.endsWith('.txt') && [...l.slice(1)].length === 64, l);
  assert.ok(found.some((f) => f.startsWith(`/sub/${'D'.repeat(64)}/x`)));

  // The Joliet tree's files hold the same bytes.
  const out = join(tmp.dir, 'jout');
  runOk('osirrox', ['-read_fs', 'norock', '-indev', img, '-extract', '/', out]);
  const hashes = (dir: string): string[] => {
    const acc: string[] = [];
    const rec = (d: string): void => { for (const n of readdirSync(d)) { const p = join(d, n); if (statSync(p).isDirectory()) rec(p); else acc.push(createHash('sha256').update(readFileSync(p)).digest('hex')); } };
    rec(dir);
    return acc.sort();
  };
  assert.deepEqual(hashes(out), hashes(src));
  assert.equal(readFileSync(join(out, 'a_b1'), 'utf8'), 'colon becomes underscore');

  // isoinfo -J lists the same names (without version, as xorriso writes them).
  const j = isoinfoListing(img, ['-J']);
  assert.ok(j.some((e) => e.dir === '/' && e.name === 'readme.txt'));
  assert.ok(j.some((e) => e.dir === '/' && e.name === 'sub' && e.flags === '02'));
});
