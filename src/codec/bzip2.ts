import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { OUT, READ, tick, type Progress, type SparseOut } from './output.js';
import { decompressor, type FileCodec } from './types.js';

/** bzip2 magic: 'BZh'. */
export const BZIP2_MAGIC = [0x42, 0x5a, 0x68] as const;

const require = createRequire(import.meta.url);

/** A bit reader over a file (MSB first), with the interface unbzip2-stream's block decoder calls. */
interface BitReader { (n: number | null): number; bytesRead: number }

interface Bz2Lib {
  header(bits: BitReader): number;
  /** Decodes one block into `stream` byte by byte; returns the running stream CRC, or null at the end-of-stream marker. */
  decompress(bits: BitReader, stream: (b: number) => void, buf: Int32Array, bufsize: number, streamCRC: number): number | null;
}

/**
 * bzip2 through unbzip2-stream's block decoder (pure JS, loaded on first use); its stream wrapper
 * buffers whole runs of blocks, so it is driven block by block here. Concatenated streams are read on.
 */
export async function bunzip2File(input: string, out: SparseOut, progress: Progress): Promise<void> {
  const bz2 = require('unbzip2-stream/lib/bzip2') as Bz2Lib;
  const fd = openSync(input, 'r');
  const chunk = Buffer.allocUnsafe(READ);
  let len = 0;
  let pos = 0;
  let eof = false;
  let bit = 0;
  const fill = (): boolean => {
    if (pos < len) return true;
    if (eof) return false;
    len = readSync(fd, chunk, 0, READ, null);
    pos = 0;
    if (len === 0) eof = true;
    return len > 0;
  };
  const bits = ((n: number | null): number => {
    if (n === null) { if (bit !== 0) { bit = 0; pos++; progress.read++; } return 0; }
    let r = 0;
    while (n > 0) {
      if (!fill()) throw new Error('unexpected end of input');
      const left = 8 - bit;
      const byte = chunk[pos]!;
      if (n >= left) {
        r = (r * (1 << left)) + (byte & ((1 << left) - 1));
        n -= left; bit = 0; pos++; progress.read++;
      } else {
        r = (r * (1 << n)) + ((byte >> (left - n)) & ((1 << n) - 1));
        bit += n; n = 0;
      }
    }
    return r;
  }) as BitReader;
  bits.bytesRead = 0;
  const outBuf = new Uint8Array(OUT);
  let outLen = 0;
  const put = (b: number): void => {
    outBuf[outLen++] = b;
    if (outLen === OUT) { out.write(outBuf); outLen = 0; }
  };
  try {
    for (;;) {
      const level = bz2.header(bits);
      const bufsize = 100000 * level;
      const buf = new Int32Array(bufsize);
      let crc: number | null = 0;
      while ((crc = bz2.decompress(bits, put, buf, bufsize, crc)) !== null) {
        if (outLen) { out.write(outBuf.subarray(0, outLen)); outLen = 0; }
        await tick();
      }
      if (outLen) { out.write(outBuf.subarray(0, outLen)); outLen = 0; }
      // Another stream follows (parallel bzip2 writes several); anything else after the end is ignored, as bzip2(1) does.
      if (!fill() || chunk[pos] !== 0x42) break;
    }
  } finally {
    closeSync(fd);
  }
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
/** libbzip2-wasm (libbzip2 compiled to WASM), initialised once per thread. */
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

/** bzip2: one stream per frame of nine blocks at -9; compressed by libbzip2-wasm, decoded by unbzip2-stream. */
export const bzip2 = {
  name: 'bzip2',
  suffix: '.bz2',
  magic: BZIP2_MAGIC,
  levels: [1, 9],
  defaultLevel: 9,
  frameSize: 9 * 900_000, // nine bzip2 blocks at -9
  async compressFrame(data, level) {
    const m = await bzip2Codec();
    return bzip2Compress(m, data, Math.min(9, Math.max(1, level)));
  },
  checkFrame: (frame) => frame.length >= 14 && frame[0] === 0x42 && frame[1] === 0x5a && frame[2] === 0x68 && frame[3]! >= 0x31 && frame[3]! <= 0x39 ? undefined : 'no bzip2 stream magic',
  decompressFile: decompressor('bzip2', bunzip2File),
} as const satisfies FileCodec<'bzip2'>;
