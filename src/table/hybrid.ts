import { DiskwrightError, show } from '../errors.js';
import { gptScheme, gptStructures } from './gpt.js';
import type { Placement } from './layout.js';
import { encodeMbr, mbrEntryOf, type MbrEntry } from './mbr.js';
import type { TableScheme } from './schemes.js';
import { MBR_PROTECTIVE_TYPE } from './types.js';

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
  // Everything of the GPT scheme (limits, entry array, names, area, partition count) but the MBR.
  ...gptScheme,
  name: 'hybrid',
  description: 'GPT plus an MBR mirroring up to 3 partitions (for BIOSes that read only the MBR)',
  types: { guid: 'required', mbrByte: 'optional' },
  mbrSlots: HYBRID_MBR_MIRRORS,
  mbrPartitions: hybridMirrored,
  write(spec, layout, bootCode) {
    const S = spec.sectorSize;
    const mirrored = hybridMirrored(layout.placements);
    const firstStart = Math.min(...mirrored.map((q) => q.offset / S), layout.gpt!.firstUsableLba);
    const entries: MbrEntry[] = [{ bootable: false, type: MBR_PROTECTIVE_TYPE, start: 1, size: firstStart - 1 }, ...mirrored.map((q) => mbrEntryOf(q, S))];
    return [{ offset: 0, bytes: encodeMbr(entries, spec.mbrId, bootCode) }, ...gptStructures(spec, layout)];
  },
  flagError: (flag, path) => new DiskwrightError('E_FLAG_TABLE', `flag ${show(flag)} cannot be stored in a hybrid table`, { path, value: flag }),
};
