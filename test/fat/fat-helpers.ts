/**
 * Helpers for the FAT tests: build an image from a directory with the FAT planner, judge it with
 * fsck.fat, extract it with mtools and compare the result with the source tree (names, content,
 * mtime at 2 s resolution; FAT has no owners or modes).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { emit } from '../../src/container/emit.js';
import { fatHandler, type FatResolvedOptions } from '../../src/fs/fat/index.js';
import type { FsContext, FsInfo } from '../../src/fs/types.js';
import type { FatOptions } from '../../src/spec/types.js';
import { buildTree } from '../../src/tree/build.js';
import type { Tree } from '../../src/tree/model.js';
import { run } from '../helpers/tools.js';

export const EPOCH = 1700000000;
/** mtools: skip its geometry sanity check and show times in UTC. */
export const MTOOLS_ENV = { ...process.env, MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };

/** Context overrides; `fat` is the spec's `fat:` block, checked and resolved by the handler. */
export type FatOverrides = Partial<Omit<FsContext<FatResolvedOptions>, 'options'>> & { fat?: FatOptions };

export function fatContext(over: FatOverrides = {}): FsContext<FatResolvedOptions> {
  const { fat, ...rest } = over;
  return {
    name: 'ESP', specPath: 'partitions[0]', seed: 'fat-test-seed', epoch: EPOCH, label: 'TESTFAT',
    size: 'auto', extraSpace: 0, sectorSize: 512, ...rest, options: fatHandler.resolveOptions(fat ?? {}, 'partitions[0].fat'),
  };
}

export function treeOf(dir: string, epoch = EPOCH): Tree {
  return buildTree([{ source: dir, target: '/' }], { baseDir: '/', epoch, specPath: 'contents' });
}

export async function buildFat(tree: Tree, out: string, over: FatOverrides = {}): Promise<FsInfo> {
  const { volume, info } = fatHandler.plan(tree, fatContext(over));
  await emit(volume, out, { format: 'raw', compression: 'none', seed: 'fat-test-seed', epoch: EPOCH } as Parameters<typeof emit>[2]);
  return info;
}

/** fsck.fat -n -V: exit 0 and nothing it would fix. Returns its output. */
export function fsckClean(img: string): string {
  const r = run('fsck.fat', ['-n', '-V', img]);
  const out = r.stdout + r.stderr;
  assert.equal(r.status, 0, `fsck.fat -n -V ${img} exited ${r.status}:\n${out}`);
  assert.doesNotMatch(out, /\b(Fix|Fixing|Auto-renaming|Free cluster summary wrong|differ|corrupt|Contains a free cluster|Dirty bit)\b/i, out);
  return out;
}

/** Run an mtools command with MTOOLS_ENV; throws with its output on a non-zero exit. */
export function mtools(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: MTOOLS_ENV, maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** minfo fields as a map (`serial number`, `disk label`, `cluster size`, ...). */
export function minfo(img: string): Map<string, string> {
  const out = mtools('minfo', ['-i', img, '::']);
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.search(/[:=]/);
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim().replace(/^"|"$/g, ''));
  }
  return m;
}

/** Extract the whole image with `mcopy -s -m` (modification times kept). */
export function extract(img: string, outDir: string): void {
  mtools('mcopy', ['-s', '-m', '-n', '-i', img, '::/', outDir]);
}

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Expected FAT mtime: clamped to the epoch, the 1980 floor, then down to an even second. */
export function fatSeconds(sec: number, epoch = EPOCH): number {
  let s = Math.min(sec, epoch);
  if (s < 315532800) s = 315532800;
  return s - (s % 2);
}

interface Listed { kind: 'file' | 'dir'; size: number; hash?: string; mtime: number }

function listTree(root: string, followLinks: boolean): Map<string, Listed> {
  const out = new Map<string, Listed>();
  const rec = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.set(r, { kind: 'dir', size: 0, mtime: Math.floor(st.mtimeMs / 1000) });
        rec(p, r);
      } else if (st.isFile() || (followLinks && st.isSymbolicLink())) {
        out.set(r, { kind: 'file', size: st.size, hash: sha(p), mtime: Math.floor(st.mtimeMs / 1000) });
      } else {
        throw new Error(`unexpected node ${p}`);
      }
    }
  };
  rec(root, '');
  return out;
}

/** Compare an mtools extraction with the source directory: same names, kinds, content and 2 s times. */
export function assertSameTree(source: string, extracted: string, epoch = EPOCH, opts: { checkDirTimes?: boolean } = {}): number {
  const a = listTree(source, false);
  const b = listTree(extracted, false);
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), 'names differ between the source and the extraction');
  for (const [path, sa] of a) {
    const sb = b.get(path)!;
    assert.equal(sb.kind, sa.kind, `${path}: kind`);
    if (sa.kind === 'file') {
      assert.equal(sb.size, sa.size, `${path}: size`);
      assert.equal(sb.hash, sa.hash, `${path}: content`);
    }
    if (sa.kind === 'file' || opts.checkDirTimes) assert.equal(sb.mtime, fatSeconds(sa.mtime, epoch), `${path}: mtime`);
  }
  return a.size;
}
