import { defineStruct } from '../../util/struct.js';
import { DiskwrightError } from '../../errors.js';
import { ceilDiv } from '../blocks.js';

/**
 * qcow2 version 3 on-disk structures (qemu docs/interop/qcow2.txt, "Header" and "Cluster mapping").
 * All fields big-endian.
 */
export const QCOW2_MAGIC = 0x514649fb; // 'Q' 'F' 'I' 0xfb
export const QCOW2_HEADER_LENGTH = 104;

export const Qcow2Header = defineStruct('qcow2 header', QCOW2_HEADER_LENGTH, [
  { name: 'magic', offset: 0, kind: 'u32be' },
  { name: 'version', offset: 4, kind: 'u32be' },
  { name: 'backing_file_offset', offset: 8, kind: 'u64be' },
  { name: 'backing_file_size', offset: 16, kind: 'u32be' },
  { name: 'cluster_bits', offset: 20, kind: 'u32be' },
  { name: 'size', offset: 24, kind: 'u64be' },
  { name: 'crypt_method', offset: 32, kind: 'u32be' },
  { name: 'l1_size', offset: 36, kind: 'u32be' },
  { name: 'l1_table_offset', offset: 40, kind: 'u64be' },
  { name: 'refcount_table_offset', offset: 48, kind: 'u64be' },
  { name: 'refcount_table_clusters', offset: 56, kind: 'u32be' },
  { name: 'nb_snapshots', offset: 60, kind: 'u32be' },
  { name: 'snapshots_offset', offset: 64, kind: 'u64be' },
  { name: 'incompatible_features', offset: 72, kind: 'u64be' },
  { name: 'compatible_features', offset: 80, kind: 'u64be' },
  { name: 'autoclear_features', offset: 88, kind: 'u64be' },
  { name: 'refcount_order', offset: 96, kind: 'u32be' },
  { name: 'header_length', offset: 100, kind: 'u32be' },
]);

/** L1/L2 entry bit 63: refcount is exactly one ("COPIED"). */
export const QCOW_OFLAG_COPIED = 1n << 63n;
/** L2 entry bit 62: compressed cluster. */
export const QCOW_OFLAG_COMPRESSED = 1n << 62n;
/** Standard cluster descriptor bits 9-55: host cluster offset. */
export const L2E_OFFSET_MASK = 0x00fffffffffffe00n;
export const L1E_OFFSET_MASK = 0x00fffffffffffe00n;

/** Refcounts are 16 bits (refcount_order 4), qemu's default. */
export const REFCOUNT_ORDER = 4;

export const DEFAULT_CLUSTER_SIZE = 65536;

export function clusterBits(clusterSize: number): number {
  const bits = Math.log2(clusterSize);
  if (!Number.isInteger(bits) || bits < 9 || bits > 21) {
    throw new DiskwrightError('E_CLUSTER_SIZE', `qcow2 cluster size ${clusterSize} is not a power of two from 512 bytes to 2 MiB`, { path: 'clusterSize', value: clusterSize });
  }
  return bits;
}

/**
 * Where the metadata of an image goes when it is laid out front to back: header, refcount table,
 * refcount blocks, L1 table, L2 tables, then `dataClusters` clusters of data (or packed compressed
 * data). The refcount structures cover every cluster of the file including themselves
 * (qcow2.txt "Host cluster management").
 */
export interface Qcow2Layout {
  clusterSize: number;
  clusterBits: number;
  l2Entries: number;
  l1Size: number;
  l1Clusters: number;
  refcountTableClusters: number;
  refcountBlocks: number;
  /** Cluster indexes of the first of each area. */
  refcountTableAt: number;
  refcountBlocksAt: number;
  l1At: number;
  l2At: number;
  dataAt: number;
  /** Total host clusters in the file. */
  totalClusters: number;
}

export function planLayout(size: number, clusterSize: number, l2Tables: number, dataClusters: number): Qcow2Layout {
  const bits = clusterBits(clusterSize);
  const l2Entries = clusterSize / 8;
  const l1Size = ceilDiv(ceilDiv(size, clusterSize), l2Entries);
  const l1Clusters = Math.max(1, ceilDiv(l1Size * 8, clusterSize));
  const refcountsPerBlock = (clusterSize * 8) >> REFCOUNT_ORDER;
  const fixed = 1 + l1Clusters + l2Tables + dataClusters;
  let rt = 1;
  let rb = 1;
  for (;;) {
    const total = fixed + rt + rb;
    const rb2 = ceilDiv(total, refcountsPerBlock);
    const rt2 = Math.max(1, ceilDiv(rb2 * 8, clusterSize));
    if (rb2 === rb && rt2 === rt) break;
    rb = Math.max(rb, rb2);
    rt = Math.max(rt, rt2);
  }
  const refcountTableAt = 1;
  const refcountBlocksAt = refcountTableAt + rt;
  const l1At = refcountBlocksAt + rb;
  const l2At = l1At + l1Clusters;
  const dataAt = l2At + l2Tables;
  return {
    clusterSize, clusterBits: bits, l2Entries, l1Size, l1Clusters,
    refcountTableClusters: rt, refcountBlocks: rb,
    refcountTableAt, refcountBlocksAt, l1At, l2At, dataAt,
    totalClusters: dataAt + dataClusters,
  };
}

/** The header cluster. */
export function encodeHeader(layout: Qcow2Layout, size: number): Uint8Array {
  const buf = new Uint8Array(layout.clusterSize);
  Qcow2Header.encode({
    magic: QCOW2_MAGIC,
    version: 3,
    cluster_bits: layout.clusterBits,
    size,
    l1_size: layout.l1Size,
    l1_table_offset: layout.l1At * layout.clusterSize,
    refcount_table_offset: layout.refcountTableAt * layout.clusterSize,
    refcount_table_clusters: layout.refcountTableClusters,
    refcount_order: REFCOUNT_ORDER,
    header_length: QCOW2_HEADER_LENGTH,
  }, buf);
  // Header extensions follow; the end-of-extensions marker (type 0, length 0) is the zero bytes here.
  return buf;
}

/** The refcount table: one entry per refcount block. */
export function encodeRefcountTable(layout: Qcow2Layout): Uint8Array {
  const buf = new Uint8Array(layout.refcountTableClusters * layout.clusterSize);
  const dv = new DataView(buf.buffer);
  for (let i = 0; i < layout.refcountBlocks; i++) {
    dv.setBigUint64(i * 8, BigInt((layout.refcountBlocksAt + i) * layout.clusterSize));
  }
  return buf;
}

/**
 * Refcount block `index`: `refcount(cluster)` for the clusters it covers (16-bit entries).
 */
export function encodeRefcountBlock(layout: Qcow2Layout, index: number, refcount: (cluster: number) => number, out?: Uint8Array): Uint8Array {
  const buf = out ?? new Uint8Array(layout.clusterSize);
  buf.fill(0);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const per = layout.clusterSize / 2;
  const first = index * per;
  const end = Math.min(first + per, layout.totalClusters);
  for (let c = first; c < end; c++) dv.setUint16((c - first) * 2, refcount(c));
  return buf;
}
