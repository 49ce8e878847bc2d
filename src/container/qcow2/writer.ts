import { allocatedBlocks, blockRuns } from '../blocks.js';
import type { ContainerWriter } from '../types.js';
import type { Sink } from '../sink.js';
import {
  DEFAULT_CLUSTER_SIZE, QCOW_OFLAG_COPIED, encodeHeader, encodeRefcountBlock, encodeRefcountTable, planLayout, type Qcow2Layout,
} from './format.js';

/**
 * qcow2 v3, uncompressed: every cluster an extent touches is allocated, in guest order, after the
 * metadata; everything else stays unallocated (reads as zeros). Written strictly front to back.
 */
export const qcow2Writer: ContainerWriter = {
  async write(disk, sink, opts) {
    const clusterSize = opts.clusterSize ?? DEFAULT_CLUSTER_SIZE;
    const data = allocatedBlocks(disk, clusterSize);
    const l2Entries = clusterSize / 8;
    const tables = distinctTables(data, l2Entries);
    // Virtual size in whole sectors: qemu's block layer counts sectors and would drop a partial one.
    const size = Math.ceil(disk.size / 512) * 512;
    const layout = planLayout(size, clusterSize, tables.length, data.length);
    await writeMetadata(sink, layout, size, tables, () => 1);

    // L2 tables: data cluster i (in guest order) lives at host cluster dataAt + i.
    const l2 = new Uint8Array(clusterSize);
    const dv = new DataView(l2.buffer);
    let i = 0;
    for (const t of tables) {
      l2.fill(0);
      while (i < data.length && Math.floor(data[i]! / l2Entries) === t) {
        const host = BigInt((layout.dataAt + i) * clusterSize);
        dv.setBigUint64((data[i]! % l2Entries) * 8, host | QCOW_OFLAG_COPIED);
        i++;
      }
      await sink.write(l2);
    }

    for (const run of blockRuns(disk, clusterSize)) {
      opts.signal?.throwIfAborted();
      await sink.write(run.data);
      opts.onProgress?.(Math.min(disk.size, (run.first + run.count) * clusterSize), disk.size);
    }
    opts.onProgress?.(disk.size, disk.size);
  },
};

/** Sorted L1 indexes that have at least one allocated cluster. */
export function distinctTables(clusters: readonly number[], l2Entries: number): number[] {
  const out: number[] = [];
  for (const c of clusters) {
    const t = Math.floor(c / l2Entries);
    if (out.length === 0 || out[out.length - 1] !== t) out.push(t);
  }
  return out;
}

/**
 * Header, refcount table, refcount blocks and L1 table (L2 table `k` of `tables` at host cluster
 * `l2At + k`). `refcount(c)` gives each host cluster's count.
 */
export async function writeMetadata(sink: Sink, layout: Qcow2Layout, size: number, tables: readonly number[], refcount: (cluster: number) => number): Promise<void> {
  const cs = layout.clusterSize;
  await sink.write(encodeHeader(layout, size));
  await sink.write(encodeRefcountTable(layout));
  const block = new Uint8Array(cs);
  for (let b = 0; b < layout.refcountBlocks; b++) await sink.write(encodeRefcountBlock(layout, b, refcount, block));
  const l1 = new Uint8Array(layout.l1Clusters * cs);
  const dv = new DataView(l1.buffer);
  tables.forEach((t, k) => dv.setBigUint64(t * 8, BigInt((layout.l2At + k) * cs) | QCOW_OFLAG_COPIED));
  await sink.write(l1);
}
