import type { Volume } from '../extent/extent.js';
import { ExtentReader } from '../extent/read.js';

/**
 * Block allocation from the extent list (docs/ARCHITECTURE.md §2.1, step 5: allocation tables are known before the
 * first byte). A block is allocated when any extent touches it; holes between extents stay
 * unallocated in every sparse container.
 */
export function allocatedBlocks(vol: Volume, blockSize: number): number[] {
  const out: number[] = [];
  let last = -1;
  for (const e of vol.extents) {
    const first = Math.floor(e.offset / blockSize);
    const end = Math.ceil((e.offset + e.length) / blockSize);
    for (let b = Math.max(first, last + 1); b < end; b++) out.push(b);
    if (end - 1 > last) last = end - 1;
  }
  return out;
}

/** Consecutive allocated blocks `[first, first + count)` and their bytes (zeros in the holes). */
export interface BlockRun {
  first: number;
  count: number;
  /** `count * blockSize` bytes; reused by the generator: consume before asking for the next run. */
  data: Uint8Array;
}

/**
 * Walk a volume block by block, in order, yielding runs of consecutive allocated blocks of at most
 * `maxBytes` (rounded down to whole blocks, at least one). Memory is one buffer of that size. The
 * last block may extend past `vol.size`; its tail reads as zeros.
 */
export function* blockRuns(vol: Volume, blockSize: number, maxBytes = 4 << 20, reader = new ExtentReader()): Generator<BlockRun> {
  const maxBlocks = Math.max(1, Math.floor(maxBytes / blockSize));
  const buf = new Uint8Array(maxBlocks * blockSize);
  let first = -1;
  let count = 0;
  try {
    for (const e of vol.extents) {
      const end = e.offset + e.length;
      let pos = e.offset;
      while (pos < end) {
        const b = Math.floor(pos / blockSize);
        if (count === 0 || b >= first + count) {
          if (count > 0 && (b !== first + count || count === maxBlocks)) {
            yield { first, count, data: buf.subarray(0, count * blockSize) };
            count = 0;
          }
          if (count === 0) first = b;
          buf.fill(0, count * blockSize, (count + 1) * blockSize);
          count++;
        }
        // Read as much of the extent as fits in the blocks the run can still take.
        const runEnd = (first + maxBlocks) * blockSize;
        const blockEnd = (b + 1) * blockSize;
        let to = Math.min(end, blockEnd);
        if (to === blockEnd && end > blockEnd) {
          // Extend over following whole blocks in one read.
          const canEnd = Math.min(end, runEnd);
          const wholeEnd = Math.floor(canEnd / blockSize) * blockSize;
          if (wholeEnd > blockEnd) {
            const extra = (wholeEnd - blockEnd) / blockSize;
            count += extra;
            to = wholeEnd;
          }
        }
        reader.read(e, pos - e.offset, buf, pos - first * blockSize, to - pos);
        pos = to;
      }
    }
    if (count > 0) yield { first, count, data: buf.subarray(0, count * blockSize) };
  } finally {
    reader.closeAll();
  }
}

const ZERO_BLOCK = Buffer.alloc(1 << 20);

/** True when every byte of `data` is zero (memcmp against a zero buffer). */
export function isZero(data: Uint8Array): boolean {
  for (let off = 0; off < data.length; off += ZERO_BLOCK.length) {
    const len = Math.min(ZERO_BLOCK.length, data.length - off);
    const view = Buffer.from(data.buffer, data.byteOffset + off, len);
    if (view.compare(ZERO_BLOCK, 0, len) !== 0) return false;
  }
  return true;
}

export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}
