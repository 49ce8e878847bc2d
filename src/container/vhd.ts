import { DiskwrightError } from '../errors.js';
import { defineStruct } from '../util/struct.js';
import { deriveUuid, guidToBytes } from '../util/ids.js';
import { allocatedBlocks, blockRuns, ceilDiv } from './blocks.js';
import type { ContainerOptions, ContainerWriter } from './types.js';
import type { Sink } from './sink.js';

/**
 * VHD, fixed and dynamic (Microsoft "Virtual Hard Disk Image Format Specification" 1.0: "Hard Disk
 * Footer Format", "Dynamic Disk Header Format", "Block Allocation Table and Data Blocks",
 * Appendix "CHS Calculation"). All fields big-endian.
 */
export const VhdFooter = defineStruct('VHD footer', 512, [
  { name: 'cookie', offset: 0, kind: { bytes: 8 } },
  { name: 'features', offset: 8, kind: 'u32be' },
  { name: 'file_format_version', offset: 12, kind: 'u32be' },
  { name: 'data_offset', offset: 16, kind: 'u64be' },
  { name: 'time_stamp', offset: 24, kind: 'u32be' },
  { name: 'creator_application', offset: 28, kind: { bytes: 4 } },
  { name: 'creator_version', offset: 32, kind: 'u32be' },
  { name: 'creator_host_os', offset: 36, kind: 'u32be' },
  { name: 'original_size', offset: 40, kind: 'u64be' },
  { name: 'current_size', offset: 48, kind: 'u64be' },
  { name: 'disk_geometry_cylinders', offset: 56, kind: 'u16be' },
  { name: 'disk_geometry_heads', offset: 58, kind: 'u8' },
  { name: 'disk_geometry_sectors', offset: 59, kind: 'u8' },
  { name: 'disk_type', offset: 60, kind: 'u32be' },
  { name: 'checksum', offset: 64, kind: 'u32be' },
  { name: 'unique_id', offset: 68, kind: { bytes: 16 } },
  { name: 'saved_state', offset: 84, kind: 'u8' },
]);

export const VhdDynamicHeader = defineStruct('VHD dynamic disk header', 1024, [
  { name: 'cookie', offset: 0, kind: { bytes: 8 } },
  { name: 'data_offset', offset: 8, kind: 'u64be' },
  { name: 'table_offset', offset: 16, kind: 'u64be' },
  { name: 'header_version', offset: 24, kind: 'u32be' },
  { name: 'max_table_entries', offset: 28, kind: 'u32be' },
  { name: 'block_size', offset: 32, kind: 'u32be' },
  { name: 'checksum', offset: 36, kind: 'u32be' },
  { name: 'parent_unique_id', offset: 40, kind: { bytes: 16 } },
  { name: 'parent_time_stamp', offset: 56, kind: 'u32be' },
  { name: 'parent_unicode_name', offset: 64, kind: { bytes: 512 } },
  { name: 'parent_locator_entries', offset: 576, kind: { bytes: 192 } },
]);

export const VHD_DISK_FIXED = 2;
export const VHD_DISK_DYNAMIC = 3;
export const VHD_BLOCK_SIZE = 2 << 20;
/** Seconds from the Unix epoch to the VHD epoch, 2000-01-01 00:00:00 UTC. */
export const VHD_EPOCH_OFFSET = 946684800;
/** Largest size the specification allows: 2040 GiB (CHS 65535 x 16 x 255 sectors x 512 bytes). */
export const VHD_MAX_SIZE = 65535 * 16 * 255 * 512;
const NO_OFFSET = 0xffffffffffffffffn;
const ASCII = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Creator application. qemu's vpc driver sizes an image by its CHS geometry unless the creator is
 * one of those known to use current_size ("win ", "qem2", "d2v ", "CTXS", "tap\0"): "qem2" is the
 * one that means exactly "the virtual size is current_size", so qemu-img and Hyper-V/Azure/VirtualBox
 * all see the size we wrote (a GPT backup header stays at the last LBA).
 */
const CREATOR_APP = 'qem2';
const CREATOR_HOST_OS = 0x5769326b; // "Wi2k"

/** CHS geometry from a sector count: the specification's appendix algorithm. */
export function vhdGeometry(totalSectors: number): { cylinders: number; heads: number; sectors: number } {
  const ts = Math.min(totalSectors, 65535 * 16 * 255);
  let spt: number;
  let heads: number;
  let cth: number;
  if (ts >= 65535 * 16 * 63) {
    spt = 255; heads = 16; cth = Math.floor(ts / spt);
  } else {
    spt = 17;
    cth = Math.floor(ts / spt);
    heads = Math.max(4, Math.floor((cth + 1023) / 1024));
    if (cth >= heads * 1024 || heads > 16) { spt = 31; heads = 16; cth = Math.floor(ts / spt); }
    if (cth >= heads * 1024) { spt = 63; heads = 16; cth = Math.floor(ts / spt); }
  }
  return { cylinders: Math.floor(cth / heads), heads, sectors: spt };
}

/** The one's complement of the byte sum, checksum field taken as zero. */
export function vhdChecksum(buf: Uint8Array): number {
  let sum = 0;
  for (const b of buf) sum = (sum + b) >>> 0;
  return (~sum) >>> 0;
}

function timestamp(epoch: number | undefined): number {
  if (epoch === undefined) return 0;
  return Math.min(0xffffffff, Math.max(0, Math.floor(epoch) - VHD_EPOCH_OFFSET));
}

export function encodeFooter(size: number, diskType: number, opts: ContainerOptions): Uint8Array {
  const buf = new Uint8Array(512);
  const g = vhdGeometry(Math.floor(size / 512));
  VhdFooter.encode({
    cookie: ASCII('conectix'),
    features: 2,
    file_format_version: 0x00010000,
    data_offset: diskType === VHD_DISK_FIXED ? NO_OFFSET : 512,
    time_stamp: timestamp(opts.epoch),
    creator_application: ASCII(CREATOR_APP),
    creator_version: 0x00010000,
    creator_host_os: CREATOR_HOST_OS,
    original_size: size,
    current_size: size,
    disk_geometry_cylinders: g.cylinders,
    disk_geometry_heads: g.heads,
    disk_geometry_sectors: g.sectors,
    disk_type: diskType,
    // deriveUuid(seed, 'vhd'), stored as a Microsoft GUID (first three fields little-endian).
    unique_id: guidToBytes(deriveUuid(opts.seed, 'vhd')),
  }, buf);
  VhdFooter.encode({ checksum: vhdChecksum(buf) }, buf);
  return buf;
}

function checkSize(size: number): void {
  if (size > VHD_MAX_SIZE) {
    throw new DiskwrightError('E_VHD_SIZE', `disk of ${size} bytes is larger than VHD allows (${VHD_MAX_SIZE} bytes, 2040 GiB): use qcow2, vdi or vmdk`, { path: 'size', value: size });
  }
}

/** Dynamic VHD: footer copy, dynamic header, BAT, then one bitmap + 2 MiB block per allocated block, then the footer. */
export const vhdWriter: ContainerWriter = {
  async write(disk, sink, opts) {
    const size = ceilDiv(disk.size, 512) * 512;
    checkSize(size);
    const footer = encodeFooter(size, VHD_DISK_DYNAMIC, opts);
    const entries = ceilDiv(size, VHD_BLOCK_SIZE);
    const batOffset = 512 + 1024;
    const batBytes = ceilDiv(entries * 4, 512) * 512;
    const blocks = allocatedBlocks(disk, VHD_BLOCK_SIZE);
    const bitmapBytes = 512; // 4096 sectors per block, one bit each, padded to a sector
    const firstBlock = batOffset + batBytes;

    const header = new Uint8Array(1024);
    VhdDynamicHeader.encode({
      cookie: ASCII('cxsparse'),
      data_offset: NO_OFFSET,
      table_offset: batOffset,
      header_version: 0x00010000,
      max_table_entries: entries,
      block_size: VHD_BLOCK_SIZE,
    }, header);
    VhdDynamicHeader.encode({ checksum: vhdChecksum(header) }, header);

    const bat = new Uint8Array(batBytes).fill(0xff);
    const dv = new DataView(bat.buffer);
    blocks.forEach((b, i) => dv.setUint32(b * 4, (firstBlock + i * (bitmapBytes + VHD_BLOCK_SIZE)) / 512));

    await sink.write(footer);
    await sink.write(header);
    await sink.write(bat);
    const bitmap = new Uint8Array(bitmapBytes).fill(0xff);
    for (const run of blockRuns(disk, VHD_BLOCK_SIZE, VHD_BLOCK_SIZE)) {
      opts.signal?.throwIfAborted();
      await sink.write(bitmap);
      await sink.write(run.data);
      opts.onProgress?.(Math.min(disk.size, (run.first + 1) * VHD_BLOCK_SIZE), disk.size);
    }
    await sink.write(footer);
  },
};

/** Size of a fixed VHD's data: Azure accepts only whole MiB virtual sizes. */
export function vhdFixedSize(size: number): number {
  return ceilDiv(size, 1 << 20) * (1 << 20);
}

/** Fixed VHD: the raw disk (holes stay holes), rounded up to a whole MiB, then the footer. */
export const vhdFixedWriter: ContainerWriter = {
  async write(disk, sink, opts) {
    const size = vhdFixedSize(disk.size);
    checkSize(size);
    await writeRaw(disk, sink, opts, size);
    await sink.write(encodeFooter(size, VHD_DISK_FIXED, opts));
  },
};

async function writeRaw(disk: { size: number; extents: import('../extent/extent.js').Extent[] }, sink: Sink, opts: ContainerOptions, size: number): Promise<void> {
  for (const run of blockRuns(disk, 1 << 20)) {
    opts.signal?.throwIfAborted();
    const at = run.first * (1 << 20);
    if (at > sink.position) await sink.skip(at - sink.position);
    await sink.write(run.data);
    opts.onProgress?.(Math.min(disk.size, at + run.data.length), disk.size);
  }
  if (sink.position < size) await sink.skip(size - sink.position);
}
