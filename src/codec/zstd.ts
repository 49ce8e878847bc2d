import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { maybeYield, READ, type Progress, type SparseOut } from './output.js';
import { ZstdFrames } from './zstd-frames.js';
import { decompressor, own, type FileCodec } from './types.js';

/** zstd frame magic 0xFD2FB528, little-endian. */
export const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd] as const;

const require = createRequire(import.meta.url);

/** Input handed to the decoder at once: bounds the work (and output) of one call. */
const SLICE = 16 << 10;

interface ZstdDecoder { push(chunk: Uint8Array, final?: boolean): void }
interface Hasher { update(b: Uint8Array): Hasher; digest(): bigint }
type XxhashModule = { default: () => Promise<{ create64(seed?: bigint): Hasher }> };

let xxh64: Promise<(seed?: bigint) => Hasher> | undefined;
/** XXH64 from xxhash-wasm (WebAssembly, streaming), instantiated on first use. */
function createXxh64(): Promise<(seed?: bigint) => Hasher> {
  xxh64 ??= (import('xxhash-wasm') as Promise<XxhashModule>).then(async (m) => (await m.default()).create64);
  return xxh64;
}

/**
 * zstd: fzstd (pure JS) decodes; it does not check the frames' content checksums, so a corrupt
 * literal section would decode to wrong bytes silently. ZstdFrames follows the frame and block
 * headers of the compressed bytes, input is handed to fzstd up to each frame's end, and the
 * frame's output is checked against its XXH64 checksum (low 32 bits) and declared content size.
 */
export async function unzstdFile(input: string, out: SparseOut, progress: Progress): Promise<void> {
  const { Decompress } = require('fzstd') as { Decompress: new (ondata: (chunk: Uint8Array, final: boolean) => void) => ZstdDecoder };
  const create64 = await createXxh64();
  const fh = await open(input, 'r');
  try {
    const walker = new ZstdFrames();
    let hash = create64();
    let produced = 0;
    // One decoder per frame, flushed at the frame's end (fzstd holds back input until it has 18
    // bytes, so only a final push makes it decode a frame's tail).
    let dec: ZstdDecoder | undefined;
    const frameDone = (): void => {
      const f = walker.finished.shift()!;
      dec?.push(new Uint8Array(0), true);
      dec = undefined;
      if (f.contentSize !== undefined && f.contentSize !== produced) throw new Error(`frame ending at byte ${f.end} declares ${f.contentSize} bytes and decodes to ${produced}`);
      if (f.checksum !== undefined && f.checksum !== Number(hash.digest() & 0xffffffffn)) throw new Error(`frame ending at byte ${f.end}: content checksum mismatch`);
      hash = create64();
      produced = 0;
    };
    for (;;) {
      // A fresh buffer per read: the decoder keeps references to partial input.
      const buf = Buffer.allocUnsafe(READ);
      const { bytesRead } = await fh.read(buf, 0, READ, null);
      if (bytesRead === 0) break;
      let o = 0;
      while (o < bytesRead) {
        // Never past the end of the current frame, at most SLICE bytes.
        const n = Math.max(1, Math.min(SLICE, bytesRead - o, walker.untilFrameEnd()));
        const piece = buf.subarray(o, o + n);
        walker.feed(piece, progress.read);
        dec ??= new Decompress((chunk) => { hash.update(chunk); produced += chunk.length; out.write(chunk); });
        dec.push(piece);
        progress.read += n;
        o += n;
        while (walker.finished.length) frameDone();
        await maybeYield(out);
      }
    }
    if (!walker.atBoundary()) throw new Error('unexpected end of input inside a frame');
  } finally {
    await fh.close();
  }
}

export interface ZstdWasm { init(): Promise<void>; compress(buf: Uint8Array, level?: number): Uint8Array; decompress(buf: Uint8Array): Uint8Array }
interface ZstdNative { compress(buf: Uint8Array, level: number): Uint8Array }
type Compress = (data: Uint8Array, level: number) => Uint8Array;

/**
 * The compressor, chosen once per thread (the promise is memoised):
 * - native: @cloudpss/zstd's Node-API addon (zstd 1.5.6, prebuilt binaries inside the npm package
 *   for Linux x64/arm64 glibc and musl, macOS, Windows; an optional dependency). Its `compress` is
 *   `ZSTD_compressCCtx` with the input size known, as squashfs-tools' zstd_wrapper.c calls it (the
 *   other native packages in the registry stream without the size, which at level 15 picks the
 *   parameters of inputs > 256 KiB: 4× the CPU on 128 KiB blocks). The addon keeps ONE static
 *   compression context for the whole process: two threads compressing at once crash the process.
 *   So it is used only on a process's main thread: squashfs's pool runs zstd jobs in child
 *   processes (`isolation: 'process'` below, container/pool.ts), the main thread compresses
 *   squashfs metadata, and a worker thread always takes the WebAssembly build. Whole-file zstd
 *   streams stay on worker threads (container/compress.ts): for 8 MiB frames at level 3, native
 *   code in child processes saved no CPU, doubled the system time (pipe copies) and wrote 1.2 %
 *   more than the WebAssembly build (a disk of /usr/bin: 114.1 / 112.7 MB; BENCHMARKS.md).
 * - otherwise @bokuweb/zstd-wasm (WebAssembly, 1.5–1.7× the native CPU). Its `init()`
 *   instantiates a new module on every call; a second instance finishing after the first had been
 *   used switched the heap views to the new memory while the exports stayed bound to the old one,
 *   and every later frame came out as garbage: hence one init per thread.
 *
 * Determinism: each build is deterministic, but the native (64-bit) and WebAssembly (32-bit) builds
 * do not always pick the same matches (measured: equal at level 15 on 128 KiB blocks of a Debian
 * rootfs and of node_modules; different on some 8 MiB frames at levels 1–19 and on a 128 KiB block
 * at levels 3 and 9). The same machine and install always take the same build, so its images are
 * reproducible; a host without the addon's binaries may write different (equally valid) frames.
 */
let wasm: Promise<ZstdWasm> | undefined;
/** The WebAssembly build, initialised once per thread (exposed for the tests). */
export function zstdWasm(): Promise<ZstdWasm> {
  wasm ??= (async () => {
    const z = require('@bokuweb/zstd-wasm') as ZstdWasm;
    await z.init();
    return z;
  })();
  return wasm;
}

let compressor: Promise<Compress> | undefined;
function zstdCompressor(): Promise<Compress> {
  compressor ??= (async (): Promise<Compress> => {
    // node:worker_threads is required here, not imported at the top: commands that compress nothing never load it.
    if ((require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread) {
      try {
        const native = await import('@cloudpss/zstd/napi') as unknown as ZstdNative;
        return (data, level) => native.compress(data, level);
      } catch {
        // No prebuilt binary for this platform (or the optional dependency is absent): WebAssembly.
      }
    }
    const z = await zstdWasm();
    return (data, level) => z.compress(data, level);
  })();
  return compressor;
}

/** The frame's recorded content size against its input length (RFC 8878 §3.1.1.1). */
function checkZstdFrame(frame: Uint8Array, inputLength: number): string | undefined {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.length < 6 || dv.getUint32(0, true) !== 0xfd2fb528) return 'no zstd frame magic';
  const fhd = frame[4]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const at = 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) return undefined; // size not recorded
  if (frame.length < at + fcsBytes) return 'truncated zstd frame header';
  const fcs = fcsBytes === 1 ? frame[at]! : fcsBytes === 2 ? dv.getUint16(at, true) + 256 : fcsBytes === 4 ? dv.getUint32(at, true) : Number(dv.getBigUint64(at, true));
  return fcs === inputLength ? undefined : `zstd frame content size ${fcs}, expected ${inputLength}`;
}

/**
 * zstd: compressed by native zstd (@cloudpss/zstd) in child processes, or @bokuweb/zstd-wasm
 * (see zstdCompressor); decoded by fzstd with each frame's checksum checked.
 */
export const zstd = {
  name: 'zstd',
  suffix: '.zst',
  magic: ZSTD_MAGIC,
  levels: [1, 19],
  defaultLevel: 3,
  frameSize: 8 << 20,
  isolation: 'process',
  async compressFrame(data, level) {
    const compress = await zstdCompressor();
    return own(compress(data, level));
  },
  checkFrame: checkZstdFrame,
  decompressFile: decompressor('zstd', unzstdFile),
} as const satisfies FileCodec<'zstd'>;
