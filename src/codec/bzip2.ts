import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { OUT, READ, tick, type Progress, type SparseOut } from './output.js';

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
