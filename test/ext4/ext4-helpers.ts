/** Shared steps of the ext4 tests: build an image from a tree, and ask the reference tools about it. */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { emit } from '../../src/container/emit.js';
import { ext4Handler, type Ext4ResolvedOptions } from '../../src/fs/ext4/index.js';
import type { FsContext, PlannedFilesystem } from '../../src/fs/types.js';
import type { Ext4Options } from '../../src/spec/types.js';
import { buildTree } from '../../src/tree/build.js';
import type { Tree } from '../../src/tree/model.js';
import { IS_ROOT } from '../helpers/root.js';
import { run, runOk } from '../helpers/tools.js';

export const EPOCH = 1700000000;

export function treeOf(dir: string, epoch: number | undefined = EPOCH): Tree {
  return buildTree([{ source: dir, target: '/' }], { baseDir: '/', epoch, specPath: 'contents' });
}

export interface BuildOptions {
  size?: number | 'auto';
  extraSpace?: number;
  label?: string;
  fsUuid?: string;
  seed?: string;
  epoch?: number | undefined;
  /** The `ext4:` block as a spec gives it (checked and resolved by the handler; tests give bad values too). */
  ext4?: { [K in keyof Ext4Options]?: Ext4Options[K] | number };
  name?: string;
  /** Hash the output (default true; a 1 TiB image of holes hashes slowly). */
  hash?: boolean;
}

export function ctxFor(o: BuildOptions = {}): FsContext<Ext4ResolvedOptions> {
  const ctx: FsContext<Ext4ResolvedOptions> = {
    name: o.name ?? 'root', specPath: 'partitions[0]', seed: o.seed ?? 'ext4-test-seed', epoch: 'epoch' in o ? o.epoch : EPOCH,
    size: o.size ?? 'auto', extraSpace: o.extraSpace ?? 0, sectorSize: 512, options: ext4Handler.resolveOptions(o.ext4 ?? {}, 'partitions[0].ext4'),
  };
  if (o.label !== undefined) ctx.label = o.label;
  if (o.fsUuid !== undefined) ctx.fsUuid = o.fsUuid;
  return ctx;
}

/** Plan and write an image; returns the plan and the image's sha256. */
export async function buildExt4(tree: Tree, out: string, o: BuildOptions = {}): Promise<PlannedFilesystem & { sha256: string | undefined }> {
  const ctx = ctxFor(o);
  const planned = ext4Handler.plan(tree, ctx);
  const r = await emit(planned.volume, out, { format: 'raw', compression: 'none', seed: ctx.seed, epoch: ctx.epoch, hash: o.hash !== false });
  return { ...planned, sha256: r.sha256 };
}

/** e2fsck -fn must exit 0 and ask to fix nothing. */
export function assertFsckClean(img: string): string {
  const r = run('e2fsck', ['-fn', img]);
  assert.equal(r.status, 0, `e2fsck -fn ${img} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stdout + r.stderr, /Fix\?|Clear\?|Salvage\?|Relocate\?/, r.stdout);
  return r.stdout;
}

/** dumpe2fs -h as a field map ("Filesystem features" -> "has_journal ..."). */
export function dumpe2fsHeader(img: string): Map<string, string> {
  const out = runOk('dumpe2fs', ['-h', img]);
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

/** Mount read-only through a loop device, run `fn`, always unmount. Needs root: tests using it are `{ skip: needsRoot('loop mount') }`. */
export async function withMount<T>(img: string, mnt: string, fn: (dir: string) => T | Promise<T>): Promise<T> {
  if (!IS_ROOT) throw new Error('withMount needs root (loop mount); mark the test { skip: needsRoot(\'loop mount\') }');
  mkdirSync(mnt, { recursive: true });
  runOk('mount', ['-o', 'loop,ro', '-t', 'ext4', img, mnt]);
  try {
    return await fn(mnt);
  } finally {
    runOk('umount', [mnt]);
  }
}

export const DEFAULT_FEATURES = 'has_journal ext_attr resize_inode dir_index filetype extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum';
