import { defineStruct } from '../util/struct.js';
import { deriveBytes } from '../util/ids.js';
import { ceilDiv } from './blocks.js';
import { compressedBlocks } from './parallel.js';
import type { ContainerWriter } from './types.js';
import type { Sink } from './sink.js';

/**
 * VMDK streamOptimized (VMware "Virtual Disk Format 1.1", "Hosted Sparse Extent Header" and
 * "Stream-Optimized Compressed Sparse Extents"; qemu block/vmdk.c). Little-endian. Layout:
 * header sector, embedded descriptor, then for each grain table's range its compressed grains
 * (each behind a grain marker) followed by the grain table (behind a GT marker); then the grain
 * directory, the footer (a header copy holding the directory's offset) and the end-of-stream marker.
 */
export const SparseExtentHeader = defineStruct('VMDK SparseExtentHeader', 512, [
  { name: 'magicNumber', offset: 0, kind: 'u32le' },
  { name: 'version', offset: 4, kind: 'u32le' },
  { name: 'flags', offset: 8, kind: 'u32le' },
  { name: 'capacity', offset: 12, kind: 'u64le' },
  { name: 'grainSize', offset: 20, kind: 'u64le' },
  { name: 'descriptorOffset', offset: 28, kind: 'u64le' },
  { name: 'descriptorSize', offset: 36, kind: 'u64le' },
  { name: 'numGTEsPerGT', offset: 44, kind: 'u32le' },
  { name: 'rgdOffset', offset: 48, kind: 'u64le' },
  { name: 'gdOffset', offset: 56, kind: 'u64le' },
  { name: 'overHead', offset: 64, kind: 'u64le' },
  { name: 'uncleanShutdown', offset: 72, kind: 'u8' },
  { name: 'singleEndLineChar', offset: 73, kind: 'u8' },
  { name: 'nonEndLineChar', offset: 74, kind: 'u8' },
  { name: 'doubleEndLineChar1', offset: 75, kind: 'u8' },
  { name: 'doubleEndLineChar2', offset: 76, kind: 'u8' },
  { name: 'compressAlgorithm', offset: 77, kind: 'u16le' },
]);

/** Stream marker: `val` (LBA or sector count), `size` (compressed bytes, 0 for metadata), `type`. */
export const Marker = defineStruct('VMDK marker', 512, [
  { name: 'val', offset: 0, kind: 'u64le' },
  { name: 'size', offset: 8, kind: 'u32le' },
  { name: 'type', offset: 12, kind: 'u32le' },
]);

export const SPARSE_MAGICNUMBER = 0x564d444b; // "KDMV"
const FLAG_VALID_NEWLINE_DETECTION = 1 << 0;
export const FLAG_COMPRESSED = 1 << 16;
export const FLAG_MARKERS = 1 << 17;
const COMPRESSION_DEFLATE = 1;
export const GD_AT_END = 0xffffffffffffffffn;
export const MARKER_EOS = 0;
export const MARKER_GT = 1;
export const MARKER_GD = 2;
export const MARKER_FOOTER = 3;
export const GRAIN_SECTORS = 128; // 64 KiB grains
export const GTES_PER_GT = 512;
const GRAIN = GRAIN_SECTORS * 512;

/** The CID of a seed: an unsigned 32-bit value (bit 1 clear, as before). */
export function vmdkCid(seed: string): number {
  // `>>> 0`: a bitwise AND gives a signed 32-bit result, negative for half of all seeds.
  return (new DataView(deriveBytes(seed, 'vmdk-cid', 4).buffer).getUint32(0) & 0xfffffffd) >>> 0;
}

/** The embedded descriptor. `CID=` is written as 8 lowercase hex digits, whatever the sign of `cid`. */
export function vmdkDescriptor(cid: number, sectors: number, fileName: string): string {
  const cylinders = Math.min(65535, Math.floor(sectors / (16 * 63)));
  return [
    '# Disk DescriptorFile',
    'version=1',
    `CID=${(cid >>> 0).toString(16).padStart(8, '0')}`,
    'parentCID=ffffffff',
    'createType="streamOptimized"',
    '',
    '# Extent description',
    `RW ${sectors} SPARSE "${fileName}"`,
    '',
    '# The Disk Data Base',
    '#DDB',
    '',
    'ddb.virtualHWVersion = "4"',
    `ddb.geometry.cylinders = "${cylinders}"`,
    'ddb.geometry.heads = "16"',
    'ddb.geometry.sectors = "63"',
    'ddb.adapterType = "ide"',
    '',
  ].join('\n');
}

function header(sectors: number, descriptorSectors: number, overHead: number, gdOffset: bigint | number): Uint8Array {
  const buf = new Uint8Array(512);
  SparseExtentHeader.encode({
    magicNumber: SPARSE_MAGICNUMBER,
    version: 3,
    flags: FLAG_VALID_NEWLINE_DETECTION | FLAG_COMPRESSED | FLAG_MARKERS,
    capacity: sectors,
    grainSize: GRAIN_SECTORS,
    descriptorOffset: 1,
    descriptorSize: descriptorSectors,
    numGTEsPerGT: GTES_PER_GT,
    rgdOffset: 0,
    gdOffset,
    overHead,
    singleEndLineChar: 0x0a,
    nonEndLineChar: 0x20,
    doubleEndLineChar1: 0x0d,
    doubleEndLineChar2: 0x0a,
    compressAlgorithm: COMPRESSION_DEFLATE,
  }, buf);
  return buf;
}

function marker(val: number, type: number): Uint8Array {
  const m = new Uint8Array(512);
  Marker.encode({ val, size: 0, type }, m);
  return m;
}

async function pad(sink: Sink): Promise<void> {
  const r = sink.position % 512;
  if (r !== 0) await sink.skip(512 - r);
}

export const vmdkWriter: ContainerWriter = {
  async write(disk, sink, opts) {
    const sectors = ceilDiv(disk.size, 512);
    const cid = vmdkCid(opts.seed);
    const desc = new TextEncoder().encode(vmdkDescriptor(cid, sectors, opts.name ?? 'disk.vmdk'));
    const descriptorSectors = Math.max(20, ceilDiv(desc.length, 512));
    const overHead = ceilDiv(1 + descriptorSectors, GRAIN_SECTORS) * GRAIN_SECTORS;
    const grains = ceilDiv(sectors, GRAIN_SECTORS);
    const gdEntries = ceilDiv(grains, GTES_PER_GT);
    const gd = new Uint8Array(ceilDiv(gdEntries * 4, 512) * 512);
    const gdView = new DataView(gd.buffer);

    await sink.write(header(sectors, descriptorSectors, overHead, GD_AT_END));
    await sink.write(desc);
    await sink.skip(overHead * 512 - sink.position);

    const gt = new Uint8Array(GTES_PER_GT * 4);
    const gtView = new DataView(gt.buffer);
    let gtIndex = -1;
    let gtUsed = false;
    const flushGt = async (): Promise<void> => {
      if (gtIndex < 0 || !gtUsed) return;
      await sink.write(marker(gt.length / 512, MARKER_GT));
      gdView.setUint32(gtIndex * 4, sink.position / 512, true);
      await sink.write(gt);
    };
    const m = new Uint8Array(12);
    for await (const g of compressedBlocks(disk, GRAIN, { codec: 'zlib', level: 6 })) {
      opts.signal?.throwIfAborted();
      const t = Math.floor(g.block / GTES_PER_GT);
      if (t !== gtIndex) {
        await flushGt();
        gtIndex = t;
        gtUsed = false;
        gt.fill(0);
      }
      gtView.setUint32((g.block % GTES_PER_GT) * 4, sink.position / 512, true);
      gtUsed = true;
      const mv = new DataView(m.buffer);
      mv.setBigUint64(0, BigInt(g.block * GRAIN_SECTORS), true);
      mv.setUint32(8, g.data.length, true);
      await sink.write(m);
      await sink.write(g.data);
      await pad(sink);
      opts.onProgress?.(Math.min(disk.size, (g.block + 1) * GRAIN), disk.size);
    }
    await flushGt();

    await sink.write(marker(gd.length / 512, MARKER_GD));
    const gdOffset = sink.position / 512;
    await sink.write(gd);
    await sink.write(marker(1, MARKER_FOOTER));
    await sink.write(header(sectors, descriptorSectors, overHead, gdOffset));
    await sink.write(marker(0, MARKER_EOS));
    opts.onProgress?.(disk.size, disk.size);
  },
};
