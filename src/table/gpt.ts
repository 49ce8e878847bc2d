import { DiskwrightError, show } from '../errors.js';
import type { ResolvedSpec } from '../spec/types.js';
import { crc32 } from '../util/crc32.js';
import { guidToBytes } from '../util/ids.js';
import { defineStruct } from '../util/struct.js';
import type { DiskLayout } from './layout.js';
import { encodeMbr, MBR_BOOT_CODE_BYTES, MBR_PARTITION_OFFSET, MbrPartitionRecord, sector0 } from './mbr.js';
import type { Reserved, TableArea, TableBytes, TableScheme, TableSpec } from './schemes.js';
import { GPT_ATTRIBUTE_BITS, MBR_PROTECTIVE_TYPE, PARTITION_FLAGS } from './types.js';

/* GPT header (UEFI 2.10 §5.3.2, Table 5.5). */
export const GptHeader = defineStruct('GPTHeader', 92, [
  { name: 'Signature', offset: 0x00, kind: { bytes: 8 } },
  { name: 'Revision', offset: 0x08, kind: 'u32le' },
  { name: 'HeaderSize', offset: 0x0c, kind: 'u32le' },
  { name: 'HeaderCRC32', offset: 0x10, kind: 'u32le' },
  { name: 'Reserved', offset: 0x14, kind: 'u32le' },
  { name: 'MyLBA', offset: 0x18, kind: 'u64le' },
  { name: 'AlternateLBA', offset: 0x20, kind: 'u64le' },
  { name: 'FirstUsableLBA', offset: 0x28, kind: 'u64le' },
  { name: 'LastUsableLBA', offset: 0x30, kind: 'u64le' },
  { name: 'DiskGUID', offset: 0x38, kind: { bytes: 16 } },
  { name: 'PartitionEntryLBA', offset: 0x48, kind: 'u64le' },
  { name: 'NumberOfPartitionEntries', offset: 0x50, kind: 'u32le' },
  { name: 'SizeOfPartitionEntry', offset: 0x54, kind: 'u32le' },
  { name: 'PartitionEntryArrayCRC32', offset: 0x58, kind: 'u32le' },
]);

/* GPT partition entry (UEFI 2.10 §5.3.3, Table 5.6). */
export const GptEntry = defineStruct('GPTPartitionEntry', 128, [
  { name: 'PartitionTypeGUID', offset: 0x00, kind: { bytes: 16 } },
  { name: 'UniquePartitionGUID', offset: 0x10, kind: { bytes: 16 } },
  { name: 'StartingLBA', offset: 0x20, kind: 'u64le' },
  { name: 'EndingLBA', offset: 0x28, kind: 'u64le' },
  { name: 'Attributes', offset: 0x30, kind: 'u64le' },
  { name: 'PartitionName', offset: 0x38, kind: { bytes: 72 } },
]);

export const GPT_SIGNATURE = Buffer.from('EFI PART', 'latin1');
export const GPT_REVISION = 0x00010000;
export const GPT_ENTRY_SIZE = 128;

export interface GptPartition {
  typeGuid: string;
  uuid: string;
  /** First and last LBA, inclusive as the spec stores them. */
  firstLba: number;
  lastLba: number;
  attributes: bigint;
  /** Up to 36 UTF-16 code units. */
  name: string;
}

export interface GptGeometry {
  sectorSize: number;
  /** Disk size in sectors. */
  totalSectors: number;
  entryCount: number;
  /** LBA of the primary entry array (2 unless moved out of the way, genimage gpt-location). */
  primaryEntriesLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  backupEntriesLba: number;
}

export function entryArraySectors(entryCount: number, sectorSize: number): number {
  return Math.ceil((entryCount * GPT_ENTRY_SIZE) / sectorSize);
}

/** Encode the entry array (every slot, unused ones zero). */
export function encodeEntries(parts: readonly GptPartition[], entryCount: number): Uint8Array {
  const buf = new Uint8Array(entryCount * GPT_ENTRY_SIZE);
  parts.forEach((p, i) => {
    const name = new Uint8Array(72);
    const units = Buffer.from(p.name, 'utf16le');
    name.set(units.subarray(0, 72));
    GptEntry.encode({
      PartitionTypeGUID: guidToBytes(p.typeGuid),
      UniquePartitionGUID: guidToBytes(p.uuid),
      StartingLBA: p.firstLba,
      EndingLBA: p.lastLba,
      Attributes: p.attributes,
      PartitionName: name,
    }, buf, i * GPT_ENTRY_SIZE);
  });
  return buf;
}

/** Encode one header sector (primary or backup): HeaderCRC32 over the 92 header bytes with the field zeroed. */
export function encodeHeader(geo: GptGeometry, diskGuid: string, entriesCrc: number, backup: boolean): Uint8Array {
  const sector = new Uint8Array(geo.sectorSize);
  const last = geo.totalSectors - 1;
  GptHeader.encode({
    Signature: GPT_SIGNATURE,
    Revision: GPT_REVISION,
    HeaderSize: GptHeader.size,
    HeaderCRC32: 0,
    MyLBA: backup ? last : 1,
    AlternateLBA: backup ? 1 : last,
    FirstUsableLBA: geo.firstUsableLba,
    LastUsableLBA: geo.lastUsableLba,
    DiskGUID: guidToBytes(diskGuid),
    PartitionEntryLBA: backup ? geo.backupEntriesLba : geo.primaryEntriesLba,
    NumberOfPartitionEntries: geo.entryCount,
    SizeOfPartitionEntry: GPT_ENTRY_SIZE,
    PartitionEntryArrayCRC32: entriesCrc,
  }, sector);
  GptHeader.encode({ HeaderCRC32: crc32(sector.subarray(0, GptHeader.size)) }, sector);
  return sector;
}

/** PartitionName holds 36 UTF-16 code units (UEFI 2.10 Table 5.6: 72 bytes). */
export const GPT_NAME_UNITS = GptEntry.sizeOf('PartitionName') / 2;
/** `gptEntries`: 128 by default (the 16 KiB array UEFI 2.10 §5.3.2 requires at least), 4 to 1024. */
export const GPT_ENTRY_ARRAY = { default: 128, min: 4, max: 1024 } as const;

const hex = (n: number): string => '0x' + n.toString(16);

/** The GPT entries of a layout, in spec order (entry i = partition i+1). */
export function gptPartitions(layout: DiskLayout): GptPartition[] {
  const S = layout.gpt!.sectorSize;
  return layout.placements.map((q) => {
    let attributes = 0n;
    for (const f of q.part.flags) {
      const bit = GPT_ATTRIBUTE_BITS[f];
      if (bit !== undefined) attributes |= 1n << BigInt(bit);
    }
    return {
      typeGuid: q.part.typeGuid!, uuid: q.part.uuid,
      firstLba: q.offset / S, lastLba: (q.offset + q.size) / S - 1,
      attributes, name: q.part.name,
    };
  });
}

/**
 * What a GPT reserves (UEFI 2.10 §5.3): sector 0 (`sector0What`), the header at LBA 1, the primary
 * entry array at LBA 2 or `gptLocation`, and the backup array and header at the end of the disk.
 */
export function gptArea(spec: TableSpec, sector0What: string): TableArea {
  const S = spec.sectorSize;
  const entrySectors = entryArraySectors(spec.gptEntries, S);
  const primaryEntriesLba = spec.gptLocation !== undefined ? spec.gptLocation / S : 2;
  if (primaryEntriesLba < 2) {
    throw new DiskwrightError('E_GPT_LOCATION', `gptLocation ${spec.gptLocation} would put the entry array over the GPT header (it must be at LBA 2 or later)`, { path: 'gptLocation', value: spec.gptLocation });
  }
  const firstUsableLba = Math.max(2 + entrySectors, primaryEntriesLba + entrySectors);
  const geometry = (totalSectors: number): GptGeometry => ({
    sectorSize: S, totalSectors, entryCount: spec.gptEntries, primaryEntriesLba, firstUsableLba,
    lastUsableLba: totalSectors - 2 - entrySectors, backupEntriesLba: totalSectors - 1 - entrySectors,
  });
  return {
    firstUsableLba,
    trailingSectors: entrySectors + 1,
    gpt: geometry,
    reserved(totalSectors): Reserved[] {
      const g = geometry(totalSectors);
      const es = entrySectors;
      return [
        sector0(S, sector0What),
        { from: S, to: 2 * S, what: 'the GPT header (LBA 1)', fix: 'move it' },
        { from: g.primaryEntriesLba * S, to: (g.primaryEntriesLba + es) * S, what: `the GPT entry array (LBA ${g.primaryEntriesLba}-${g.primaryEntriesLba + es - 1})`, fix: 'move the array with gptLocation (for example gptLocation: 1MiB) or move the blob' },
        { from: g.backupEntriesLba * S, to: totalSectors * S, what: `the backup GPT (LBA ${g.backupEntriesLba}-${totalSectors - 1})`, fix: 'make the disk larger' },
      ];
    },
    outsideUsable(q, totalSectors) {
      const g = geometry(totalSectors);
      return new DiskwrightError('E_OUTSIDE_USABLE', `partition ${q.part.name} (offset ${hex(q.offset)}, size ${hex(q.size)}) lies outside the GPT usable area (LBA ${g.firstUsableLba}-${g.lastUsableLba})`, { path: `${q.part.path}.offset`, value: q.offset });
    },
  };
}

/** The GPT structures of a laid-out disk: primary header, both entry arrays, backup header. */
export function gptStructures(spec: ResolvedSpec, layout: DiskLayout): TableBytes[] {
  const g = layout.gpt!;
  const S = g.sectorSize;
  const entries = encodeEntries(gptPartitions(layout), g.entryCount);
  const crc = crc32(entries);
  return [
    { offset: S, bytes: encodeHeader(g, spec.diskUuid, crc, false) },
    { offset: g.primaryEntriesLba * S, bytes: entries },
    { offset: g.backupEntriesLba * S, bytes: entries },
    { offset: (g.totalSectors - 1) * S, bytes: encodeHeader(g, spec.diskUuid, crc, true) },
  ];
}

/** A GPT's partition count error: more partitions than entries. */
export function gptCountError(count: number, spec: Pick<ResolvedSpec, 'gptEntries'>): DiskwrightError {
  return new DiskwrightError('E_TOO_MANY_PARTITIONS', `a GPT of ${spec.gptEntries} entries (gptEntries) holds at most ${spec.gptEntries} partitions, got ${count}; raise gptEntries (up to ${GPT_ENTRY_ARRAY.max})`, { path: `partitions[${spec.gptEntries}]`, value: count });
}

/**
 * The GPT scheme (UEFI 2.10 §5.3): a protective MBR, `gptEntries` entries of 128 bytes with type
 * GUIDs, 36-unit names and attribute bits, headers and arrays at both ends of the disk.
 */
export const gptScheme: TableScheme = {
  name: 'gpt',
  description: 'GUID Partition Table (UEFI) with a protective MBR',
  minPartitions: 0,
  maxPartitions: (spec) => spec.gptEntries,
  entryArray: GPT_ENTRY_ARRAY,
  nameLength: GPT_NAME_UNITS,
  types: { guid: 'required', mbrByte: 'unused' },
  // `boot` has no GPT attribute: it is accepted and only the MBR of a hybrid stores it.
  flags: PARTITION_FLAGS,
  mbrSlots: 0,
  bootCodeBytes: MBR_BOOT_CODE_BYTES,
  defaultAlignment: 1 << 20,
  area: (spec) => gptArea(spec, 'the protective MBR (sector 0)'),
  mbrPartitions: () => [],
  write(spec, layout, bootCode) {
    const total = layout.size / spec.sectorSize;
    // Protective MBR (UEFI 2.10 §5.2.3): one 0xEE entry from LBA 1 over the whole disk (capped at 2^32-1).
    const mbr = encodeMbr([{ bootable: false, type: MBR_PROTECTIVE_TYPE, start: 1, size: Math.min(total - 1, 0xffffffff) }], spec.mbrId, bootCode);
    // UEFI 2.10 Table 5.4: the 0xEE entry's StartingCHS is 0x000200 and its EndingCHS 0xFFFFFF when the
    // disk is larger than CHS can express.
    mbr.set([0xff, 0xff, 0xff], MBR_PARTITION_OFFSET + MbrPartitionRecord.offsetOf('EndingCHS'));
    return [{ offset: 0, bytes: mbr }, ...gptStructures(spec, layout)];
  },
  countError: gptCountError,
  flagError: (flag, path) => new DiskwrightError('E_FLAG_TABLE', `flag ${show(flag)} cannot be stored in a GPT`, { path, value: flag }),
};
