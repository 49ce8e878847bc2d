import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressedBlocks } from '../parallel.js';
import type { ContainerWriter } from '../types.js';
import {
  DEFAULT_CLUSTER_SIZE, QCOW_OFLAG_COMPRESSED, QCOW_OFLAG_COPIED, planLayout,
} from './format.js';
import { distinctTables, writeMetadata } from './writer.js';

/**
 * qcow2 v3 with compressed clusters, as `qemu-img convert -c` writes them: each cluster is raw
 * deflate with a 4 KiB window, packed back to back and addressed by a compressed cluster descriptor
 * (qcow2.txt "Compressed Clusters Descriptor"); a cluster that does not shrink is stored as a normal
 * cluster; all-zero clusters stay unallocated.
 *
 * Where each cluster lands depends on the compressed sizes, so the clusters are compressed (on the
 * worker pool, in order) into a spool file of the data area first; then header, refcounts and L1/L2
 * tables, which are now known, are written, followed by the spool. The output is still written
 * front to back, and memory stays bounded (one descriptor per allocated cluster).
 */
export const qcow2CompressedWriter: ContainerWriter = {
  format: 'qcow2-compressed',
  suffix: '.qcow2',
  async write(disk, sink, opts) {
    const cs = opts.clusterSize ?? DEFAULT_CLUSTER_SIZE;
    const size = Math.ceil(disk.size / 512) * 512;
    const spoolDir = mkdtempSync(join(tmpdir(), 'diskwright-qcow2-'));
    const spoolPath = join(spoolDir, 'data');
    const fd = openSync(spoolPath, 'w+');
    try {
      // Pass 1: compress and pack. Per written cluster: guest index, offset in the data area, length (-1: stored).
      const guest: number[] = [];
      const at: number[] = [];
      const len: number[] = [];
      let pos = 0;
      const pad = new Uint8Array(cs);
      const put = (data: Uint8Array): void => {
        let off = 0;
        while (off < data.length) off += writeSync(fd, data, off, data.length - off, pos + off);
        pos += data.length;
      };
      for await (const c of compressedBlocks(disk, cs, { codec: 'deflate-qcow2', level: undefined })) {
        opts.signal?.throwIfAborted();
        if (c.stored) {
          const r = pos % cs;
          if (r !== 0) put(pad.subarray(0, cs - r));
        }
        guest.push(c.block);
        at.push(pos);
        len.push(c.stored ? -1 : c.data.length);
        put(c.data);
        opts.onProgress?.(Math.min(disk.size, (c.block + 1) * cs) * 0.95, disk.size);
      }
      if (pos % cs !== 0) put(pad.subarray(0, cs - (pos % cs)));
      const dataClusters = pos / cs;

      const l2Entries = cs / 8;
      const tables = distinctTables(guest, l2Entries);
      const layout = planLayout(size, cs, tables.length, dataClusters);
      const base = layout.dataAt * cs;

      // Refcounts of the data area: every host cluster a compressed cluster's sectors touch counts it.
      const dataRefs = new Uint16Array(dataClusters);
      for (let i = 0; i < guest.length; i++) {
        if (len[i] === -1) { dataRefs[at[i]! / cs]! += 1; continue; }
        const start = Math.floor(at[i]! / 512) * 512;
        const end = Math.ceil((at[i]! + len[i]!) / 512) * 512;
        for (let c = Math.floor(start / cs); c < Math.ceil(end / cs); c++) dataRefs[c]! += 1;
      }
      await writeMetadata(sink, layout, size, tables, (c) => (c < layout.dataAt ? 1 : dataRefs[c - layout.dataAt]!));

      // L2 tables.
      const x = 62 - (layout.clusterBits - 8);
      const l2 = new Uint8Array(cs);
      const dv = new DataView(l2.buffer);
      let i = 0;
      for (const t of tables) {
        l2.fill(0);
        while (i < guest.length && Math.floor(guest[i]! / l2Entries) === t) {
          const host = base + at[i]!;
          let entry: bigint;
          if (len[i] === -1) {
            entry = BigInt(host) | QCOW_OFLAG_COPIED;
          } else {
            const extraSectors = Math.floor((host + len[i]! - 1) / 512) - Math.floor(host / 512);
            entry = QCOW_OFLAG_COMPRESSED | (BigInt(extraSectors) << BigInt(x)) | BigInt(host);
          }
          dv.setBigUint64((guest[i]! % l2Entries) * 8, entry);
          i++;
        }
        await sink.write(l2);
      }

      // The data area, copied from the spool.
      const buf = new Uint8Array(4 << 20);
      for (let off = 0; off < pos;) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, pos - off), off);
        await sink.write(buf.subarray(0, n));
        off += n;
      }
      opts.onProgress?.(disk.size, disk.size);
    } finally {
      closeSync(fd);
      rmSync(spoolDir, { recursive: true, force: true });
    }
  },
};
