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
  /** Problems found while reading (bad CRCs, missing backup header, counts or ranges past the image). */
  problems: string[];
}

/**
 * Every count, offset and size read from the image is checked against the image before use (a
 * truncated or foreign file is a list of problems, never an exception). Fields are read at the
 * offsets the struct declarations give; 64-bit ones as bigints, so a garbage LBA cannot throw.
 */
const u16 = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(o, true);
const u32 = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o, true);
const u64 = (b: Uint8Array, o: number): bigint => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(o, true);
const H = (f: Parameters<typeof GptHeader.offsetOf>[0]): number => GptHeader.offsetOf(f);
const E = (f: Parameters<typeof GptEntry.offsetOf>[0]): number => GptEntry.offsetOf(f);
/** A bigint LBA times the sector size as a number, or undefined when it lies past `limit` bytes. */
function lbaBytes(lba: bigint, S: number, limit: number): number | undefined {
  const bytes = lba * BigInt(S);
  return bytes <= BigInt(limit) ? Number(bytes) : undefined;
}
/** Sanity limit on a GPT entry array: far above real tables (UEFI's minimum is 16 KiB; diskwright writes at most 1024 × 128 B). */
const MAX_ENTRY_ARRAY = 1 << 24;

function readMbr(sector0: Uint8Array): { id: number; entries: { boot: boolean; type: number; start: number; size: number }[] } | undefined {
  if (sector0.length < Mbr.size) return undefined;
  if (u16(sector0, Mbr.offsetOf('Signature')) !== 0xaa55) return undefined;
  const entries = [];
  for (let i = 0; i < 4; i++) {
    const e = MbrPartitionRecord.decode(sector0, MBR_PARTITION_OFFSET + MbrPartitionRecord.size * i);
    if (e.OSType === 0) continue;
    entries.push({ boot: e.BootIndicator === 0x80, type: e.OSType as number, start: e.StartingLBA as number, size: e.SizeInLBA as number });
  }
  return { id: u32(sector0, Mbr.offsetOf('UniqueMBRDiskSignature')), entries };
}

function readGpt(src: ImageSource, S: number, mbr: ReturnType<typeof readMbr>): FoundTable | undefined {
  const hdr = src.read(S, GptHeader.size);
  if (hdr.length < GptHeader.size || Buffer.compare(Buffer.from(hdr.subarray(0, 8)), GPT_SIGNATURE) !== 0) return undefined;
  const problems: string[] = [];
  const headerSize = u32(hdr, H('HeaderSize'));
  if (headerSize < GptHeader.size || headerSize > S) problems.push(`GPT header size ${headerSize} is not between ${GptHeader.size} and the ${S}-byte sector`);
  else {
    const check = Uint8Array.from(src.read(S, headerSize));
    check.fill(0, H('HeaderCRC32'), H('HeaderCRC32') + 4);
    if (check.length < headerSize || crc32(check) !== u32(hdr, H('HeaderCRC32'))) problems.push('primary GPT header CRC mismatch');
  }
  const diskUuid = bytesToGuid(hdr.subarray(H('DiskGUID'), H('DiskGUID') + 16));
  const hybrid = mbr !== undefined && mbr.entries.some((x) => x.type !== MBR_PROTECTIVE_TYPE);
  const out: FoundTable = { table: hybrid ? 'hybrid' : 'gpt', sectorSize: S, diskUuid, partitions: [], problems };
  if (hybrid) out.mbrId = '0x' + mbr!.id.toString(16).padStart(8, '0');

  const alt = u64(hdr, H('AlternateLBA'));
  const altAt = lbaBytes(alt, S, src.size - S);
  if (altAt === undefined) problems.push(`backup GPT header at LBA ${alt} lies past the end of the image (${Math.floor(src.size / S)} sectors)`);
  else {
    if (altAt + S !== src.size) problems.push(`backup GPT header at LBA ${alt} is not at the end of the disk (${src.size / S - 1})`);
    if (Buffer.compare(Buffer.from(src.read(altAt, 8)), GPT_SIGNATURE) !== 0) problems.push('no backup GPT header');
  }

  const count = u32(hdr, H('NumberOfPartitionEntries'));
  const esize = u32(hdr, H('SizeOfPartitionEntry'));
  const arrayAt = lbaBytes(u64(hdr, H('PartitionEntryLBA')), S, src.size);
  if (esize < GptEntry.size || esize % 8 !== 0) { problems.push(`GPT entry size ${esize} is not a multiple of 8 of at least ${GptEntry.size}`); return out; }
  if (count * esize > MAX_ENTRY_ARRAY) { problems.push(`GPT entry array of ${count} entries of ${esize} bytes is larger than ${MAX_ENTRY_ARRAY} bytes`); return out; }
  if (arrayAt === undefined || arrayAt + count * esize > src.size) { problems.push(`GPT entry array (LBA ${u64(hdr, H('PartitionEntryLBA'))}, ${count} entries of ${esize} bytes) runs past the end of the image`); return out; }
  const entries = src.read(arrayAt, count * esize);
  if (crc32(entries) !== u32(hdr, H('PartitionEntryArrayCRC32'))) problems.push('GPT entry array CRC mismatch');
  for (let i = 0; i < count; i++) {
    const e = entries.subarray(i * esize, i * esize + GptEntry.size);
    const type = bytesToGuid(e.subarray(E('PartitionTypeGUID'), E('PartitionTypeGUID') + 16)).toUpperCase();
    if (type === '00000000-0000-0000-0000-000000000000') continue;
    let name = Buffer.from(e.subarray(E('PartitionName'), E('PartitionName') + 72)).toString('utf16le');
    const z = name.indexOf('\0');
    if (z >= 0) name = name.slice(0, z);
    const first = u64(e, E('StartingLBA')), last = u64(e, E('EndingLBA'));
    // A range past 2^53 bytes cannot be a partition of this image; the size is clamped for the report.
    const offset = lbaBytes(first, S, Number.MAX_SAFE_INTEGER);
    const end = lbaBytes(last + 1n, S, Number.MAX_SAFE_INTEGER);
    if (offset === undefined || end === undefined || last < first) { problems.push(`partition ${i + 1}: LBA range ${first}..${last} is not a valid range`); continue; }
    if (end > src.size) problems.push(`partition ${i + 1} (LBA ${first}..${last}) ends past the end of the image`);
    out.partitions.push({
      number: i + 1, offset, size: end - offset, type,
      uuid: bytesToGuid(e.subarray(E('UniquePartitionGUID'), E('UniquePartitionGUID') + 16)), name,
      attributes: '0x' + u64(e, E('Attributes')).toString(16).padStart(16, '0'),
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
  for (const S of [512, 4096]) {
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
