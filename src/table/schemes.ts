/**
 * Partition table schemes, one object per table type, after FreeBSD mkimg's `struct mkimg_scheme`
 * (usr.bin/mkimg/scheme.h): each declares its limits (entries, name length, the type ids and flags
 * it stores, alignment, reserved areas) and its writer. layout.ts and assemble.ts ask the scheme;
 * validation checks a spec against the scheme's limits (`checkPartitions`, `types`). A new table
 * type is its file plus one line in `tableSchemes`.
 */
import { DiskwrightError, show } from '../errors.js';
import type { PartitionFlag, ResolvedPartition, ResolvedSpec } from '../spec/types.js';
import type { GptGeometry } from './gpt.js';
import { gptScheme } from './gpt.js';
import { hybridScheme } from './hybrid.js';
import type { DiskLayout, Placement } from './layout.js';
import { mbrScheme } from './mbr.js';
import { noneScheme } from './none.js';

export type TableSchemeName = 'gpt' | 'mbr' | 'hybrid' | 'none';

/** A byte range `[from, to)` the table's own structures occupy, named for overlap messages. */
export interface Reserved {
  from: number;
  to: number;
  what: string;
  fix: string;
}

/** The spec fields a scheme reads to lay itself out. */
export type TableSpec = Pick<ResolvedSpec, 'sectorSize' | 'gptEntries' | 'gptLocation'>;

/**
 * What a table keeps for itself on one disk (mkimg's `metadata` hook), in sectors: partitions lie in
 * `[firstUsableLba, totalSectors - trailingSectors)`.
 */
export interface TableArea {
  readonly firstUsableLba: number;
  /** Sectors kept at the end of the disk (the backup GPT: entry array and header). */
  readonly trailingSectors: number;
  /** The GPT geometry of a disk of `totalSectors` sectors (gpt, hybrid). */
  gpt?(totalSectors: number): GptGeometry;
  /** The table's structures on a disk of `totalSectors` sectors. */
  reserved(totalSectors: number): Reserved[];
  /** The error for partition `q` lying outside the usable sectors. */
  outsideUsable(q: Placement, totalSectors: number): DiskwrightError;
}

/** One piece of the table's bytes at its disk offset. */
export interface TableBytes {
  offset: number;
  bytes: Uint8Array;
}

/** What a scheme's limits are checked on: the resolved partitions, in spec order. */
export type SchemePartition = Pick<ResolvedPartition, 'name' | 'flags' | 'path'>;

export interface TableScheme {
  readonly name: TableSchemeName;
  readonly description: string;
  /** Partitions it holds at least (none: exactly its one filesystem). */
  readonly minPartitions: number;
  /** Partitions it holds at most (mkimg `nparts`): MBR 4 primaries, GPT its entry count (`gptEntries`). */
  maxPartitions(spec: Pick<ResolvedSpec, 'gptEntries'>): number;
  /** A GPT's entry array: `gptEntries`' default and range (UEFI 2.10 §5.3.2: at least 16 KiB = 128 entries by default). */
  readonly entryArray?: { readonly default: number; readonly min: number; readonly max: number };
  /** Longest partition name it stores, in UTF-16 code units (GPT: 36, PartitionName is 72 bytes); undefined: names are not stored. */
  readonly nameLength: number | undefined;
  /**
   * The partition type ids it stores: GPT type GUIDs, MBR type bytes. `optional`: only where it
   * has one (a hybrid mirrors the partitions that have an MBR byte).
   */
  readonly types: { readonly guid: 'required' | 'unused'; readonly mbrByte: 'required' | 'optional' | 'unused' };
  /** Flags it can store; any other is E_FLAG_TABLE. */
  readonly flags: readonly PartitionFlag[];
  /** MBR entries it gives partitions: 4 (MBR), 3 mirrored beside the 0xEE entry (hybrid), 0 (GPT, none). */
  readonly mbrSlots: number;
  /** Bytes at the start of sector 0 a raw blob may fill with boot code (the MBR's code area, UEFI 2.10 Table 5.1). */
  readonly bootCodeBytes: number;
  /** The spec's default `alignment` for partitions without an offset; every offset and size is whole sectors. */
  readonly defaultAlignment: number;
  /** The table's reserved areas and usable sectors for a spec. */
  area(spec: TableSpec): TableArea;
  /** The placements written into MBR entries, whose 32-bit sector fields limit them (E_MBR_LIMIT). */
  mbrPartitions(placements: readonly Placement[]): Placement[];
  /**
   * A scheme that places its one partition itself (none: the filesystem is the whole image), instead
   * of layoutDisk's placement in the usable area.
   */
  place?(spec: ResolvedSpec, autoSizes: ReadonlyMap<number, number>, virtualSize: (size: number) => number): DiskLayout;
  /** The table's bytes (mkimg's `write`): sector 0 with `bootCode` in its code area, GPT headers and arrays. */
  write(spec: ResolvedSpec, layout: DiskLayout, bootCode: Uint8Array | undefined): TableBytes[];
  /** The error for `count` partitions outside [minPartitions, maxPartitions]. */
  countError(count: number, spec: Pick<ResolvedSpec, 'gptEntries'>): DiskwrightError;
  /** The error for flag `flag` that this table cannot store, at spec path `path`. */
  flagError(flag: PartitionFlag, path: string): DiskwrightError;
}

/** Every table type, in the order the spec and `--help` list them. */
export const tableSchemes: readonly TableScheme[] = [gptScheme, mbrScheme, hybridScheme, noneScheme];

/**
 * The scheme of a table name.
 *
 * @example
 * tableScheme('mbr').maxPartitions({ gptEntries: 128 }); // 4
 */
export function tableScheme(name: string): TableScheme {
  const s = tableSchemes.find((t) => t.name === name);
  if (!s) throw new DiskwrightError('E_ENUM', `${show(name)} is not one of ${tableSchemes.map((t) => t.name).join(', ')}`, { path: 'table', value: name });
  return s;
}

/**
 * Check resolved partitions against a scheme's limits, in the order a reader meets them: each
 * partition's name length and flags, then the count. Errors name the spec path (E_TOO_LONG,
 * E_FLAG_TABLE, E_MBR_PRIMARY, E_TABLE_NONE, E_TOO_MANY_PARTITIONS).
 *
 * @example
 * checkPartitions(tableScheme('mbr'), spec.partitions, spec); // throws E_MBR_PRIMARY for a fifth partition
 */
export function checkPartitions(scheme: TableScheme, parts: readonly SchemePartition[], spec: Pick<ResolvedSpec, 'gptEntries'>): void {
  for (const p of parts) {
    if (scheme.nameLength !== undefined && p.name.length > scheme.nameLength) {
      throw new DiskwrightError('E_TOO_LONG', `partition name ${show(p.name)} is ${p.name.length} UTF-16 code units; a ${scheme.name} partition name holds at most ${scheme.nameLength}`, { path: `${p.path}.name`, value: p.name });
    }
    const i = p.flags.findIndex((f) => !scheme.flags.includes(f));
    if (i >= 0) throw scheme.flagError(p.flags[i]!, `${p.path}.flags[${i}]`);
  }
  if (parts.length < scheme.minPartitions || parts.length > scheme.maxPartitions(spec)) throw scheme.countError(parts.length, spec);
}
