import { DiskwrightError, show } from '../errors.js';
import { defineStruct } from '../util/struct.js';
import type { Placement } from './layout.js';
import type { TableScheme } from './schemes.js';

/* Legacy MBR (UEFI 2.10 §5.2.1, Table 5.1/5.2): boot code, signature, 4 entries, 0xAA55. */
export const MbrPartitionRecord = defineStruct('MBRPartitionRecord', 16, [
  { name: 'BootIndicator', offset: 0x0, kind: 'u8' },
  { name: 'StartingCHS', offset: 0x1, kind: { bytes: 3 } },
  { name: 'OSType', offset: 0x4, kind: 'u8' },
  { name: 'EndingCHS', offset: 0x5, kind: { bytes: 3 } },
  { name: 'StartingLBA', offset: 0x8, kind: 'u32le' },
  { name: 'SizeInLBA', offset: 0xc, kind: 'u32le' },
]);

export const Mbr = defineStruct('LegacyMBR', 512, [
  { name: 'BootCode', offset: 0x0, kind: { bytes: 440 } },
  { name: 'UniqueMBRDiskSignature', offset: 0x1b8, kind: 'u32le' },
  { name: 'Unknown', offset: 0x1bc, kind: 'u16le' },
  { name: 'Signature', offset: 0x1fe, kind: 'u16le' },
]);
export const MBR_PARTITION_OFFSET = 0x1be;
/** Signature (UEFI 2.10 Table 5.1): bytes 0x55 0xAA. */
export const MBR_SIGNATURE = 0xaa55;
/** BootIndicator of the active ("boot") partition (UEFI 2.10 Table 5.2). */
export const MBR_BOOTABLE = 0x80;

export interface MbrEntry {
  bootable: boolean;
  type: number;
  /** In sectors. */
  start: number;
  size: number;
}

/**
 * CHS address for an LBA, as fdisk writes it for 255 heads x 63 sectors; LBAs past the CHS range get
 * the "maximum" marker FE FF FF (UEFI 2.10 §5.2.1: CHS is ignored by UEFI; kept for old BIOSes).
 */
export function chs(lba: number): Uint8Array {
  const heads = 255, sectors = 63;
  const c = Math.floor(lba / (heads * sectors));
  if (c > 1023) return Uint8Array.from([0xfe, 0xff, 0xff]);
  const h = Math.floor(lba / sectors) % heads;
  const s = (lba % sectors) + 1;
  return Uint8Array.from([h, ((c >> 2) & 0xc0) | s, c & 0xff]);
}

/**
 * Encode a 512-byte MBR sector. `sector0` may carry boot code to keep (bytes 0..439).
 * Entries are written in order into the four slots.
 */
export function encodeMbr(entries: readonly MbrEntry[], diskSignature: number, bootCode?: Uint8Array): Uint8Array {
  const buf = new Uint8Array(512);
  if (bootCode) buf.set(bootCode.subarray(0, Mbr.sizeOf('BootCode')));
  Mbr.encode({ UniqueMBRDiskSignature: diskSignature >>> 0, Signature: MBR_SIGNATURE }, buf);
  entries.forEach((e, i) => {
    const last = e.start + e.size - 1;
    MbrPartitionRecord.encode({
      BootIndicator: e.bootable ? MBR_BOOTABLE : 0,
      StartingCHS: chs(e.start),
      OSType: e.type,
      EndingCHS: chs(last),
      StartingLBA: e.start,
      SizeInLBA: e.size,
    }, buf, MBR_PARTITION_OFFSET + 16 * i);
  });
  return buf;
}

/** The MBR entry of a placed partition: its active flag, MBR type byte and sector range. */
export function mbrEntryOf(q: Placement, sectorSize: number): MbrEntry {
  return { bootable: q.part.flags.includes('boot'), type: q.part.mbrType!, start: q.offset / sectorSize, size: q.size / sectorSize };
}

/** The MBR's code area: boot code a raw blob may put in sector 0 (UEFI 2.10 Table 5.1, BootCode). */
export const MBR_BOOT_CODE_BYTES = Mbr.sizeOf('BootCode');
/** Primary partitions an MBR holds: its four partition records. */
export const MBR_PRIMARY_ENTRIES = (Mbr.size - MBR_PARTITION_OFFSET - 2) / MbrPartitionRecord.size;

const hex = (n: number): string => '0x' + n.toString(16);

/** Sector 0 as the MBR and table scheme's only structure, for overlap messages. */
export function sector0(sectorSize: number, what: string): { from: number; to: number; what: string; fix: string } {
  return { from: 0, to: sectorSize, what, fix: 'move it after the partition table' };
}

/**
 * The MBR (DOS) scheme: four primary partitions in sector 0, MBR type bytes, the boot flag; no
 * names, no GPT attributes; 32-bit sector fields.
 */
export const mbrScheme: TableScheme = {
  name: 'mbr',
  description: 'MBR (DOS) partition table: up to 4 primary partitions',
  minPartitions: 0,
  maxPartitions: () => MBR_PRIMARY_ENTRIES,
  nameLength: undefined,
  types: { guid: 'unused', mbrByte: 'required' },
  flags: ['boot'],
  mbrSlots: MBR_PRIMARY_ENTRIES,
  bootCodeBytes: MBR_BOOT_CODE_BYTES,
  defaultAlignment: 1 << 20,
  area: (spec) => ({
    firstUsableLba: 1,
    trailingSectors: 0,
    reserved: () => [sector0(spec.sectorSize, 'the MBR (sector 0)')],
    outsideUsable: (q) => new DiskwrightError('E_OVERLAP', `partition ${q.part.name} (offset ${hex(q.offset)}) overlaps the MBR in sector 0`, { path: `${q.part.path}.offset`, value: q.offset }),
  }),
  mbrPartitions: (placements) => placements.slice(),
  write: (spec, layout, bootCode) => [{ offset: 0, bytes: encodeMbr(layout.placements.map((q) => mbrEntryOf(q, spec.sectorSize)), spec.mbrId, bootCode) }],
  countError: (count) => new DiskwrightError('E_MBR_PRIMARY', `an MBR holds at most ${MBR_PRIMARY_ENTRIES} primary partitions, got ${count}; use table: gpt`, { path: `partitions[${MBR_PRIMARY_ENTRIES}]`, value: count }),
  flagError: (flag, path) => new DiskwrightError('E_FLAG_TABLE', `flag ${show(flag)} is a GPT attribute; an MBR partition only has the boot flag`, { path, value: flag }),
};
