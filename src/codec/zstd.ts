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

interface ZstdWasm { init(): Promise<void>; compress(buf: Uint8Array, level?: number): Uint8Array; decompress(buf: Uint8Array): Uint8Array }
/**
 * Each codec initialises once per thread: the promise is memoised. (@bokuweb/zstd-wasm's `init()`
 * instantiates a new WASM module on every call; a second instance finishing after the first had
 * been used switched the heap views to the new memory while the exports stayed bound to the old
 * one, and every later frame came out as garbage.)
 */
let zstdWasm: Promise<ZstdWasm> | undefined;
function zstdCodec(): Promise<ZstdWasm> {
  zstdWasm ??= (async () => {
    const z = require('@bokuweb/zstd-wasm') as ZstdWasm;
    await z.init();
    return z;
  })();
  return zstdWasm;
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

/** zstd: compressed by @bokuweb/zstd-wasm (WASM), decoded by fzstd with each frame's checksum checked. */
export const zstd = {
  name: 'zstd',
  suffix: '.zst',
  magic: ZSTD_MAGIC,
  levels: [1, 19],
  defaultLevel: 3,
  frameSize: 8 << 20,
  async compressFrame(data, level) {
    const z = await zstdCodec();
    return own(z.compress(data, level));
  },
  checkFrame: checkZstdFrame,
  decompressFile: decompressor('zstd', unzstdFile),
} as const satisfies FileCodec<'zstd'>;
