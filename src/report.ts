/**
 * The build report (docs/ARCHITECTURE.md §1 report): what a plan decided, as JSON. Node-free, so
 * the browser build (src/web) shows the same layout table as `--dry-run`.
 */
import type { FsInfo } from './fs/types.js';
import type { ResolvedSpec } from './spec/types.js';
import { gptPartitions } from './table/gpt.js';
import type { DiskLayout } from './table/layout.js';

export interface PartitionReport {
  number: number;
  name: string;
  offset: number;
  size: number;
  firstLba: number;
  lastLba: number;
  type: string;
  uuid?: string;
  flags: string[];
  filesystem: string;
  label?: string;
  fsUuid?: string;
  fs?: FsInfo;
  /** Filesystems built from `{ target, filesystem }` entries and stored as files of this one. */
  nested?: NestedReport[];
}

/** A nested filesystem in the report: where it is stored and what it is. */
export interface NestedReport {
  target: string;
  fs: FsInfo;
}

/** The JSON manifest of a build (docs/ARCHITECTURE.md §1 report). */
export interface BuildReport {
  name: string;
  output?: string;
  format: string;
  compression: string;
  table: string;
  sectorSize: number;
  size: number;
  diskUuid?: string;
  mbrId?: string;
  partitions: PartitionReport[];
  raw: { source: string; offset: number; size: number }[];
  /** sha256 of the output file. */
  sha256?: string;
  /** Bytes of the output file. */
  outputBytes?: number;
  /** Warnings of the build (see BuildOptions.onWarning); absent when there were none. */
  warnings?: string[];
  /** The EFI variable store written beside the image (`bootloader.efiVars`). */
  efiVars?: string;
}

/** What a report is made from: the parts of a Plan decided before any byte is written. */
export interface ReportInput {
  spec: ResolvedSpec;
  layout: DiskLayout;
  fsInfo: ReadonlyMap<number, FsInfo>;
  /** The nested filesystems of each partition (by partition index), in contents order. */
  nestedInfo: ReadonlyMap<number, NestedReport[]>;
  warnings: readonly string[];
}

/**
 * The report of a plan (without output hash).
 *
 * @example
 * console.log(JSON.stringify(reportOf(await planImage(spec)), null, 2));
 */
export function reportOf(plan: ReportInput): BuildReport {
  const { spec, layout } = plan;
  const S = spec.sectorSize;
  const gpt = layout.gpt ? gptPartitions(layout) : undefined;
  const partitions = layout.placements.map((q, i): PartitionReport => {
    const p = q.part;
    const info = plan.fsInfo.get(p.index);
    const r: PartitionReport = {
      number: i + 1, name: p.name, offset: q.offset, size: q.size, firstLba: q.offset / S, lastLba: (q.offset + q.size) / S - 1,
      type: spec.table === 'mbr' ? '0x' + p.mbrType!.toString(16).padStart(2, '0') : spec.table === 'none' ? p.filesystem : p.typeGuid!,
      flags: p.flags.slice(), filesystem: p.filesystem,
    };
    if (gpt) r.uuid = gpt[i]!.uuid;
    const label = info?.label ?? p.label;
    if (label !== undefined) r.label = label;
    const fsUuid = info?.uuid ?? p.fsUuid;
    if (fsUuid !== undefined) r.fsUuid = fsUuid;
    if (info) r.fs = info;
    const nested = plan.nestedInfo.get(p.index);
    if (nested) r.nested = nested;
    return r;
  });
  const out: BuildReport = {
    name: spec.name, format: spec.format, compression: spec.compression, table: spec.table, sectorSize: S,
    size: layout.size, partitions, raw: spec.raw.map((r) => ({ source: r.source, offset: r.offset, size: r.size })),
  };
  if (layout.gpt) out.diskUuid = spec.diskUuid;
  if (plan.warnings.length) out.warnings = plan.warnings.slice();
  if (spec.table === 'mbr' || spec.table === 'hybrid') out.mbrId = '0x' + spec.mbrId.toString(16).padStart(8, '0');
  return out;
}
