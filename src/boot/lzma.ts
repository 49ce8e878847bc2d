/**
 * A raw LZMA1 encoder: what grub-mkimage compresses an i386-pc core.img with (GRUB 2.06
 * util/mkimage.c `compress_kernel_lzma`: lc=3, lp=0, pb=2, a 64 KiB dictionary, no end marker, no
 * header — GRUB's lzma_decompress.img is told the sizes). Written from the format's description in
 * the LZMA SDK's lzma-specification.txt: a range coder over adaptive binary probabilities, literals
 * coded in the context of the previous byte (and of the byte at the last match distance after a
 * match), matches as a length and a distance slot with its extra bits, and repeats of the last
 * distance. The parse is greedy over hash chains: smaller output matters little here (a core.img is
 * tens of KiB), a stream every LZMA decoder reads matters.
 *
 * node-liblzma only writes .xz streams, which cannot hold LZMA1; hence this module.
 *
 * @example
 * const raw = lzmaRaw(data); // decoded by `xz -d --format=lzma` once the 13-byte .lzma header is put in front
 */

/** GRUB's properties (util/mkimage.c): lc=3 literal context bits, lp=0, pb=2 position bits. */
const LC = 3;
const PB = 2;
const POS_STATES = 1 << PB;
export const LZMA_DICT_SIZE = 1 << 16;
/** The properties byte of these settings in a .lzma header: (pb * 5 + lp) * 9 + lc. */
export const LZMA_PROPS = (PB * 5 + 0) * 9 + LC;

const MIN_MATCH = 2;
const MAX_MATCH = 273;
const STATES = 12;
const PROB_INIT = 1024;
const END_POS_MODEL = 14;
const FULL_DISTANCES = 128;
const ALIGN_BITS = 4;

/** The range coder (lzma-specification.txt, "The range encoder"). */
class RangeEncoder {
  private low = 0;
  private range = 0xffffffff;
  private cache = 0;
  private cacheSize = 1;
  readonly out: number[] = [];

  bit(probs: Uint16Array, i: number, bit: number): void {
    const p = probs[i]!;
    const bound = (this.range >>> 11) * p;
    if (bit === 0) {
      this.range = bound;
      probs[i] = p + ((2048 - p) >>> 5);
    } else {
      this.low += bound;
      this.range -= bound;
      probs[i] = p - (p >>> 5);
    }
    while (this.range < 0x1000000) {
      this.range = (this.range * 256) >>> 0;
      this.shiftLow();
    }
  }

  direct(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.range >>>= 1;
      if ((value >>> i) & 1) this.low += this.range;
      while (this.range < 0x1000000) {
        this.range = (this.range * 256) >>> 0;
        this.shiftLow();
      }
    }
  }

  /** Emit the top byte of `low`, holding 0xFF bytes back until a carry is known. */
  private shiftLow(): void {
    if (this.low < 0xff000000 || this.low >= 0x100000000) {
      const carry = this.low >= 0x100000000 ? 1 : 0;
      let temp = this.cache;
      do {
        this.out.push((temp + carry) & 0xff);
        temp = 0xff;
      } while (--this.cacheSize !== 0);
      this.cache = (this.low >>> 24) & 0xff;
    }
    this.cacheSize++;
    this.low = (this.low & 0x00ffffff) * 256;
  }

  flush(): void {
    for (let i = 0; i < 5; i++) this.shiftLow();
  }
}

/** `bits` bits of `symbol`, high bit first, through a binary tree of probabilities at `base` (indices 1..2^bits-1). */
function treeEncode(rc: RangeEncoder, probs: Uint16Array, base: number, bits: number, symbol: number): void {
  let m = 1;
  for (let i = bits - 1; i >= 0; i--) {
    const b = (symbol >>> i) & 1;
    rc.bit(probs, base + m, b);
    m = (m << 1) | b;
  }
}

/** The same, low bit first (distance footers and the align bits). */
function reverseEncode(rc: RangeEncoder, probs: Uint16Array, base: number, bits: number, symbol: number): void {
  let m = 1;
  for (let i = 0; i < bits; i++) {
    const b = (symbol >>> i) & 1;
    rc.bit(probs, base + m, b);
    m = (m << 1) | b;
  }
}

/** A length coder: choice bits, then 3 bits (low, per position state), 3 bits (mid) or 8 bits (high). */
class LengthEncoder {
  private readonly choice = new Uint16Array(2).fill(PROB_INIT);
  private readonly low = new Uint16Array(POS_STATES << 3).fill(PROB_INIT);
  private readonly mid = new Uint16Array(POS_STATES << 3).fill(PROB_INIT);
  private readonly high = new Uint16Array(256).fill(PROB_INIT);

  encode(rc: RangeEncoder, len: number, posState: number): void {
    const l = len - MIN_MATCH;
    if (l < 8) {
      rc.bit(this.choice, 0, 0);
      treeEncode(rc, this.low, posState << 3, 3, l);
    } else if (l < 16) {
      rc.bit(this.choice, 0, 1);
      rc.bit(this.choice, 1, 0);
      treeEncode(rc, this.mid, posState << 3, 3, l - 8);
    } else {
      rc.bit(this.choice, 0, 1);
      rc.bit(this.choice, 1, 1);
      treeEncode(rc, this.high, 0, 8, l - 16);
    }
  }
}

/** The distance slot of a 0-based distance: its top two bits and its bit length. */
function posSlot(dist: number): number {
  if (dist < 4) return dist;
  const n = 31 - Math.clz32(dist);
  return (n << 1) | ((dist >>> (n - 1)) & 1);
}

const HASH_BITS = 16;
const CHAIN_DEPTH = 64;

/**
 * Compress `data` to a raw LZMA1 stream (lc=3, lp=0, pb=2, distances below 64 KiB, no end marker).
 * Deterministic: the same input gives the same bytes.
 */
export function lzmaRaw(data: Uint8Array): Uint8Array {
  const rc = new RangeEncoder();
  const isMatch = new Uint16Array(STATES * POS_STATES).fill(PROB_INIT);
  const isRep = new Uint16Array(STATES).fill(PROB_INIT);
  const isRepG0 = new Uint16Array(STATES).fill(PROB_INIT);
  const isRep0Long = new Uint16Array(STATES * POS_STATES).fill(PROB_INIT);
  const literal = new Uint16Array(0x300 << LC).fill(PROB_INIT);
  const slots = new Uint16Array(4 << 6).fill(PROB_INIT);
  const special = new Uint16Array(1 + FULL_DISTANCES - END_POS_MODEL).fill(PROB_INIT);
  const align = new Uint16Array(1 << ALIGN_BITS).fill(PROB_INIT);
  const lengths = new LengthEncoder();
  const repLengths = new LengthEncoder();

  const head = new Int32Array(1 << HASH_BITS).fill(-1);
  const prev = new Int32Array(LZMA_DICT_SIZE).fill(-1);
  const hash = (i: number): number => Math.imul((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!, 0x9e3779b1) >>> (32 - HASH_BITS);
  const insert = (i: number): void => {
    if (i + 2 >= data.length) return;
    const h = hash(i);
    prev[i & (LZMA_DICT_SIZE - 1)] = head[h]!;
    head[h] = i;
  };
  const matchLength = (i: number, from: number, max: number): number => {
    let n = 0;
    while (n < max && data[i + n] === data[from + n]) n++;
    return n;
  };

  let state = 0;
  let rep0 = 0;
  const reps = [0, 0, 0, 0];
  let pos = 0;

  const encodeLiteral = (): void => {
    const posState = pos & (POS_STATES - 1);
    rc.bit(isMatch, (state << PB) + posState, 0);
    const byte = data[pos]!;
    const base = 0x300 * ((pos > 0 ? data[pos - 1]! : 0) >>> (8 - LC));
    // After a match, the literal is coded against the byte at the last distance until they differ.
    let matched = state >= 7;
    const matchByte = matched ? data[pos - rep0 - 1]! : 0;
    let symbol = 1;
    for (let i = 7; i >= 0; i--) {
      const b = (byte >>> i) & 1;
      if (matched) {
        const mb = (matchByte >>> i) & 1;
        rc.bit(literal, base + ((1 + mb) << 8) + symbol, b);
        matched = mb === b;
      } else {
        rc.bit(literal, base + symbol, b);
      }
      symbol = (symbol << 1) | b;
    }
    state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
    pos++;
  };

  while (pos < data.length) {
    const max = Math.min(MAX_MATCH, data.length - pos);
    // A repeat of the last distance, and the longest match on the hash chain.
    const repLen = pos > rep0 ? matchLength(pos, pos - rep0 - 1, max) : 0;
    let bestLen = 0, bestDist = 0;
    if (max >= 3) {
      let cand = head[hash(pos)]!;
      for (let depth = 0; cand >= 0 && depth < CHAIN_DEPTH && pos - cand <= LZMA_DICT_SIZE - 1; depth++) {
        const n = matchLength(pos, cand, max);
        if (n > bestLen) { bestLen = n; bestDist = pos - cand - 1; if (n === max) break; }
        cand = prev[cand & (LZMA_DICT_SIZE - 1)]!;
      }
    }
    const posState = pos & (POS_STATES - 1);
    let len: number;
    if (repLen >= MIN_MATCH && repLen + 1 >= bestLen) {
      len = repLen;
      rc.bit(isMatch, (state << PB) + posState, 1);
      rc.bit(isRep, state, 1);
      rc.bit(isRepG0, state, 0);
      rc.bit(isRep0Long, (state << PB) + posState, 1);
      repLengths.encode(rc, len, posState);
      state = state < 7 ? 8 : 11;
    } else if (bestLen >= 3) {
      len = bestLen;
      rc.bit(isMatch, (state << PB) + posState, 1);
      rc.bit(isRep, state, 0);
      lengths.encode(rc, len, posState);
      const slot = posSlot(bestDist);
      treeEncode(rc, slots, Math.min(len - MIN_MATCH, 3) << 6, 6, slot);
      if (slot >= 4) {
        const footer = (slot >>> 1) - 1;
        const base = (2 | (slot & 1)) << footer;
        const reduced = bestDist - base;
        if (slot < END_POS_MODEL) {
          reverseEncode(rc, special, base - slot, footer, reduced);
        } else {
          rc.direct(reduced >>> ALIGN_BITS, footer - ALIGN_BITS);
          reverseEncode(rc, align, 0, ALIGN_BITS, reduced & ((1 << ALIGN_BITS) - 1));
        }
      }
      reps[3] = reps[2]!; reps[2] = reps[1]!; reps[1] = reps[0]!; reps[0] = bestDist;
      rep0 = bestDist;
      state = state < 7 ? 7 : 10;
    } else {
      insert(pos);
      encodeLiteral();
      continue;
    }
    for (let i = 0; i < len; i++) insert(pos + i);
    pos += len;
  }
  rc.flush();
  return Uint8Array.from(rc.out);
}
