import type { FrameCodec } from './types.js';

/**
 * LZ4 high-compression blocks, our own encoder: no npm package with prebuilt binaries or pure
 * JavaScript emits LZ4HC (lz4-napi/lz4_flex and lz4js have the fast compressor only; `lz4` builds
 * a C addon at install). The output is the plain LZ4 block format (lz4_Block_format.md), which
 * every LZ4 decoder reads; squashfs records the mode in its lz4 options (LZ4_HC) for information
 * only. The search is LZ4HC's hash chain (lz4hc.c, levels up to 9): each position's 4-byte hash
 * heads a chain of earlier positions within 64 KiB, up to `attempts` of them are tried, and a match
 * is taken lazily (deferred when the next position has a longer one). It does not have LZ4HC level
 * 12's optimal parser (what mksquashfs -Xhc uses): blocks are a little larger than that, smaller
 * than the fast compressor's.
 */

/** lz4_Block_format.md: the last 5 bytes are literals, the last match starts 12 bytes before the end at the latest. */
const MINMATCH = 4;
const LASTLITERALS = 5;
const MFLIMIT = 12;
const MAX_DISTANCE = 65535;
const HASH_LOG = 15;

function writeLength(out: Uint8Array, op: number, rest: number): number {
  while (rest >= 255) { out[op++] = 255; rest -= 255; }
  out[op++] = rest;
  return op;
}

/** Compress `src` into one LZ4 block. `attempts`: chain entries searched per position. */
export function lz4hcBlock(src: Uint8Array, attempts = 256): Uint8Array {
  const n = src.length;
  const out = new Uint8Array(n + Math.ceil(n / 255) + 16);
  let op = 0;
  const head = new Int32Array(1 << HASH_LOG).fill(-1);
  const chain = new Uint16Array(65536);
  let inserted = 0;
  const read32 = (i: number): number => src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16) | (src[i + 3]! << 24);
  const hash = (i: number): number => Math.imul(read32(i), 2654435761) >>> (32 - HASH_LOG);
  const matchEnd = n - LASTLITERALS;
  let bestPos = 0;
  /** The longest match for position `i` (0 when none of MINMATCH); its position in `bestPos`. */
  const longest = (i: number): number => {
    for (; inserted < i; inserted++) {
      const h = hash(inserted);
      const prev = head[h]!;
      chain[inserted & 0xffff] = prev < 0 ? MAX_DISTANCE : Math.min(inserted - prev, MAX_DISTANCE);
      head[h] = inserted;
    }
    let best = 0;
    const first = read32(i);
    let cand = head[hash(i)]!;
    for (let tries = attempts; cand >= 0 && i - cand <= MAX_DISTANCE && tries > 0; tries--) {
      if (src[cand + best] === src[i + best] && read32(cand) === first) {
        let len = MINMATCH;
        while (i + len < matchEnd && src[cand + len] === src[i + len]) len++;
        if (len > best) { best = len; bestPos = cand; if (i + len >= matchEnd) break; }
      }
      const delta = chain[cand & 0xffff]!;
      if (delta >= MAX_DISTANCE) break;
      cand -= delta;
    }
    return best >= MINMATCH ? best : 0;
  };

  let anchor = 0;
  let i = 0;
  const lastStart = n - MFLIMIT;
  while (i < lastStart) {
    let len = longest(i);
    if (len === 0) { i++; continue; }
    let pos = bestPos;
    // Lazy matching: a longer match one byte on is worth a literal.
    while (i + 1 < lastStart) {
      const next = longest(i + 1);
      if (next <= len) break;
      i++;
      len = next;
      pos = bestPos;
    }
    const litLen = i - anchor;
    const token = op++;
    if (litLen >= 15) op = writeLength(out, op, litLen - 15);
    out.set(src.subarray(anchor, i), op);
    op += litLen;
    const offset = i - pos;
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
    const ml = len - MINMATCH;
    if (ml >= 15) op = writeLength(out, op, ml - 15);
    out[token] = (Math.min(litLen, 15) << 4) | Math.min(ml, 15);
    i += len;
    anchor = i;
  }
  const litLen = n - anchor;
  out[op++] = Math.min(litLen, 15) << 4;
  if (litLen >= 15) op = writeLength(out, op, litLen - 15);
  out.set(src.subarray(anchor), op);
  op += litLen;
  return out.slice(0, op);
}

/**
 * `lz4hc-block`: one LZ4 block per call from the hash-chain encoder above. Level: 4 to 12, the
 * chain entries searched per position being 2^(level - 1) (LZ4HC's table: 9 searches 256).
 *
 * @example
 * const block = await lz4hcBlockCodec.compressFrame(data, 9);
 */
export const lz4hcBlockCodec = {
  name: 'lz4hc-block',
  levels: [4, 12],
  defaultLevel: 9,
  async compressFrame(data: Uint8Array, level: number): Promise<Uint8Array> {
    return lz4hcBlock(data, 2 ** (Math.min(Math.max(level, 4), 12) - 1));
  },
} as const satisfies FrameCodec<'lz4hc-block'>;
