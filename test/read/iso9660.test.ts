/**
 * The ISO 9660 reader through the CLI (issue 11), against xorriso: images written by diskwright
 * (Rock Ridge with relocated deep directories, Joliet, zisofs) and by `xorriso -as mkisofs -R -J`.
 * `extract` (to a directory and to a tar unpacked by GNU tar) equals what `osirrox -extract` gives
 * and the source tree (contents, modes, owners, mtimes, links, devices; ISO 9660 as written here
 * keeps no xattrs); without Rock Ridge the Joliet names are read, as `osirrox -rockridge off
 * -joliet on -find` lists them.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildTree } from '../../src/tree/build.js';
import type { Tree } from '../../src/tree/model.js';
import { compareTreeToDir, type CompareOptions } from '../helpers/compare-tree.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { runBounded, transpileCli, type BoundedRun } from './fast-cli.js';
import { build } from './fixtures.js';
import { posixTree } from './posix-tree.js';

const { dir, cleanup } = tempDir('dw-readiso-');
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
/** Rock Ridge keeps seconds and no xattrs here; xorriso -as mkisofs records no serial numbers, so hard links are two files. */
const ISO: CompareOptions = { timeGranularityNs: 1e9, rootMetadata: false, xattrs: false };

before(async () => {
  main = await transpileCli(join(dir, 'cli'));
  src = posixTree(dir);
  img.xorriso = join(dir, 'xorriso.iso');
  runOk('xorriso', ['-as', 'mkisofs', '-R', '-J', '-quiet', '-o', img.xorriso, src]);
  img.ours = join(dir, 'ours.iso');
  await build({ name: 'iso', seed: 'iso', table: 'none', partitions: [{ filesystem: 'iso9660', iso9660: { joliet: true, zisofs: true }, contents: [{ source: src, target: '/', owners: 'host' }] }] }, img.ours);
  img.joliet = join(dir, 'joliet.iso');
  runOk('xorriso', ['-outdev', img.joliet, '-rockridge', 'off', '-joliet', 'on', '-map', src, '/']);
});

for (const which of ['xorriso', 'ours'] as const) {
  test(`ISO 9660 (${which}): extract to a directory and a tar equals osirrox -extract and the source tree`, async () => {
    const ref = join(dir, `ref-${which}`);
    runOk('osirrox', ['-indev', img[which]!, '-osirrox', 'device_files:on', '-hardlinks', 'on', '-extract', '/', ref]);
    const out = join(dir, `x-${which}`);
    await dw(['extract', img[which]!, '/', '-o', out, '-q']);
    const opts = { ...ISO, hardlinks: which === 'ours' };
    // osirrox sets no symlink times, creates no device files here and links no files of ours (it
    // does not take RRIP 1.12 serial numbers as identity): those are judged against the source.
    assert.deepEqual(compareTreeToDir(treeOf(ref), out, { ...opts, hardlinks: false, timeGranularityNs: false, ignore: ['/dev/null', '/dev/sda'] }), [], `${which}: against osirrox -extract`);
    assert.deepEqual(compareTreeToDir(treeOf(src), out, opts), [], `${which}: against the source`);
    const tar = join(dir, `x-${which}.tar`);
    await dw(['extract', img[which]!, '/', '-o', tar, '-q']);
    const untar = join(dir, `t-${which}`);
    mkdirSync(untar);
    runOk('tar', ['-x', '-p', '--numeric-owner', '-f', tar, '-C', untar]);
    assert.deepEqual(compareTreeToDir(treeOf(src), untar, opts), [], `${which}: tar against the source`);
  });
}

test('ISO 9660 without Rock Ridge: the Joliet names, as osirrox -rockridge off -joliet on -find lists them', async () => {
  const ref = runOk('osirrox', ['-indev', img.joliet!, '-rockridge', 'off', '-joliet', 'on', '-find', '/']).split('\n')
    .map((l) => l.trim().replace(/^'|'$/g, '')).filter((l) => l.startsWith('/') && l !== '/').map((l) => l.slice(1));
  const ours = (await dw(['ls', '-R', img.joliet!, '/'])).stdout.split('\n').filter(Boolean);
  assert.ok(ref.length > 20, ref.join('\n'));
  assert.deepEqual(ours.sort(), ref.sort());
});
