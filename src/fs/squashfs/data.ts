/**
 * The data pass of the squashfs planner (squashfs.rst "Data and fragment blocks"): every regular
 * file's bytes are read once, in data order, cut into blocks, compressed on the worker pool and
 * written to a temporary file in a fixed order, so the bytes do not depend on how many workers
 * ran or which finished first. As mksquashfs:
 * - a file smaller than a block goes whole into a fragment block shared with other small files
 *   (tail-end packing), unless fragments are off; larger files keep their last, short block;
 * - an all-zero block is not stored (its block-list entry is 0: sparse);
 * - a block whose compressed form is not smaller is stored as is (bit 24 of its size);
 * - a file with the same content as an earlier one is stored once: candidates are found by size,
 *   then compared by the sha256 of their content (read again only when sizes collide).
 * Memory is bounded by the jobs in flight, whatever the file sizes.
 *
 * @example
 * const data = await writeData(files, { blockSize: 131072, fragments: true, dedup: true, ... });
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobResult } from '../../container/codecs.js';
import type { CompressionPool } from '../../container/pool.js';
import { readContent } from '../../extent/content.js';
import { ExtentReader } from '../../extent/read.js';
import type { TreeNode } from '../../tree/model.js';
import type { SquashfsCompressor } from './compressors.js';
import { COMPRESSED_BIT_BLOCK, INVALID_FRAG } from './format.js';

/** Where one file's data went. Files with the same content share one. */
export interface StoredData {
  /** Absolute image offset of its first stored block (0 when it has none). */
  start: number;
  /** Per block: the stored size, with COMPRESSED_BIT_BLOCK when stored as is; 0 for an all-zero block. */
  blocks: number[];
  /** Its fragment block's index and its offset there, or INVALID_FRAG. */
  fragment: number;
  fragmentOffset: number;
  /** Bytes in all-zero (unstored) blocks. */
  sparseBytes: number;
}

export interface DataResult {
  /** Stored data by inode (the first node of each regular file's link group). */
  files: Map<TreeNode, StoredData>;
  /** Fragment blocks: absolute start and stored size (with COMPRESSED_BIT_BLOCK when stored as is). */
  fragments: { start: number; size: number }[];
  /** Temporary file holding the data area, and its length (it is placed at `dataStart`). */
  path: string;
  bytes: number;
  /** Remove the temporary file. */
  dispose(): void;
}

export interface DataOptions {
  blockSize: number;
  fragments: boolean;
  dedup: boolean;
  compressor: SquashfsCompressor;
  pool: CompressionPool;
  /** Absolute image offset where the data area starts (after the superblock and compressor options). */
  dataStart: number;
  signal?: AbortSignal;
}

/** Bytes of file data per job: several blocks of one file, so small blocks do not mean many messages. */
const JOB_BYTES = 1 << 20;
/** Jobs in flight per worker: both cores busy, memory bounded. */
const IN_FLIGHT_PER_WORKER = 4;
/** Writes to the temporary file are gathered into buffers of this size. */
const WRITE_BUFFER = 4 << 20;

type Item =
  | { kind: 'start'; data: StoredData }
  | { kind: 'blocks'; data: StoredData; pieces: number[]; result: Promise<JobResult> }
  | { kind: 'fragment'; index: number; length: number; result: Promise<JobResult> };

/** The temporary data file, written front to back through a buffer. */
class DataFile {
  readonly dir = mkdtempSync(join(tmpdir(), 'diskwright-squashfs-'));
  readonly path = join(this.dir, 'data');
  private fd: number | undefined = openSync(this.path, 'w');
  private buf = new Uint8Array(WRITE_BUFFER);
  private used = 0;
  /** Bytes written (buffered ones included). */
  length = 0;

  write(data: Uint8Array): void {
    if (this.used + data.length > this.buf.length) this.drain();
    if (data.length > this.buf.length) writeAll(this.fd!, data);
    else { this.buf.set(data, this.used); this.used += data.length; }
    this.length += data.length;
  }

  private drain(): void {
    if (this.used > 0) writeAll(this.fd!, this.buf.subarray(0, this.used));
    this.used = 0;
  }

  close(): void {
    if (this.fd === undefined) return;
    try { this.drain(); } finally { closeSync(this.fd); this.fd = undefined; }
  }

  remove(): void {
    try { this.close(); } catch { /* removing it anyway */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let at = 0;
  while (at < data.length) at += writeSync(fd, data, at, data.length - at);
}

/** Read, compress and store the data of `files` (regular-file inodes, in data order). */
export async function writeData(files: readonly TreeNode[], o: DataOptions): Promise<DataResult> {
  const out = new DataFile();
  const reader = new ExtentReader();
  const queue: Item[] = [];
  const stored = new Map<TreeNode, StoredData>();
  const fragments: { start: number; size: number }[] = [];
  const bs = o.blockSize;
  const limit = o.pool.size * IN_FLIGHT_PER_WORKER;
  let inFlight = 0;
  const c = o.compressor;
  const job = (data: Uint8Array, keepZeros: boolean): Promise<JobResult> => o.pool.run({
    codec: c.codec, level: c.level, data, blockSize: bs, storeIncompressible: true, keepZeros,
    ...(c.dataParams ? { params: c.dataParams } : {}),
  });

  // Results are written strictly in queue order.
  const settle = async (item: Item): Promise<void> => {
    if (item.kind === 'start') { item.data.start = o.dataStart + out.length; return; }
    const r = await item.result;
    inFlight--;
    const sizes = r.sizes!;
    let at = 0;
    if (item.kind === 'fragment') {
      const size = sizes[0]!;
      const len = size === -2 ? item.length : size;
      fragments[item.index] = { start: o.dataStart + out.length, size: size === -2 ? len | COMPRESSED_BIT_BLOCK : len };
      out.write(r.data.subarray(0, len));
      return;
    }
    for (let i = 0; i < sizes.length; i++) {
      const size = sizes[i]!;
      const piece = item.pieces[i]!;
      if (size === -1) { item.data.blocks.push(0); item.data.sparseBytes += piece; continue; }
      const len = size === -2 ? piece : size;
      out.write(r.data.subarray(at, at + len));
      item.data.blocks.push(size === -2 ? len | COMPRESSED_BIT_BLOCK : len);
      at += len;
    }
  };
  const push = async (item: Item): Promise<void> => {
    queue.push(item);
    if (item.kind !== 'start') inFlight++;
    while (inFlight >= limit) await settle(queue.shift()!);
  };

  // The fragment block being filled.
  let frag = new Uint8Array(bs);
  let fragUsed = 0;
  const flushFragment = async (): Promise<void> => {
    if (fragUsed === 0) return;
    const index = fragments.length;
    fragments.push({ start: 0, size: 0 });
    await push({ kind: 'fragment', index, length: fragUsed, result: job(frag.subarray(0, fragUsed).slice(), true) });
    frag = new Uint8Array(bs);
    fragUsed = 0;
  };

  // Duplicate candidates by size; within a size, by content digest once a second file has it
  // (the first one's digest is taken then). A size group's digests are distinct: the first file
  // of a content is stored, later ones share it.
  const bySize = new Map<number, { first: TreeNode; data: StoredData; byDigest?: Map<string, StoredData> }>();
  const digestOf = (node: TreeNode, held?: Uint8Array): string => {
    const h = createHash('sha256');
    if (held) return h.update(held).digest('hex');
    for (let from = 0; from < node.size; from += JOB_BYTES) h.update(readContent(node.content!, node.size, from, Math.min(JOB_BYTES, node.size - from), reader));
    return h.digest('hex');
  };

  try {
    for (const node of files) {
      o.signal?.throwIfAborted();
      const size = node.size;
      const data: StoredData = { start: 0, blocks: [], fragment: INVALID_FRAG, fragmentOffset: 0, sparseBytes: 0 };
      if (size === 0) { stored.set(node, data); continue; }
      if (!node.content) throw new Error(`squashfs: file of ${size} bytes without content in the tree`);
      const small = o.fragments && size < bs;
      // A small file is read whole here (it is at most a block); a larger one block by block below.
      const content = node.content;
      let held = small ? readContent(content, size, 0, size, reader) : undefined;
      if (o.dedup) {
        const group = bySize.get(size);
        if (!group) bySize.set(size, { first: node, data });
        else {
          const digest = digestOf(node, held);
          group.byDigest ??= new Map([[digestOf(group.first), group.data]]);
          const twin = group.byDigest.get(digest);
          if (twin) { stored.set(node, twin); continue; }
          group.byDigest.set(digest, data);
        }
      }
      stored.set(node, data);
      if (small) {
        if (fragUsed + size > bs) await flushFragment();
        data.fragment = fragments.length;
        data.fragmentOffset = fragUsed;
        frag.set(held!, fragUsed);
        fragUsed += size;
        continue;
      }
      await push({ kind: 'start', data });
      const perJob = Math.max(1, Math.floor(JOB_BYTES / bs)) * bs;
      for (let from = 0; from < size; from += perJob) {
        o.signal?.throwIfAborted();
        const length = Math.min(perJob, size - from);
        const bytes = held && from === 0 && length === size ? held : readContent(content, size, from, length, reader);
        held = undefined;
        const pieces: number[] = [];
        for (let p = 0; p < length; p += bs) pieces.push(Math.min(bs, length - p));
        await push({ kind: 'blocks', data, pieces, result: job(bytes, false) });
      }
    }
    await flushFragment();
    while (queue.length > 0) await settle(queue.shift()!);
    out.close();
  } catch (e) {
    // Settle what is still running before the temporary file goes, so no rejection is left unhandled.
    await Promise.allSettled(queue.map((q) => (q.kind === 'start' ? undefined : q.result)));
    out.remove();
    throw e;
  } finally {
    reader.closeAll();
  }
  return { files: stored, fragments, path: out.path, bytes: out.length, dispose: () => out.remove() };
}
