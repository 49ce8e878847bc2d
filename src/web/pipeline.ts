/**
 * The browser's pipeline: what to make (a FAT, ext4 or ISO 9660 image, a GPT disk with an ESP and
 * an ext4 root, or that disk as qcow2) becomes a spec, checked by the same `resolveSpec` as the
 * CLI's; the dropped files are the tree; the filesystems are planned and placed by the same
 * `planVolumes`, the table assembled by `assembleDisk`, and the container written by the same
 * writer to a browser sink. The report and its layout table are the CLI's (`--dry-run`).
 */
import { layoutTable } from '../cli/table.js';
import { emitTo } from '../container/emit-to.js';
import { rawWriter } from '../container/raw.js';
import { qcow2Writer } from '../container/qcow2/writer.js';
import type { Sink } from '../container/sink.js';
import type { ContainerWriter } from '../container/types.js';
import type { Volume } from '../extent/extent.js';
import { BlobSink } from './sinks.js';
import { reportOf, type BuildReport } from '../report.js';
import type { ImageSpec, ResolvedSpec } from '../spec/types.js';
import { resolveSpec } from '../spec/validate.js';
import { assembleDisk } from '../table/assemble.js';
import { newDir, type Tree } from '../tree/model.js';
import { planVolumes } from '../volumes.js';

/** What the page can make; each is a spec (`specFor`). */
export const targets = {
  fat: { title: 'FAT image', suffix: '.img' },
  ext4: { title: 'ext4 image', suffix: '.img' },
  iso: { title: 'ISO 9660 image (Rock Ridge, Joliet)', suffix: '.iso' },
  gpt: { title: 'GPT disk: ESP + ext4 root', suffix: '.img' },
  qcow2: { title: 'qcow2 of the GPT disk', suffix: '.qcow2' },
} as const;
export type Target = keyof typeof targets;

/** The container writers the browser build carries (the registry loads every format; these two suffice here). */
const writers: Record<string, ContainerWriter> = { raw: rawWriter, qcow2: qcow2Writer };

/**
 * The spec of a target. The dropped tree goes to the one filesystem, or to the root of the disk;
 * the ESP is an empty 8 MiB FAT. Contents stay empty here: the trees are given to `planWeb`.
 *
 * @example
 * specFor('gpt', 'data'); // { table: 'gpt', partitions: [ESP, root] }
 */
export function specFor(target: Target, label: string, epoch?: number): ImageSpec {
  const name = label || 'image';
  const common = { name, ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}) };
  switch (target) {
    case 'fat': return { ...common, table: 'none', partitions: [{ name: 'fat', filesystem: 'vfat', ...(label ? { label } : {}) }] };
    case 'ext4': return { ...common, table: 'none', partitions: [{ name: 'root', filesystem: 'ext4', ...(label ? { label } : {}) }] };
    case 'iso': return { ...common, table: 'none', partitions: [{ name: 'iso', filesystem: 'iso9660', ...(label ? { label } : {}) }] };
    case 'gpt':
    case 'qcow2':
      return {
        ...common, table: 'gpt', format: target === 'qcow2' ? 'qcow2' : 'raw',
        partitions: [
          { name: 'ESP', type: 'esp', size: '8MiB', filesystem: 'vfat', label: 'ESP' },
          { name: 'root', type: 'linux', filesystem: 'ext4', ...(label ? { label } : {}) },
        ],
      };
  }
}

/** A planned browser build: the disk's extents, its report and the `--dry-run` table. */
export interface WebPlan {
  spec: ResolvedSpec;
  disk: Volume;
  report: BuildReport;
  table: string;
  writer: ContainerWriter;
}

export interface WebPlanOptions {
  label?: string;
  /** sourceDateEpoch (docs/ARCHITECTURE.md §4). */
  epoch?: number;
  signal?: AbortSignal;
  onWarning?: (message: string) => void;
}

/**
 * Plan `target` with `tree` as its (root) filesystem; nothing is written yet.
 *
 * @example
 * const plan = await planWeb('fat', await memoryTree(files), { label: 'DATA' });
 * console.log(plan.table);
 */
export async function planWeb(target: Target, tree: Tree, opts: WebPlanOptions = {}): Promise<WebPlan> {
  // baseDir '/': no contents name host paths, and no environment (SOURCE_DATE_EPOCH) exists here.
  const spec = resolveSpec(specFor(target, opts.label ?? '', opts.epoch), { baseDir: '/', env: {} });
  const trees = new Map<number, Tree>();
  for (const p of spec.partitions) trees.set(p.index, p.name === 'ESP' ? { root: newDir(Buffer.alloc(0), { sec: spec.sourceDateEpoch ?? 0, nsec: 0 }) } : tree);
  const warnings: string[] = [];
  const env = { onWarning: (m: string) => { if (!warnings.includes(m)) { warnings.push(m); opts.onWarning?.(m); } }, ...(opts.signal ? { signal: opts.signal } : {}) };
  const { layout, volumes, fsInfo } = await planVolumes(spec, trees, env, undefined, () => undefined);
  const disk = assembleDisk(spec, layout, volumes);
  const report = reportOf({ spec, layout, fsInfo, nestedInfo: new Map(), warnings });
  return { spec, disk, report, table: layoutTable(report), writer: writers[spec.format]! };
}

/**
 * Write a planned image to a sink (BlobSink, WritableFileSink); returns the report with the
 * output's sha256 and size. A BlobSink's bytes are hashed at the end with crypto.subtle (native,
 * one call) where the page is a secure context; otherwise, and for a stream, the pure-JS hash
 * runs as the bytes pass (emit-to.ts DigestSink).
 *
 * @example
 * const sink = new BlobSink(plan.disk.size);
 * const report = await emitWeb(plan, sink, { onProgress: (done, total) => bar.value = done / total });
 */
export async function emitWeb(plan: WebPlan, sink: Sink, opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void; name?: string; hash?: boolean } = {}): Promise<BuildReport> {
  const s = plan.spec;
  const hash = opts.hash !== false;
  const subtle = hash && sink instanceof BlobSink ? globalThis.crypto?.subtle : undefined;
  const r = await emitTo(plan.disk, plan.writer, sink, {
    format: s.format, seed: s.seed, epoch: s.sourceDateEpoch, hash: hash && !subtle,
    ...(s.clusterSize !== undefined ? { clusterSize: s.clusterSize } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.name !== undefined ? { name: opts.name } : {}),
  });
  const sha256 = subtle ? hex(new Uint8Array(await subtle.digest('SHA-256', (sink as BlobSink).bytes!))) : r.sha256;
  const report = { ...plan.report, outputBytes: r.bytes };
  if (opts.name !== undefined) report.output = opts.name;
  if (sha256 !== undefined) report.sha256 = sha256;
  return report;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
