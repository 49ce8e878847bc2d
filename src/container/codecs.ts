import { createRequire } from 'node:module';
import { constants, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { isZero } from './blocks.js';

/**
 * The codecs, as pure buffer-to-buffer functions that run on worker threads (see pool.ts).
 * Whole-file streams are made of independently compressed frames concatenated in order, which
 * every decoder reads as one stream: zstd frames, xz streams, gzip members, bzip2 streams.
 *
 * Packages (npm registry only, no download at install time): zlib is Node's; zstd is
 * @bokuweb/zstd-wasm (WASM); xz is node-liblzma (liblzma, prebuilt addon shipped in the
 * package); bzip2 is libbzip2-wasm (libbzip2 compiled to WASM).
 */
export type Codec = 'zlib' | 'deflate-qcow2' | 'gzip' | 'zstd' | 'xz' | 'bzip2';

export interface Job {
  id: number;
  codec: Codec;
  level: number | undefined;
  data: Uint8Array;
  /** When set, compress each `blockSize` piece separately (cluster/grain compression). */
  blockSize?: number;
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

const require = createRequire(import.meta.url);

interface ZstdWasm { init(): Promise<void>; compress(buf: Uint8Array, level?: number): Uint8Array; decompress(buf: Uint8Array): Uint8Array }
/**
 * Each codec initialises once per thread: the promise is memoised. (@bokuweb/zstd-wasm's `init()`
 * instantiates a new WASM module on every call; a second instance finishing after the first had
 * been used switched the heap views to the new memory while the exports stayed bound to the old
 * one, and every later frame came out as garbage.)
 */
let zstd: Promise<ZstdWasm> | undefined;
function zstdCodec(): Promise<ZstdWasm> {
  zstd ??= (async () => {
    const z = require('@bokuweb/zstd-wasm') as ZstdWasm;
    await z.init();
    return z;
  })();
  return zstd;
}

interface LzmaModule { xzSync(buf: Buffer, opts?: { preset?: number; check?: number; chunkSize?: number }): Buffer; unxzSync(buf: Buffer): Buffer }
let lzma: Promise<LzmaModule> | undefined;
function lzmaCodec(): Promise<LzmaModule> {
  lzma ??= import('node-liblzma') as unknown as Promise<LzmaModule>;
  return lzma;
}

interface Bz2Module {
  compressBZ2(data: Uint8Array, blockSize: number, workFactor: number): { error: number; output: Uint8Array };
  decompressBZ2(data: Uint8Array, small: number): { error: number; output: Uint8Array };
  /** Frees a pointer of the module's heap (compressBZ2's output buffer, which the module never frees). */
  free(ptr: number): void;
  /** The module's current heap buffer (replaced when the heap grows). */
  heap(): ArrayBufferLike;
}
let bz2: Promise<Bz2Module> | undefined;
export function bzip2Codec(): Promise<Bz2Module> {
  if (!bz2) {
    bz2 = new Promise((resolve) => {
      const factory = require('libbzip2-wasm') as () => Bz2Module & { onRuntimeInitialized?: () => void; _free(ptr: number): void; HEAPU8: Uint8Array };
      const m = factory();
      // The emscripten module is thenable and resolves to itself; wait for the runtime instead.
      m.onRuntimeInitialized = () => resolve({
        compressBZ2: m.compressBZ2.bind(m), decompressBZ2: m.decompressBZ2.bind(m),
        free: (ptr) => m._free(ptr), heap: () => m.HEAPU8.buffer,
      });
    });
  }
  return bz2;
}

/**
 * A buffer of its own: codec outputs may be views into WASM or pooled memory that the next call
 * reuses (or detaches, when a WASM heap grows). Copied synchronously, before anything else runs.
 */
function own(data: Uint8Array): Uint8Array {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer ? data : data.slice();
}

/**
 * libbzip2-wasm's compressBZ2 returns a view of a buffer it allocated on its heap and never frees
 * (about 8 MB leaked per frame: the heap grew until it aborted, and the growth detached the views
 * of earlier results). Copy the output at once, then free it.
 */
function bzip2Compress(m: Bz2Module, data: Uint8Array, level: number): Uint8Array {
  const r = m.compressBZ2(data, level, 30);
  const out = r.output;
  const onHeap = out.buffer === m.heap();
  try {
    if (r.error !== 0) throw new Error(`bzip2 compression failed (error ${r.error})`);
    if (out.byteLength === 0 && data.length > 0) throw new Error('bzip2 compression returned no data');
    return out.slice();
  } finally {
    if (onHeap && out.byteLength > 0) m.free(out.byteOffset);
  }
}

/** Compress one frame of a whole-file stream. The result is always a buffer of its own. */
export async function compressFrame(codec: Codec, data: Uint8Array, level: number | undefined): Promise<Uint8Array> {
  switch (codec) {
    case 'gzip': return own(gzipSync(data, { level: level ?? 6 }));
    case 'zlib': return own(deflateSync(data, { level: level ?? 6 }));
    case 'deflate-qcow2':
      // qemu compresses clusters as raw deflate with a 4 KiB window (qcow2_co_compress: windowBits -12).
      return own(deflateRawSync(data, { level: level ?? constants.Z_DEFAULT_COMPRESSION, windowBits: 12, memLevel: 9 }));
    case 'zstd': {
      const z = await zstdCodec();
      return own(z.compress(data, level ?? 3));
    }
    case 'xz': {
      const x = await lzmaCodec();
      return own(x.xzSync(Buffer.from(data.buffer, data.byteOffset, data.length), { preset: level ?? 6, check: 4 /* CRC64, as xz(1) */, chunkSize: 1 << 20 }));
    }
    case 'bzip2': {
      const m = await bzip2Codec();
      return bzip2Compress(m, data, Math.min(9, Math.max(1, level ?? 9)));
    }
  }
}

/** Run a job: a frame, or per-block compression with zero detection. */
export async function encode(job: Job): Promise<JobResult> {
  if (!job.blockSize) return { id: job.id, data: await compressFrame(job.codec, job.data, job.level) };
  const parts: Uint8Array[] = [];
  const sizes: number[] = [];
  const bs = job.blockSize;
  for (let off = 0; off < job.data.length; off += bs) {
    const block = job.data.subarray(off, off + bs);
    if (isZero(block)) { sizes.push(-1); continue; }
    const c = await compressFrame(job.codec, block, job.level);
    if (job.codec === 'deflate-qcow2' && c.length >= bs) {
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
