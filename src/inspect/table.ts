import { crc32 } from '../util/crc32.js';
import { bytesToGuid } from '../util/ids.js';
import { GptEntry, GptHeader, GPT_SIGNATURE } from '../table/gpt.js';
import { Mbr, MbrPartitionRecord, MBR_PARTITION_OFFSET } from '../table/mbr.js';
import { MBR_PROTECTIVE_TYPE } from '../table/types.js';
import type { ImageSource } from './source.js';

export interface FoundPartition {
  number: number;
  offset: number;
  size: number;
  type: string;
  uuid?: string;
  name?: string;
  attributes?: string;
  bootable?: boolean;
}

export interface FoundTable {
  table: 'gpt' | 'mbr' | 'hybrid' | 'none';
  sectorSize: number;
  diskUuid?: string;
  mbrId?: string;
  partitions: FoundPartition[];
  /** Problems found while reading (bad CRCs, missing backup header). */
  problems: string[];
}

function readMbr(sector0: Uint8Array): { id: number; entries: { boot: boolean; type: number; start: number; size: number }[] } | undefined {
  const mbr = Mbr.decode(sector0);
  if (mbr.Signature !== 0xaa55) return undefined;
  const entries = [];
  for (let i = 0; i < 4; i++) {
    const e = MbrPartitionRecord.decode(sector0, MBR_PARTITION_OFFSET + 16 * i);
    if (e.OSType === 0) continue;
    entries.push({ boot: e.BootIndicator === 0x80, type: e.OSType as number, start: e.StartingLBA as number, size: e.SizeInLBA as number });
  }
  return { id: mbr.UniqueMBRDiskSignature as number, entries };
}

/**
 * Read the partition table of an image: GPT (trying 512- then 4096-byte sectors, checking both
 * CRCs and the backup header), else MBR, else none.
 */
export function readTable(src: ImageSource): FoundTable {
  const sector0 = src.read(0, 512);
  const mbr = readMbr(sector0);
  for (const S of [512, 4096]) {
    const hdr = src.read(S, GptHeader.size);
    if (hdr.length < GptHeader.size || Buffer.compare(Buffer.from(hdr.subarray(0, 8)), GPT_SIGNATURE) !== 0) continue;
    const h = GptHeader.decode(hdr);
    const problems: string[] = [];
    const check = new Uint8Array(hdr);
    GptHeader.encode({ HeaderCRC32: 0 }, check);
    if (crc32(check.subarray(0, h.HeaderSize as number)) !== h.HeaderCRC32) problems.push('primary GPT header CRC mismatch');
    const count = h.NumberOfPartitionEntries as number;
    const esize = h.SizeOfPartitionEntry as number;
    const entries = src.read((h.PartitionEntryLBA as number) * S, count * esize);
    if (crc32(entries) !== h.PartitionEntryArrayCRC32) problems.push('GPT entry array CRC mismatch');
    const alt = h.AlternateLBA as number;
    if ((alt + 1) * S !== src.size) problems.push(`backup GPT header at LBA ${alt} is not at the end of the disk (${src.size / S - 1})`);
    const backup = src.read(alt * S, 8);
    if (Buffer.compare(Buffer.from(backup), GPT_SIGNATURE) !== 0) problems.push('no backup GPT header');
    const partitions: FoundPartition[] = [];
    for (let i = 0; i < count; i++) {
      const e = GptEntry.decode(entries, i * esize);
      const type = bytesToGuid(e.PartitionTypeGUID as Uint8Array).toUpperCase();
      if (type === '00000000-0000-0000-0000-000000000000') continue;
      const nameBytes = Buffer.from(e.PartitionName as Uint8Array);
      let name = nameBytes.toString('utf16le');
      const z = name.indexOf('\0');
      if (z >= 0) name = name.slice(0, z);
      const first = e.StartingLBA as number, last = e.EndingLBA as number;
      const attrs = new DataView((entries as Uint8Array).buffer, (entries as Uint8Array).byteOffset + i * esize + 0x30, 8).getBigUint64(0, true);
      partitions.push({
        number: i + 1, offset: first * S, size: (last - first + 1) * S, type,
        uuid: bytesToGuid(e.UniquePartitionGUID as Uint8Array), name, attributes: '0x' + attrs.toString(16).padStart(16, '0'),
      });
    }
    const hybrid = mbr !== undefined && mbr.entries.some((x) => x.type !== MBR_PROTECTIVE_TYPE);
    const out: FoundTable = { table: hybrid ? 'hybrid' : 'gpt', sectorSize: S, diskUuid: bytesToGuid(h.DiskGUID as Uint8Array), partitions, problems };
    if (hybrid) out.mbrId = '0x' + mbr!.id.toString(16).padStart(8, '0');
    return out;
  }
  if (mbr && mbr.entries.length && mbr.entries.every((e) => e.start > 0 && e.size > 0)) {
    // MBR sector size: 512 unless the entries only make sense in 4096-byte sectors.
    const S = mbr.entries.every((e) => (e.start + e.size) * 512 <= src.size) ? 512 : 4096;
    return {
      table: 'mbr', sectorSize: S, mbrId: '0x' + mbr.id.toString(16).padStart(8, '0'), problems: [],
      partitions: mbr.entries.map((e, i) => ({ number: i + 1, offset: e.start * S, size: e.size * S, type: '0x' + e.type.toString(16).padStart(2, '0'), bootable: e.boot })),
    };
  }
  return { table: 'none', sectorSize: 512, partitions: [], problems: [] };
}
