import { crc32 } from '../util/crc32.js';
import { bytesToGuid } from '../util/ids.js';
import { bigIntOf } from '../util/struct.js';
import { GptEntry, GptHeader, GPT_SIGNATURE } from '../table/gpt.js';
import { Mbr, MBR_BOOTABLE, MBR_PARTITION_OFFSET, MBR_PRIMARY_ENTRIES, MBR_SIGNATURE, MbrPartitionRecord } from '../table/mbr.js';
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
  /** Problems found while reading (bad CRCs, missing backup header, counts or ranges past the image). */
  problems: string[];
}

/**
 * Every count, offset and size read from the image is checked against the image before use (a
 * truncated or foreign file is a list of problems, never an exception). Structures are decoded with
 * the writers' declarations (table/mbr.ts, table/gpt.ts); 64-bit fields as bigints, so a garbage
 * LBA cannot throw.
 */
/** A bigint LBA times the sector size as a number, or undefined when it lies past `limit` bytes. */
function lbaBytes(lba: bigint, S: number, limit: number): number | undefined {
  const bytes = lba * BigInt(S);
  return bytes <= BigInt(limit) ? Number(bytes) : undefined;
}
/** Sanity limit on a GPT entry array: far above real tables (UEFI's minimum is 16 KiB; diskwright writes at most 1024 × 128 B). */
const MAX_ENTRY_ARRAY = 1 << 24;
const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
/** Sector sizes a GPT is looked for with (its header is at LBA 1). */
const SECTOR_SIZES = [512, 4096] as const;

function readMbr(sector0: Uint8Array): { id: number; entries: { boot: boolean; type: number; start: number; size: number }[] } | undefined {
  if (sector0.length < Mbr.size) return undefined;
  const mbr = Mbr.decode(sector0);
  if (mbr.Signature !== MBR_SIGNATURE) return undefined;
  const entries = [];
  for (let i = 0; i < MBR_PRIMARY_ENTRIES; i++) {
    const e = MbrPartitionRecord.decode(sector0, MBR_PARTITION_OFFSET + MbrPartitionRecord.size * i);
    if (e.OSType === 0) continue;
    entries.push({ boot: e.BootIndicator === MBR_BOOTABLE, type: e.OSType as number, start: e.StartingLBA as number, size: e.SizeInLBA as number });
  }
  return { id: mbr.UniqueMBRDiskSignature as number, entries };
}

/** A UTF-16LE name cut at its first NUL (PartitionName). */
function gptName(bytes: Uint8Array): string {
  const name = Buffer.from(bytes).toString('utf16le');
  const z = name.indexOf('\0');
  return z >= 0 ? name.slice(0, z) : name;
}

function readGpt(src: ImageSource, S: number, mbr: ReturnType<typeof readMbr>): FoundTable | undefined {
  const hdr = src.read(S, GptHeader.size);
  if (hdr.length < GptHeader.size) return undefined;
  const h = GptHeader.decode(hdr);
  if (Buffer.compare(Buffer.from(h.Signature as Uint8Array), GPT_SIGNATURE) !== 0) return undefined;
  const problems: string[] = [];
  const headerSize = h.HeaderSize as number;
  if (headerSize < GptHeader.size || headerSize > S) problems.push(`GPT header size ${headerSize} is not between ${GptHeader.size} and the ${S}-byte sector`);
  else {
    const check = Uint8Array.from(src.read(S, headerSize));
    if (check.length >= GptHeader.size) GptHeader.encode({ HeaderCRC32: 0 }, check);
    if (check.length < headerSize || crc32(check) !== h.HeaderCRC32) problems.push('primary GPT header CRC mismatch');
  }
  const diskUuid = bytesToGuid(h.DiskGUID as Uint8Array);
  const hybrid = mbr !== undefined && mbr.entries.some((x) => x.type !== MBR_PROTECTIVE_TYPE);
  const out: FoundTable = { table: hybrid ? 'hybrid' : 'gpt', sectorSize: S, diskUuid, partitions: [], problems };
  if (hybrid) out.mbrId = '0x' + mbr!.id.toString(16).padStart(8, '0');

  const alt = bigIntOf(h.AlternateLBA);
  const altAt = lbaBytes(alt, S, src.size - S);
  if (altAt === undefined) problems.push(`backup GPT header at LBA ${alt} lies past the end of the image (${Math.floor(src.size / S)} sectors)`);
  else {
    if (altAt + S !== src.size) problems.push(`backup GPT header at LBA ${alt} is not at the end of the disk (${src.size / S - 1})`);
    const backup = src.read(altAt, GptHeader.size);
    if (backup.length < GptHeader.size || Buffer.compare(Buffer.from(GptHeader.decodeField(backup, 'Signature') as Uint8Array), GPT_SIGNATURE) !== 0) problems.push('no backup GPT header');
  }

  const count = h.NumberOfPartitionEntries as number;
  const esize = h.SizeOfPartitionEntry as number;
  const entryLba = bigIntOf(h.PartitionEntryLBA);
  const arrayAt = lbaBytes(entryLba, S, src.size);
  if (esize < GptEntry.size || esize % 8 !== 0) { problems.push(`GPT entry size ${esize} is not a multiple of 8 of at least ${GptEntry.size}`); return out; }
  if (count * esize > MAX_ENTRY_ARRAY) { problems.push(`GPT entry array of ${count} entries of ${esize} bytes is larger than ${MAX_ENTRY_ARRAY} bytes`); return out; }
  if (arrayAt === undefined || arrayAt + count * esize > src.size) { problems.push(`GPT entry array (LBA ${entryLba}, ${count} entries of ${esize} bytes) runs past the end of the image`); return out; }
  const entries = src.read(arrayAt, count * esize);
  if (crc32(entries) !== h.PartitionEntryArrayCRC32) problems.push('GPT entry array CRC mismatch');
  for (let i = 0; i < count; i++) {
    const e = GptEntry.decode(entries, i * esize);
    const type = bytesToGuid(e.PartitionTypeGUID as Uint8Array).toUpperCase();
    if (type === ZERO_GUID) continue;
    const first = bigIntOf(e.StartingLBA), last = bigIntOf(e.EndingLBA);
    // A range past 2^53 bytes cannot be a partition of this image; the size is clamped for the report.
    const offset = lbaBytes(first, S, Number.MAX_SAFE_INTEGER);
    const end = lbaBytes(last + 1n, S, Number.MAX_SAFE_INTEGER);
    if (offset === undefined || end === undefined || last < first) { problems.push(`partition ${i + 1}: LBA range ${first}..${last} is not a valid range`); continue; }
    if (end > src.size) problems.push(`partition ${i + 1} (LBA ${first}..${last}) ends past the end of the image`);
    out.partitions.push({
      number: i + 1, offset, size: end - offset, type,
      uuid: bytesToGuid(e.UniquePartitionGUID as Uint8Array), name: gptName(e.PartitionName as Uint8Array),
      attributes: '0x' + bigIntOf(e.Attributes).toString(16).padStart(16, '0'),
    });
  }
  return out;
}

/**
 * Read the partition table of an image: GPT (trying 512- then 4096-byte sectors, checking both
 * CRCs and the backup header), else MBR, else none.
 */
export function readTable(src: ImageSource): FoundTable {
  const mbr = readMbr(src.read(0, Mbr.size));
  for (const S of SECTOR_SIZES) {
    const gpt = readGpt(src, S, mbr);
    if (gpt) return gpt;
  }
  if (mbr && mbr.entries.length && mbr.entries.every((e) => e.start > 0 && e.size > 0)) {
    // MBR sector size: 512 unless the entries only make sense in 4096-byte sectors.
    const S = mbr.entries.every((e) => (e.start + e.size) * 512 <= src.size) ? 512 : 4096;
    const problems = mbr.entries.filter((e) => (e.start + e.size) * S > src.size).map((e) => `MBR partition ${mbr.entries.indexOf(e) + 1} (LBA ${e.start}+${e.size}) ends past the end of the image`);
    return {
      table: 'mbr', sectorSize: S, mbrId: '0x' + mbr.id.toString(16).padStart(8, '0'), problems,
      partitions: mbr.entries.map((e, i) => ({ number: i + 1, offset: e.start * S, size: e.size * S, type: '0x' + e.type.toString(16).padStart(2, '0'), bootable: e.boot })),
    };
  }
  return { table: 'none', sectorSize: 512, partitions: [], problems: [] };
}
