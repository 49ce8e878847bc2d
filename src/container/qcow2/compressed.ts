import { closeSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressedBlocks } from '../parallel.js';
import { outputError, pace, registerTemporary, type Sink } from '../sink.js';
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
 * worker pool, in order) into spool files of the data area first; then header, refcounts and L1/L2
 * tables, which are now known, are written, followed by the spools. The output is still written
 * front to back, and memory stays bounded (one descriptor per allocated cluster).
 */
export const qcow2CompressedWriter: ContainerWriter = {
  async write(disk, sink, opts) {
    const cs = opts.clusterSize ?? DEFAULT_CLUSTER_SIZE;
    const size = Math.ceil(disk.size / 512) * 512;
    // Two spools: compressed clusters packed byte by byte, and clusters stored whole (which must be
    // cluster-aligned); the stored area follows the packed one, so no alignment padding is wasted.
    // Both are unlinked as soon as they are open: whatever ends the process, nothing is left.
    const spoolDir = mkdtempSync(join(tmpdir(), 'diskwright-qcow2-'));
    const forget = registerTemporary(spoolDir);
    let packed: Spool | undefined;
    let stored: Spool | undefined;
    try {
      packed = new Spool(join(spoolDir, 'packed'));
      stored = new Spool(join(spoolDir, 'stored'));
    } catch (e) {
      packed?.close();
      throw e;
    } finally {
      rmSync(spoolDir, { recursive: true, force: true });
      forget();
    }
    try {
      // Pass 1: compress and pack. Per written cluster: guest index, offset in its spool, length (-1: stored).
      const guest: number[] = [];
      const at: number[] = [];
      const len: number[] = [];
      for await (const c of compressedBlocks(disk, cs, { codec: 'deflate-qcow2', level: undefined })) {
        opts.signal?.throwIfAborted();
        guest.push(c.block);
        at.push(c.stored ? stored.size : packed.size);
        len.push(c.stored ? -1 : c.data.length);
        (c.stored ? stored : packed).put(c.data);
        opts.onProgress?.(Math.min(disk.size, (c.block + 1) * cs) * 0.95, disk.size);
      }
      const packedBytes = Math.ceil(packed.size / cs) * cs;
      for (let i = 0; i < guest.length; i++) if (len[i] === -1) at[i]! += packedBytes;
      const pos = packedBytes + stored.size;
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

      // The data area, copied from the spools.
      await packed.copyTo(sink, packedBytes);
      await stored.copyTo(sink, stored.size);
      opts.onProgress?.(disk.size, disk.size);
    } finally {
      packed.close();
      stored.close();
    }
  },
};

/**
 * An append-only scratch file (unlinked once open: only the descriptor names it), copied into the
 * sink afterwards (zeros past its end up to `length`).
 */
class Spool {
  private fd: number;
  size = 0;
  constructor(private readonly path: string) {
    try {
      this.fd = openSync(path, 'w+', 0o600);
    } catch (e) {
      throw outputError(path, e, 'create scratch file');
    }
    unlinkSync(path);
  }
  put(data: Uint8Array): void {
    let off = 0;
    try {
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off, this.size + off);
    } catch (e) {
      throw outputError(`scratch file ${this.path}`, e);
    }
    this.size += data.length;
  }
  async copyTo(sink: Sink, length: number): Promise<void> {
    const buf = new Uint8Array(4 << 20);
    for (let off = 0; off < length;) {
      const want = Math.min(buf.length, length - off);
      let n = off < this.size ? readSync(this.fd, buf, 0, Math.min(want, this.size - off), off) : 0;
      if (n < want) { buf.fill(0, n, want); n = want; }
      await sink.write(buf.subarray(0, n));
      off += n;
      await pace();
    }
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
