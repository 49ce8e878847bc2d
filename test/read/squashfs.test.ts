/**
 * The squashfs reader through the CLI (issue 11), against squashfs-tools: images written by
 * diskwright (gzip, zstd) and by `mksquashfs -xattrs` (gzip, xz, zstd, lz4). `extract` (to a
 * directory and to a tar unpacked by GNU tar) equals what `unsquashfs -d` extracts and the source
 * tree, metadata included (contents, modes, owners, mtimes, links, devices, xattrs); `ls -l -R`
 * agrees with `unsquashfs -lln` line by line; `diff` of two images that differ in one file names it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildTree } from '../../src/tree/build.js';
import type { Tree } from '../../src/tree/model.js';
import { compareTreeToDir, type CompareOptions } from '../helpers/compare-tree.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { runBounded, transpileCli, type BoundedRun } from './fast-cli.js';
import { build } from './fixtures.js';
import { posixTree } from './posix-tree.js';

const { dir, cleanup } = tempDir('dw-readsquashfs-');
after(cleanup);
let main = '';
let src = '';
const img: Record<string, string> = {};

async function dw(args: string[], expect = 0): Promise<BoundedRun> {
  const r = await runBounded(main, args, { timeoutMs: 120_000, heapMiB: 512, env: { TZ: 'UTC' } }, dir);
  assert.equal(r.status, expect, `diskwright ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r;
}

const treeOf = (path: string): Tree => buildTree([{ source: path, target: '/', owners: 'host' }], { baseDir: '/', epoch: undefined, specPath: 'contents' });
/** squashfs keeps seconds; the root's own times differ between tools (mksquashfs stamps it). */
const SQUASHFS: CompareOptions = { timeGranularityNs: 1e9, rootMetadata: false };

before(async () => {
  main = await transpileCli(join(dir, 'cli'));
  src = posixTree(dir);
  for (const comp of ['gzip', 'xz', 'zstd', 'lz4']) {
    img[`mksquashfs-${comp}`] = join(dir, `mk-${comp}.sqfs`);
    runOk('mksquashfs', [src, img[`mksquashfs-${comp}`]!, '-comp', comp, '-xattrs', '-noappend', '-quiet', '-no-progress']);
  }
  for (const comp of ['gzip', 'zstd']) {
    img[`ours-${comp}`] = join(dir, `ours-${comp}.sqfs`);
    await build({ name: `sq-${comp}`, seed: 'sq', table: 'none', partitions: [{ filesystem: 'squashfs', squashfs: { compression: comp }, contents: [{ source: src, target: '/', owners: 'host' }] }] }, img[`ours-${comp}`]!);
  }
});

for (const which of ['mksquashfs-gzip', 'mksquashfs-xz', 'mksquashfs-zstd', 'mksquashfs-lz4', 'ours-gzip', 'ours-zstd']) {
  test(`squashfs (${which}): extract to a directory and a tar equals unsquashfs -d and the source tree`, async () => {
    const ref = join(dir, `ref-${which}`);
    runOk('unsquashfs', ['-q', '-n', '-d', ref, img[which]!]);
    const out = join(dir, `x-${which}`);
    await dw(['extract', img[which]!, '/', '-o', out, '-q']);
    assert.deepEqual(compareTreeToDir(treeOf(ref), out, SQUASHFS), [], `${which}: against unsquashfs -d`);
    assert.deepEqual(compareTreeToDir(treeOf(src), out, SQUASHFS), [], `${which}: against the source`);
    const tar = join(dir, `x-${which}.tar`);
    await dw(['extract', img[which]!, '/', '-o', tar, '-q']);
    const untar = join(dir, `t-${which}`);
    mkdirSync(untar);
    runOk('tar', ['-x', '-p', '--xattrs', '--xattrs-include=*', '--numeric-owner', '-f', tar, '-C', untar]);
    assert.deepEqual(compareTreeToDir(treeOf(ref), untar, SQUASHFS), [], `${which}: tar against unsquashfs -d`);
  });
}

/** `unsquashfs -lln` and `ls -l -R` lines as (mode, uid, gid, size or device, time to the minute, path [-> target]); directory sizes left out (unsquashfs shows the listing's bytes). */
function normalise(line: string, ours: boolean): string {
  const m = ours
    ? /^(\S{10}) +\d+ +(\d+) +(\d+) +(\d+|\d+, *\d+) (\d{4}-\d\d-\d\d \d\d:\d\d):\d\d (.*)$/.exec(line)
    : /^(\S{10}) (\d+)\/(\d+) +(\d+|\d+, *\d+) (\d{4}-\d\d-\d\d \d\d:\d\d) squashfs-root\/(.*)$/.exec(line);
  assert.ok(m, `unexpected listing line: ${line}`);
  const [, mode, uid, gid, size, time, path] = m;
  return [mode, uid, gid, mode!.startsWith('d') ? '-' : size!.replace(/ /g, ''), time, path].join(' ');
}

for (const which of ['mksquashfs-xz', 'ours-zstd']) {
  test(`squashfs (${which}): ls -l -R agrees with unsquashfs -lln`, async () => {
    const ref = runOk('unsquashfs', ['-lln', img[which]!]).split('\n').filter((l) => l.includes('squashfs-root/')).map((l) => normalise(l, false));
    const ours = (await dw(['ls', '-l', '-R', img[which]!, '/'])).stdout.split('\n').filter(Boolean).map((l) => normalise(l, true));
    assert.ok(ref.length > 20);
    assert.deepEqual(ours.sort(), ref.sort());
  });
}

test('squashfs: diff of two images that differ in one file names exactly it', async () => {
  const other = join(dir, 'posix-other');
  runOk('cp', ['-a', src, other]);
  writeFileSync(join(other, 'etc/os-release'), 'ID=changed\n');
  runOk('touch', ['-d', '2021-03-04 05:06:07', join(other, 'etc/os-release')]);
  const b = join(dir, 'other.sqfs');
  runOk('mksquashfs', [other, b, '-comp', 'gzip', '-xattrs', '-noappend', '-quiet', '-no-progress']);
  const r = await dw(['diff', img['mksquashfs-gzip']!, b], 1);
  const files = r.stdout.split('\n').filter((l) => /^[-+~!MADC ]*\/?\S/.test(l) && l.includes('/'));
  assert.match(r.stdout, /etc\/os-release/);
  assert.deepEqual(files.filter((l) => !l.includes('etc/os-release') && !/sha256/.test(l)), [], r.stdout);
});
