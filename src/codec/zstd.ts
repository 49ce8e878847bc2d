import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { maybeYield, READ, type Progress, type SparseOut } from './output.js';
import { ZstdFrames } from './zstd-frames.js';

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
