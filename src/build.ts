import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { bootFilesOf, checkBootOutputs, planBoot, writeBootOutputs, type BootOutput } from './boot/index.js';
import { emit } from './container/emit.js';
import { readRawVolume, readRawVolumeAsync } from './container/read/raw.js';
import type { Volume } from './extent/extent.js';
import { filesystemHandler } from './fs/registry.js';
import type { FsContext, FsInfo } from './fs/types.js';
import { presetError } from './spec/presets.js';
import { resolveSpec } from './spec/validate.js';
import type { ImageSpec, ResolvedSpec } from './spec/types.js';
import { assembleDisk } from './table/assemble.js';
import type { DiskLayout } from './table/layout.js';
import { buildResolvedTree } from './tree/build.js';
import type { ResolvedEntry } from './tree/entries.js';
import { prepareTarInputs, TarInputs } from './tree/tarinput.js';
import type { Tree } from './tree/model.js';
import { reportOf, type BuildReport, type NestedReport } from './report.js';
import { planVolumes, turn, type PlanEnv } from './volumes.js';

export { reportOf } from './report.js';
export type { BuildReport, NestedReport, PartitionReport, ReportInput } from './report.js';

/** Progress is data; the library never prints (docs/ARCHITECTURE.md §2.2). */
export interface Progress {
  phase: 'plan' | 'write';
  done: number;
  total: number;
}

export interface BuildOptions {
  /** Output path, or '-' for stdout. Without it (or with dryRun) nothing is written. */
  output?: string;
  /** Directory relative paths in the spec resolve against (default: cwd). */
  baseDir?: string;
  /** Overrides of the spec's format and compression (the CLI's --format/--compression); checked as the spec's. */
  format?: ImageSpec['format'] | (string & {});
  compression?: ImageSpec['compression'] | (string & {});
  compressionLevel?: number;
  dryRun?: boolean;
  /** Compute the sha256 of the output for the report (default true). */
  hash?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /**
   * Conditions the build goes on with (the xattr module cannot load, a host xattr ext4 cannot
   * store…), one line each, each once. They are also listed in the report's `warnings`.
   */
  onWarning?: (message: string) => void;
  env?: Record<string, string | undefined>;
}

/** Everything decided before the first byte: the resolved spec, trees, layout and disk extents. */
export interface Plan {
  spec: ResolvedSpec;
  layout: DiskLayout;
  disk: Volume;
  fsInfo: Map<number, FsInfo>;
  /** The nested filesystems of each partition (by partition index), in contents order. */
  nestedInfo: Map<number, NestedReport[]>;
  warnings: string[];
  /** Files the boot loaders write beside the image (an EFI variable store). */
  bootOutputs?: BootOutput[];
  /**
   * Remove the temporary files the disk's extents read (decompressed tar inputs). Call it once
   * the image is written (buildImage does); they are removed at process exit anyway.
   */
  dispose(): void;
}

/**
 * Validate, read the inputs and plan every filesystem and the table; nothing is written. The spec
 * is checked again at run time (a JavaScript caller's object is untrusted); for parsed YAML or JSON,
 * pass it through `parseImageSpec` first.
 *
 * @example
 * const plan = await planImage(spec, { baseDir: process.cwd() });
 * console.log(plan.layout.size);
 * plan.dispose();
 */
export async function planImage(input: ImageSpec, opts: BuildOptions = {}): Promise<Plan> {
  try {
    return await planSpec(input, opts);
  } catch (e) {
    // With `layout:`, errors name the user's keys (root.size, bootSize), not the expansion's partitions[1].size.
    throw presetError(input, e);
  }
}

async function planSpec(input: ImageSpec, opts: BuildOptions): Promise<Plan> {
  const baseDir = opts.baseDir ?? process.cwd();
  const raw: unknown = typeof input === 'object' && input !== null && !Array.isArray(input) ? { ...(input as Record<string, unknown>) } : input;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const r = raw as Record<string, unknown>;
    if (opts.format !== undefined) r.format = opts.format;
    if (opts.compression !== undefined) r.compression = opts.compression;
    if (opts.compressionLevel !== undefined) r.compressionLevel = opts.compressionLevel;
  }
  // The schema's format and compression names are the registries' (src/container/registry.ts).
  const spec = resolveSpec(raw, { baseDir, ...(opts.env ? { env: opts.env } : {}) });

  // Compressed tar inputs are decompressed first (streaming, so async); the rest is synchronous.
  const tars = new TarInputs();
  const disposers: (() => void)[] = [];
  const dispose = (): void => {
    tars.dispose();
    for (const d of disposers.splice(0)) { try { d(); } catch { /* best effort: a temporary file already gone */ } }
  };
  try {
    for (const p of spec.partitions) {
      for (const list of contentLists(p.contents, `${p.path}.contents`)) await prepareTarInputs(list.entries, { baseDir: spec.baseDir, specPath: list.path }, tars);
    }
    // Prebuilt images are scanned for zero blocks here, yielding to the event loop (signals): a
    // large image takes seconds to read.
    const images = new Map<number, Volume>();
    for (const p of spec.partitions) {
      if (p.filesystem !== 'image') continue;
      const size = statSync(p.image!).size;
      if (size > 0 && (typeof p.size !== 'number' || size <= p.size)) images.set(p.index, await readRawVolumeAsync(p.image!, size, undefined, opts.signal));
    }
    return { ...(await planTrees(spec, opts, tars, images, disposers)), dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

async function planTrees(spec: ResolvedSpec, opts: BuildOptions, tars: TarInputs, images: ReadonlyMap<number, Volume>, disposers: (() => void)[]): Promise<Omit<Plan, 'dispose'>> {
  const trees = new Map<number, Tree>();
  const warnings: string[] = [];
  const onWarning = (m: string): void => { if (!warnings.includes(m)) { warnings.push(m); opts.onWarning?.(m); } };
  const env: PlanEnv = { onWarning, onDispose: (d) => disposers.push(d), ...(opts.signal ? { signal: opts.signal } : {}) };
  const nestedInfo = new Map<number, NestedReport[]>();
  for (const p of spec.partitions) {
    const handler = filesystemHandler(p.filesystem);
    if (handler) {
      // Nested filesystems (`{ target, filesystem }` entries) are planned first: their volumes are files of this tree.
      const infos: NestedReport[] = [];
      const nested = await planNested(p.contents, p.name, spec, env, tars, infos);
      if (infos.length) nestedInfo.set(p.index, infos);
      // A filesystem that stores no xattrs (FAT) gets a tree that skips reading them.
      trees.set(p.index, await buildResolvedTree([...p.contents, ...bootFilesOf(spec, p.index)], { baseDir: spec.baseDir, epoch: spec.sourceDateEpoch, specPath: `${p.path}.contents`, xattrs: handler.xattrs, onWarning, tars, nested, signal: opts.signal }));
    }
  }
  opts.onProgress?.({ phase: 'plan', done: 1, total: 3 });

  const { layout, volumes, fsInfo } = await planVolumes(spec, trees, env, {
    size: (p) => statSync(p.image!).size,
    // Zero blocks of a prebuilt image stay holes (sparse raw, unallocated container clusters).
    volume: (p, size) => { const scanned = images.get(p.index); return scanned && scanned.size === size ? scanned : readRawVolume(p.image!, size); },
  }, (done) => opts.onProgress?.({ phase: 'plan', done, total: 3 }));
  // Boot code over the laid-out disk (boot.img, core.img) and files beside it (src/boot).
  const boot = await planBoot(spec, layout, assembleDisk(spec, layout, volumes, (path) => readFileSync(path)), opts.signal);
  opts.onProgress?.({ phase: 'plan', done: 3, total: 3 });
  return { spec, layout, disk: boot.disk, fsInfo, nestedInfo, warnings, bootOutputs: boot.outputs };
}

/** Every contents list of a partition: its own and those of its nested filesystems, with their spec paths. */
function* contentLists(entries: readonly ResolvedEntry[], path: string): Generator<{ entries: readonly ResolvedEntry[]; path: string }> {
  yield { entries, path };
  for (const e of entries) if (e.filesystem) yield* contentLists(e.filesystem.contents, `${e.filesystem.path}.contents`);
}

/**
 * Plan the `filesystem:` entries of a contents list (depth first: a nested filesystem's own nested
 * entries before it). Each is named `<owner>:<target>` for its ids (docs/ARCHITECTURE.md §4) and
 * planned on 512-byte sectors at offset 0; its volume becomes a file of its parent, streamed in place.
 */
async function planNested(entries: readonly ResolvedEntry[], owner: string, spec: ResolvedSpec, env: PlanEnv, tars: TarInputs, infos: NestedReport[]): Promise<Map<ResolvedEntry, Volume>> {
  const out = new Map<ResolvedEntry, Volume>();
  for (const e of entries) {
    const fs = e.filesystem;
    if (!fs) continue;
    env.signal?.throwIfAborted();
    const handler = filesystemHandler(fs.type)!;
    const name = `${owner}:${e.target!}`;
    const inner = await planNested(fs.contents, name, spec, env, tars, infos);
    const tree = await buildResolvedTree(fs.contents, { baseDir: spec.baseDir, epoch: spec.sourceDateEpoch, specPath: `${fs.path}.contents`, xattrs: handler.xattrs, tars, nested: inner, signal: env.signal, ...(env.onWarning ? { onWarning: env.onWarning } : {}) });
    const ctx: FsContext = {
      ...env, name, specPath: fs.path, seed: spec.seed, epoch: spec.sourceDateEpoch, size: fs.size,
      extraSpace: fs.size === 'auto' ? fs.extraSpace : 0, sectorSize: 512, options: fs.options,
      ...(fs.label !== undefined ? { label: fs.label } : {}),
      ...(fs.fsUuid !== undefined ? { fsUuid: fs.fsUuid } : {}),
    };
    await turn(env.signal);
    const r = await handler.plan(tree, ctx);
    out.set(e, r.volume);
    infos.push({ target: e.target!, fs: r.info });
  }
  return out;
}

/**
 * Build an image from a spec: validate, plan, then stream the container to `output` through a
 * temporary file renamed at the end. Returns the report (with the output's sha256).
 *
 * @example
 * const report = await buildImage({ layout: 'efi', root: { contents: [{ source: './rootfs' }] } }, { output: 'nixos.img' });
 * const fromYaml = await buildImage(parseImageSpec(YAML.parse(text)), { output: 'disk.img' });
 */
export async function buildImage(input: ImageSpec, opts: BuildOptions = {}): Promise<BuildReport> {
  opts.signal?.throwIfAborted();
  const plan = await planImage(input, opts);
  try {
    // Between planning and writing: let a pending signal be handled before the output is opened.
    await new Promise((r) => setImmediate(r));
    opts.signal?.throwIfAborted();
    return await writePlan(plan, opts);
  } finally {
    plan.dispose();
  }
}

async function writePlan(plan: Plan, opts: BuildOptions): Promise<BuildReport> {
  const report = reportOf(plan);
  if (opts.dryRun || opts.output === undefined) return report;
  const output = opts.output === '-' ? '-' : resolve(opts.output);
  checkBootOutputs(plan.bootOutputs ?? [], output);
  const emitOpts = {
    format: plan.spec.format, compression: plan.spec.compression, compressionLevel: plan.spec.compressionLevel,
    seed: plan.spec.seed, epoch: plan.spec.sourceDateEpoch, hash: opts.hash !== false,
    ...(plan.spec.clusterSize !== undefined ? { clusterSize: plan.spec.clusterSize } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onProgress: (done: number, total: number) => opts.onProgress?.({ phase: 'write', done, total }),
  };
  const r = await emit(plan.disk, output, emitOpts);
  report.output = output;
  if (r.sha256 !== undefined) report.sha256 = r.sha256;
  report.outputBytes = r.bytes;
  const beside = writeBootOutputs(plan.bootOutputs ?? [], output);
  if (beside.efiVars !== undefined) report.efiVars = beside.efiVars;
  return report;
}

/** Identity helper that gives a spec object its type (the TS form of a YAML spec). */
export function defineImage(spec: ImageSpec): ImageSpec {
  return spec;
}
