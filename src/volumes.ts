/**
 * Planning past the trees (docs/ARCHITECTURE.md §2.1, steps 3–4): each filesystem planned, auto
 * sizes learned, partitions placed, filesystems planned again at their final size. Node-free: the
 * CLI's pipeline (`src/build.ts`) and the browser's (`src/web/pipeline.ts`) both run it; what only
 * a host has (a prebuilt `image` partition's file) comes in through `HostImages`.
 */
import { containerWriter } from './container/registry.js';
import { DiskwrightError } from './errors.js';
import type { Volume } from './extent/extent.js';
import { filesystemHandler } from './fs/registry.js';
import type { FsContext, FsInfo, PlannedFilesystem } from './fs/types.js';
import type { ResolvedPartition, ResolvedSpec } from './spec/types.js';
import { layoutDisk, type DiskLayout } from './table/layout.js';
import type { Tree } from './tree/model.js';

/** What every planner of a build shares: the signal, clean-ups and warnings. */
export type PlanEnv = Pick<FsContext, 'signal' | 'onDispose' | 'onWarning'>;

/** `filesystem: image` partitions: their file's size, and its bytes as a volume (zero blocks as holes). */
export interface HostImages {
  size(p: ResolvedPartition): number;
  volume(p: ResolvedPartition, size: number): Volume;
}

export interface PlannedVolumes {
  layout: DiskLayout;
  /** Each partition's volume, by partition index. */
  volumes: Map<number, Volume>;
  fsInfo: Map<number, FsInfo>;
}

/**
 * Plan the filesystems of `trees` (by partition index) and place every partition.
 *
 * @example
 * const { layout, volumes } = await planVolumes(spec, trees, {}, undefined, () => {});
 */
export async function planVolumes(spec: ResolvedSpec, trees: ReadonlyMap<number, Tree>, env: PlanEnv, images: HostImages | undefined, step: (done: number) => void): Promise<PlannedVolumes> {
  // 1. What each auto-sized partition needs at least.
  const autoSizes = new Map<number, number>();
  const planned = new Map<number, { volume: Volume; info: FsInfo }>();
  for (const p of spec.partitions) {
    if (p.filesystem === 'image') {
      if (!images) throw new DiskwrightError('E_SOURCE', `image partitions need host files, which this build cannot read`, { path: `${p.path}.image`, value: p.image });
      const size = images.size(p);
      if (typeof p.size === 'number' && size > p.size) {
        throw new DiskwrightError('E_TOO_SMALL', `image ${p.image} has ${size} bytes, more than the partition size ${p.size}`, { path: `${p.path}.size`, value: p.size });
      }
      autoSizes.set(p.index, size);
    } else if (trees.has(p.index) && typeof p.size !== 'number') {
      const r = await planFs(spec, p, trees.get(p.index)!, 'auto', undefined, env);
      autoSizes.set(p.index, r.info.size);
      planned.set(p.index, r);
    }
  }
  step(2);

  // 2. Place the partitions; 3. plan each filesystem at its final size.
  const container = containerWriter(spec.format)!;
  const layout = layoutDisk(spec, autoSizes, container.virtualSize?.bind(container));
  const volumes = new Map<number, Volume>();
  const fsInfo = new Map<number, FsInfo>();
  for (const q of layout.placements) {
    const p = q.part;
    if (p.filesystem === 'image') {
      const size = autoSizes.get(p.index)!;
      volumes.set(p.index, { size: q.size, extents: size > 0 ? images!.volume(p, size).extents : [] });
      fsInfo.set(p.index, { type: 'image', size });
    } else if (trees.has(p.index)) {
      let r = planned.get(p.index);
      // A filesystem that records its offset on the disk (FAT's BPB_HiddSec) is planned again at
      // its place; others are planned once when the size holds.
      if (!r || r.info.size !== q.size || (filesystemHandler(p.filesystem)!.recordsOffset && q.offset > 0)) r = await planFs(spec, p, trees.get(p.index)!, q.size, q.offset, env);
      volumes.set(p.index, r.volume);
      fsInfo.set(p.index, r.info);
    }
  }
  return { layout, volumes, fsInfo };
}

async function planFs(spec: ResolvedSpec, p: ResolvedPartition, tree: Tree, size: number | 'auto', offset: number | undefined, env: PlanEnv): Promise<PlannedFilesystem> {
  const handler = filesystemHandler(p.filesystem)!;
  const ctx: FsContext = {
    ...env,
    name: p.name, specPath: p.path, seed: spec.seed, epoch: spec.sourceDateEpoch,
    size, extraSpace: size === 'auto' ? p.extraSpace : 0, sectorSize: spec.sectorSize, options: p.options,
    ...(p.label !== undefined ? { label: p.label } : {}),
    ...(p.fsUuid !== undefined ? { fsUuid: p.fsUuid } : {}),
    ...(offset !== undefined ? { offset } : {}),
  };
  // A synchronous planner (ext4, FAT) holds the event loop for up to about a second on 100k files:
  // let a pending signal be handled before and after it, so at most one plan runs past a signal.
  await turn(env.signal);
  const r = await handler.plan(tree, ctx);
  await turn(env.signal);
  return r;
}

/** One turn of the event loop (signal handlers run), then stop if the build was aborted. */
export async function turn(signal: AbortSignal | undefined): Promise<void> {
  await new Promise((r) => setImmediate(r));
  signal?.throwIfAborted();
}
