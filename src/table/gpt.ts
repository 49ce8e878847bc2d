import { crc32 } from '../util/crc32.js';
import { guidToBytes } from '../util/ids.js';
import { defineStruct } from '../util/struct.js';

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
