import { DiskwrightError, show } from '../errors.js';
import { GPT_ENTRY_ARRAY, GPT_NAME_UNITS, gptArea, gptCountError, gptStructures } from './gpt.js';
import type { Placement } from './layout.js';
import { encodeMbr, MBR_BOOT_CODE_BYTES, mbrEntryOf, type MbrEntry } from './mbr.js';
import type { TableScheme } from './schemes.js';
import { MBR_PROTECTIVE_TYPE, PARTITION_FLAGS } from './types.js';

/** Partitions a hybrid MBR mirrors beside its 0xEE entry (the MBR's four records, less that one). */
export const HYBRID_MBR_MIRRORS = 3;

/** The partitions a hybrid MBR mirrors: the first three that have an MBR type byte, in spec order. */
export function hybridMirrored(placements: readonly Placement[]): Placement[] {
  return placements.filter((q) => q.part.mbrType !== undefined).slice(0, HYBRID_MBR_MIRRORS);
}

/**
 * A hybrid table (as gdisk makes it): a full GPT, and an MBR whose 0xEE entry covers the GPT
 * structures up to the first mirrored partition, followed by up to three mirrored partitions.
 */
export const hybridScheme: TableScheme = {
  name: 'hybrid',
  description: 'GPT plus an MBR mirroring up to 3 partitions (for BIOSes that read only the MBR)',
  minPartitions: 0,
  maxPartitions: (spec) => spec.gptEntries,
  entryArray: GPT_ENTRY_ARRAY,
  nameLength: GPT_NAME_UNITS,
  types: { guid: 'required', mbrByte: 'optional' },
  flags: PARTITION_FLAGS,
  mbrSlots: HYBRID_MBR_MIRRORS,
  bootCodeBytes: MBR_BOOT_CODE_BYTES,
  defaultAlignment: 1 << 20,
  area: (spec) => gptArea(spec, 'the protective MBR (sector 0)'),
  mbrPartitions: hybridMirrored,
  write(spec, layout, bootCode) {
    const S = spec.sectorSize;
    const mirrored = hybridMirrored(layout.placements);
    const firstStart = Math.min(...mirrored.map((q) => q.offset / S), layout.gpt!.firstUsableLba);
    const entries: MbrEntry[] = [{ bootable: false, type: MBR_PROTECTIVE_TYPE, start: 1, size: firstStart - 1 }, ...mirrored.map((q) => mbrEntryOf(q, S))];
    return [{ offset: 0, bytes: encodeMbr(entries, spec.mbrId, bootCode) }, ...gptStructures(spec, layout)];
  },
  countError: gptCountError,
  flagError: (flag, path) => new DiskwrightError('E_FLAG_TABLE', `flag ${show(flag)} cannot be stored in a hybrid table`, { path, value: flag }),
};
