import { bzip2Codec } from '../codec/bzip2.js';
import { codecs, type CodecName } from '../codec/registry.js';
import type { CodecParams } from '../codec/types.js';
import { isZero } from './blocks.js';

/**
 * The worker's job dispatcher: a job names a codec of the table (src/codec/registry.ts), whose
 * `compressFrame` runs on the worker thread (see pool.ts, worker.ts). Whole-file streams are made
 * of independently compressed frames concatenated in order, which every decoder reads as one
 * stream: zstd frames, xz streams, gzip members, bzip2 streams. Cluster/grain jobs compress each
 * `blockSize` piece separately, with zero detection.
 */
export type Codec = CodecName;

/** Exposed for the tests (its heap is checked for leaks). */
export { bzip2Codec };

export interface Job {
  id: number;
  codec: Codec;
  level: number | undefined;
  data: Uint8Array;
  /** When set, compress each `blockSize` piece separately (cluster/grain compression). */
  blockSize?: number;
  /** The codec's settings beyond the level (squashfs xz: dictionary size and BCJ filter). */
  params?: CodecParams;
  /** blockSize jobs: compress all-zero pieces too instead of dropping them (-1): squashfs fragment and metadata blocks. */
  keepZeros?: boolean;
  /** blockSize jobs: a piece whose compressed form is not smaller is returned as is (-2), as squashfs stores such blocks. */
  storeIncompressible?: boolean;
}

export interface JobResult {
  id: number;
  /** Concatenated outputs. */
  data: Uint8Array;
  /**
   * Per block (blockSize jobs): -1 = all zeros (nothing stored), -2 = stored uncompressed (the
   * compressed form was not smaller than the block), otherwise the compressed length.
   */
  sizes?: number[];
  error?: string;
}

/**
 * Compress one frame with the named codec, at its declared default level unless one is given. The
 * result is always a buffer of its own.
 */
export function compressFrame(codec: Codec, data: Uint8Array, level: number | undefined, params?: CodecParams): Promise<Uint8Array> {
  const c = codecs[codec];
  return c.compressFrame(data, level ?? c.defaultLevel, params);
}

/** Run a job: a frame, or per-block compression with zero detection. */
export async function encode(job: Job): Promise<JobResult> {
  if (!job.blockSize) return { id: job.id, data: await compressFrame(job.codec, job.data, job.level, job.params) };
  const parts: Uint8Array[] = [];
  const sizes: number[] = [];
  const bs = job.blockSize;
  for (let off = 0; off < job.data.length; off += bs) {
    const block = job.data.subarray(off, off + bs);
    if (!job.keepZeros && isZero(block)) { sizes.push(-1); continue; }
    const c = await compressFrame(job.codec, block, job.level, job.params);
    if ((job.codec === 'deflate-qcow2' && c.length >= bs) || (job.storeIncompressible && c.length >= block.length)) {
      sizes.push(-2);
      parts.push(block);
    } else {
      sizes.push(c.length);
      parts.push(c);
    }
  }
  return { id: job.id, data: concat(parts), sizes };
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
