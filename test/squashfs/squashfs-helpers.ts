/** Shared steps of the squashfs tests: build an image from a tree, and ask the reference tools about it. */
import { mkdirSync } from 'node:fs';
import { emit } from '../../src/container/emit.js';
import { planSquashfs, squashfsHandler, type SquashfsResolvedOptions } from '../../src/fs/squashfs/index.js';
import type { FsContext, PlannedFilesystem } from '../../src/fs/types.js';
import type { SquashfsOptions } from '../../src/spec/types.js';
import { buildTree } from '../../src/tree/build.js';
import type { Tree } from '../../src/tree/model.js';
import { IS_ROOT } from '../helpers/root.js';
import { runOk } from '../helpers/tools.js';

export const EPOCH = 1700000000;

export function treeOf(dir: string, epoch: number | undefined = EPOCH, owners?: 'host'): Tree {
  return buildTree([{ source: dir, target: '/', ...(owners ? { owners } : {}) }], { baseDir: '/', epoch, specPath: 'contents' });
}

export interface BuildOptions {
  squashfs?: SquashfsOptions;
  size?: number | 'auto';
  epoch?: number | undefined;
  workers?: number;
  signal?: AbortSignal;
}

/** Plan and write an image; returns the plan, the image's sha256 and the warnings. */
export async function buildSquashfs(tree: Tree, out: string, o: BuildOptions = {}): Promise<PlannedFilesystem & { sha256: string; warnings: string[] }> {
  const disposers: (() => void)[] = [];
  const warnings: string[] = [];
  const epoch = 'epoch' in o ? o.epoch : EPOCH;
  const ctx: FsContext<SquashfsResolvedOptions> = {
    name: 'root', specPath: 'partitions[0]', seed: 'squashfs-test', epoch, size: o.size ?? 'auto', extraSpace: 0, sectorSize: 512,
    options: squashfsHandler.resolveOptions(o.squashfs ?? {}, 'partitions[0].squashfs'),
    onDispose: (d) => disposers.push(d), onWarning: (m) => warnings.push(m), ...(o.signal ? { signal: o.signal } : {}),
  };
  try {
    const planned = await planSquashfs(tree, ctx, o.workers !== undefined ? { workers: o.workers } : {});
    const r = await emit(planned.volume, out, { format: 'raw', compression: 'none', seed: ctx.seed, epoch, hash: true });
    return { ...planned, sha256: r.sha256!, warnings };
  } finally {
    for (const d of disposers) d();
  }
}

/** `unsquashfs -s` as lines. */
export function superblockReport(img: string, offset = 0): string {
  return runOk('unsquashfs', ['-s', ...(offset ? ['-o', String(offset)] : []), img]);
}

/** Mount read-only through a loop device, run `fn`, always unmount. Needs root. */
export async function withMount<T>(img: string, mnt: string, fn: (dir: string) => T | Promise<T>, type = 'squashfs'): Promise<T> {
  if (!IS_ROOT) throw new Error('withMount needs root (loop mount); mark the test { skip: needsRoot(\'loop mount\') }');
  mkdirSync(mnt, { recursive: true });
  runOk('mount', ['-t', type, '-o', 'loop,ro', img, mnt]);
  try {
    return await fn(mnt);
  } finally {
    runOk('umount', [mnt]);
  }
}
