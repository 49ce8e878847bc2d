import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DiskwrightError } from '../../errors.js';
import type { ByteSource } from './file.js';

/**
 * A zstd stream read at random, frame by frame (RFC 8878 §3.1: frames are independent). diskwright
 * writes whole-file zstd as frames of 8 MiB that record their content size, so a byte of the disk
 * is found by its frame and only that frame is decoded. The frame and block headers are walked
 * once when opened (no data decoded); a stream whose frames do not all record a content size, or
 * whose frames or windows are larger than FRAME_CAP, is not indexed (the caller decodes it front
 * to back instead).
 */
const FRAME_CAP = 64 << 20;
/** Frames indexed at most: 2^20 frames of 8 MiB are 8 TiB. */
const MAX_FRAMES = 1 << 20;
const ZSTD_MAGIC = 0xfd2fb528;
/** RFC 8878 §3.1.1.2.4: a block's content is at most 128 KiB. */
const BLOCK_MAX = 128 << 10;

const require = createRequire(import.meta.url);
interface StreamDecoder { push(chunk: Uint8Array, final?: boolean): void }
interface Hasher { update(b: Uint8Array): Hasher; digest(): bigint }
type Create64 = (seed?: bigint) => Hasher;
let xxh64: Promise<Create64> | undefined;
function createXxh64(): Promise<Create64> {
  xxh64 ??= (import('xxhash-wasm') as Promise<{ default: () => Promise<{ create64: Create64 }> }>).then(async (m) => (await m.default()).create64);
  return xxh64;
}

/** Buffered little-endian reads over the compressed file while its headers are walked. */
class Cursor {
  private buf = new Uint8Array(64 << 10);
  private start = 0;
  private len = 0;
  constructor(private readonly fd: number, readonly size: number) {}
  /** `n` (≤ 8) bytes at `at`, or undefined past the end of the file. */
  bytes(at: number, n: number): Uint8Array | undefined {
    if (at + n > this.size) return undefined;
    if (at < this.start || at + n > this.start + this.len) {
      this.start = at;
      this.len = readSync(this.fd, this.buf, 0, Math.min(this.buf.length, this.size - at), at);
      if (this.len < n) return undefined;
    }
    return this.buf.subarray(at - this.start, at - this.start + n);
  }
  uint(at: number, n: number): number | undefined {
    const b = this.bytes(at, n);
    if (!b) return undefined;
    let v = 0;
    for (let k = n - 1; k >= 0; k--) v = v * 256 + b[k]!;
    return v;
  }
}

/** One indexed frame: compressed [cAt, cEnd), decoded [dAt, dAt + dLen). */
interface Frame { cAt: number; cEnd: number; dAt: number; dLen: number; checksum: boolean }

/**
 * Index the frames of the zstd stream `path`; undefined when it cannot be read at random (see
 * above). Damage found while walking (a reserved block type, a block running past the end) is
 * E_DECOMPRESS naming the compressed byte.
 */
export async function openZstdSeekable(path: string): Promise<ByteSource | undefined> {
  const fd = openSync(path, 'r');
  try {
    const frames = indexFrames(path, new Cursor(fd, fstatSync(fd).size));
    if (!frames) { closeSync(fd); return undefined; }
    return new ZstdSource(path, fd, frames, await createXxh64());
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

const bad = (path: string, at: number, what: string): DiskwrightError =>
  new DiskwrightError('E_DECOMPRESS', `zstd data of ${path} is corrupt or truncated (at compressed byte ${at}): ${what}`, { value: path });

function indexFrames(path: string, c: Cursor): Frame[] | undefined {
  const frames: Frame[] = [];
  let at = 0, dAt = 0;
  while (at < c.size) {
    const magic = c.uint(at, 4);
    if (magic === undefined) throw bad(path, at, 'a frame header cut short');
    if (magic >>> 4 === 0x184d2a5) {
      // Skippable frame (§3.1.2): its size, then that many bytes.
      const size = c.uint(at + 4, 4);
      if (size === undefined || at + 8 + size > c.size) throw bad(path, at, 'a skippable frame runs past the end');
      at += 8 + size;
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw bad(path, at, 'no zstd frame');
    const fhd = c.uint(at + 4, 1);
    if (fhd === undefined) throw bad(path, at, 'a frame header cut short');
    if (fhd & 0x08) throw bad(path, at + 4, 'reserved bit set in the frame header descriptor');
    const single = (fhd >> 5) & 1, checksum = (fhd >> 2) & 1, dictBytes = [0, 1, 2, 4][fhd & 3]!, fcsBytes = [single, 2, 4, 8][fhd >> 6]!;
    let p = at + 5;
    let window = 0;
    if (!single) {
      const wd = c.uint(p++, 1);
      if (wd === undefined) throw bad(path, at, 'a frame header cut short');
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    const dict = dictBytes ? c.uint(p, dictBytes) : 0;
    p += dictBytes;
    // No content size, a dictionary, or more than FRAME_CAP in one frame: decode front to back instead.
    if (fcsBytes === 0 || dict !== 0) return undefined;
    const fcsRaw = c.uint(p, fcsBytes);
    if (fcsRaw === undefined || dict === undefined) throw bad(path, at, 'a frame header cut short');
    p += fcsBytes;
    const dLen = fcsBytes === 2 ? fcsRaw + 256 : fcsRaw;
    if (single) window = dLen;
    if (dLen > FRAME_CAP || window > FRAME_CAP || frames.length >= MAX_FRAMES) return undefined;
    // Blocks (§3.1.1.2): 3-byte headers, bodies skipped.
    for (let last = 0; !last;) {
      const h = c.uint(p, 3);
      if (h === undefined) throw bad(path, p, 'a block header cut short');
      last = h & 1;
      const type = (h >> 1) & 3, size = h >>> 3;
      if (type === 3) throw bad(path, p, 'reserved block type');
      if (size > BLOCK_MAX) throw bad(path, p, `a block of ${size} bytes, more than ${BLOCK_MAX}`);
      p += 3 + (type === 1 ? 1 : size);
      if (p > c.size) throw bad(path, p - 3, 'a block runs past the end');
    }
    if (checksum) p += 4;
    if (p > c.size) throw bad(path, at, 'the frame checksum is cut short');
    if (dLen > 0) frames.push({ cAt: at, cEnd: p, dAt, dLen, checksum: checksum === 1 });
    dAt += dLen;
    at = p;
  }
  return frames;
}

/** The decoded stream as a ByteSource: each read decodes the frames it touches (the last one kept). */
class ZstdSource implements ByteSource {
  readonly size: number;
  private cached: { frame: Frame; data: Uint8Array } | undefined;
  constructor(private readonly path: string, private readonly fd: number, private readonly frames: Frame[], private readonly create64: Create64) {
    const last = frames[frames.length - 1];
    this.size = last ? last.dAt + last.dLen : 0;
  }

  pread(buf: Uint8Array, offset: number, length: number, position: number): number {
    if (position >= this.size || length <= 0) return 0;
    // The frame holding `position` (binary search on dAt).
    let lo = 0, hi = this.frames.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.frames[mid]!.dAt <= position) lo = mid; else hi = mid - 1;
    }
    const f = this.frames[lo]!;
    const data = this.decode(f);
    const n = Math.min(length, f.dAt + f.dLen - position);
    buf.set(data.subarray(position - f.dAt, position - f.dAt + n), offset);
    return n;
  }

  private decode(f: Frame): Uint8Array {
    if (this.cached?.frame === f) return this.cached.data;
    const src = new Uint8Array(f.cEnd - f.cAt);
    readSync(this.fd, src, 0, src.length, f.cAt);
    const out = new Uint8Array(f.dLen);
    let produced = 0;
    const hash = this.create64();
    const { Decompress } = require('fzstd') as { Decompress: new (ondata: (chunk: Uint8Array) => void) => StreamDecoder };
    try {
      const dec = new Decompress((chunk) => {
        if (produced + chunk.length > f.dLen) throw new Error(`the frame decodes to more than its content size ${f.dLen}`);
        out.set(chunk, produced);
        produced += chunk.length;
      });
      dec.push(src, true);
    } catch (e) {
      throw bad(this.path, f.cAt, `frame: ${(e as Error).message}`);
    }
    if (produced !== f.dLen) throw bad(this.path, f.cAt, `the frame decodes to ${produced} bytes, not its content size ${f.dLen}`);
    if (f.checksum) {
      const stored = (src[src.length - 4]! | (src[src.length - 3]! << 8) | (src[src.length - 2]! << 16) | (src[src.length - 1]! << 24)) >>> 0;
      if (Number(hash.update(out).digest() & 0xffffffffn) !== stored) throw bad(this.path, f.cAt, 'frame content checksum mismatch');
    }
    this.cached = { frame: f, data: out };
    return out;
  }

  close(): void { closeSync(this.fd); }
}
