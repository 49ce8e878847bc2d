import { closeSync, createReadStream, createWriteStream, openSync, readSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DiskwrightError } from '../errors.js';

/**
 * Streaming decompression of whole files (compressed disk images given to `convert`, compressed
 * tar inputs) into a file, with bounded memory whatever the compression ratio: every decoder
 * writes its output as it goes (a 5 GiB layer of zeros is a few KiB of input). Every decoder
 * accepts concatenated frames/streams/members, as our compressors and the parallel CLIs write them.
 *
 * Packages, each loaded on first use only (nothing is registered at import time): zlib (Node),
 * fzstd (pure JS zstd decoder), node-liblzma (liblzma addon, xz), unbzip2-stream's bzip2 block
 * decoder (pure JS; its stream wrapper buffers whole runs of blocks, so it is driven block by block here).
 */
export type StreamCodec = 'zstd' | 'xz' | 'gzip' | 'bzip2';

export function sniffCompression(head: Uint8Array): StreamCodec | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0x00) return 'xz';
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  return undefined;
}

const require = createRequire(import.meta.url);

const READ = 1 << 20;
/** Input handed to a synchronous decoder at once: bounds the work (and output) of one call. */
const SLICE = 16 << 10;
const OUT = 1 << 20;

/**
 * Decompress `input` into `output` (created or truncated), streaming with bounded memory. A corrupt
 * or truncated input is a DiskwrightError `E_DECOMPRESS` naming the file and the compressed byte
 * offset the decoder had reached; `output` is then incomplete (the caller removes it).
 */
export async function decompressFile(codec: StreamCodec, input: string, output: string): Promise<void> {
  const progress = { read: 0 };
  try {
    switch (codec) {
      case 'gzip': return await gunzipFile(input, output, progress);
      case 'zstd': return await unzstdFile(input, output, progress);
      case 'xz': return await unxzFile(input, output, progress);
      case 'bzip2': return await bunzip2File(input, output, progress);
    }
  } catch (e) {
    if (e instanceof DiskwrightError) throw e;
    const err = e as NodeJS.ErrnoException;
    // Host I/O errors (ENOSPC, EACCES, EIO) are not the data's fault: say which.
    if (err && typeof err.code === 'string' && err.syscall) {
      throw new DiskwrightError('E_DECOMPRESS', `cannot decompress ${input} into ${output}: ${err.code} (${err.syscall})`, { value: input, cause: e });
    }
    throw new DiskwrightError('E_DECOMPRESS', `${codec} data of ${input} is corrupt or truncated (at compressed byte ${progress.read}): ${err?.message ?? String(e)}`, { value: input, cause: e });
  }
}

/** Synchronous output: decoders that call back per block write straight through (no queue to grow). */
class SyncOut {
  private readonly fd: number;
  written = 0;
  constructor(path: string) { this.fd = openSync(path, 'w', 0o600); }
  write(b: Uint8Array): void {
    let o = 0;
    while (o < b.length) o += writeSync(this.fd, b, o, b.length - o);
    this.written += b.length;
  }
  close(): void { closeSync(this.fd); }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function gunzipFile(input: string, output: string, progress: { read: number }): Promise<void> {
  // zlib's stream stops inflating while the readable side is full, so a 1000:1 member does not
  // pile up output; small input chunks keep each step short.
  const src = createReadStream(input, { highWaterMark: 64 << 10 });
  src.on('data', (c) => { progress.read += c.length; });
  await pipeline(src, createGunzip({ chunkSize: 256 << 10 }), createWriteStream(output, { mode: 0o600, highWaterMark: 1 << 20 }));
}

interface ZstdDecoder { push(chunk: Uint8Array, final?: boolean): void }

/**
 * zstd: fzstd decodes; it does not check the frames' content checksums, so a corrupt literal
 * section would decode to wrong bytes silently. A small walker follows the frame and block headers
 * of the compressed bytes, input is handed to fzstd up to each frame's end, and the output of the
 * frame is checked against its XXH64 checksum and declared content size (RFC 8878 §3.1.1).
 */
async function unzstdFile(input: string, output: string, progress: { read: number }): Promise<void> {
  const { Decompress } = require('fzstd') as { Decompress: new (ondata: (chunk: Uint8Array, final: boolean) => void) => ZstdDecoder };
  const out = new SyncOut(output);
  const fh = await open(input, 'r');
  try {
    const walker = new ZstdFrames();
    const hash = new Xxh64();
    let produced = 0;
    // One decoder per frame, flushed at the frame's end (fzstd holds back input until it has 18
    // bytes, so only a final push makes it decode a frame's tail).
    let dec: ZstdDecoder | undefined;
    const frameDone = (): void => {
      const f = walker.finished.shift()!;
      dec?.push(new Uint8Array(0), true);
      dec = undefined;
      if (f.contentSize !== undefined && f.contentSize !== produced) throw new Error(`frame ending at byte ${f.end} declares ${f.contentSize} bytes and decodes to ${produced}`);
      if (f.checksum !== undefined && f.checksum !== hash.digest32()) throw new Error(`frame ending at byte ${f.end}: content checksum mismatch`);
      hash.reset();
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
        if (out.written > 64 << 20) { out.written = 0; await tick(); }
      }
    }
    if (!walker.atBoundary()) throw new Error('unexpected end of input inside a frame');
  } finally {
    out.close();
    await fh.close();
  }
}

interface FrameEnd { end: number; checksum?: number; contentSize?: number }

/** Follows zstd frame, skippable-frame and block headers over the compressed bytes as they pass. */
class ZstdFrames {
  readonly finished: FrameEnd[] = [];
  /** Bytes collected for the header being read. */
  private head: number[] = [];
  /** What the next bytes are. */
  private state: 'magic' | 'fhd' | 'frameHeader' | 'skipSize' | 'skip' | 'blockHeader' | 'blockBody' | 'checksum' = 'magic';
  private need = 4;
  private hasChecksum = false;
  private contentSize: number | undefined;
  private lastBlock = false;
  private fcsBytes = 0;

  /**
   * How many bytes may go to the decoder at once: headers are handed over alone (so a frame's
   * end is known before it passes), a block body whole, the last one with the frame's checksum.
   * A push never crosses a frame's end.
   */
  untilFrameEnd(): number {
    if (this.state === 'blockBody') return this.need + (this.lastBlock && this.hasChecksum ? 4 : 0);
    if (this.state === 'skip') return this.need;
    return this.need - this.head.length;
  }

  atBoundary(): boolean {
    return this.state === 'magic' && this.head.length === 0;
  }

  feed(b: Uint8Array, at: number): void {
    let i = 0;
    while (i < b.length) {
      if (this.state === 'skip' || this.state === 'blockBody') {
        const k = Math.min(this.need, b.length - i);
        this.need -= k;
        i += k;
        if (this.need === 0) this.next(at + i);
        continue;
      }
      this.head.push(b[i++]!);
      if (this.head.length === this.need) this.next(at + i);
    }
  }

  private next(at: number): void {
    const h = this.head;
    switch (this.state) {
      case 'magic': {
        const m = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
        this.head = [];
        if (m === 0xfd2fb528) { this.state = 'fhd'; this.need = 1; return; }
        if ((m & 0xfffffff0) === 0x184d2a50) { this.state = 'skipSize'; this.need = 4; return; }
        throw new Error(`no zstd frame at compressed byte ${at - 4}`);
      }
      case 'fhd': {
        const fhd = h[0]!;
        this.hasChecksum = ((fhd >> 2) & 1) === 1;
        const single = (fhd >> 5) & 1;
        const fcs = fhd >> 6;
        const size = (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + [single, 2, 4, 8][fcs]!;
        this.contentSize = undefined;
        this.fcsBytes = [single, 2, 4, 8][fcs]!;
        if (size === 0) { this.head = []; this.state = 'blockHeader'; this.need = 3; return; }
        this.state = 'frameHeader'; this.need = size + 1; // keep the FHD byte in head
        return;
      }
      case 'frameHeader': {
        const n = this.fcsBytes;
        if (n > 0) {
          let v = 0;
          for (let k = 0; k < n; k++) v += h[h.length - n + k]! * 2 ** (8 * k);
          this.contentSize = n === 2 ? v + 256 : v;
        }
        this.head = []; this.state = 'blockHeader'; this.need = 3;
        return;
      }
      case 'skipSize': {
        const size = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
        this.head = [];
        if (size === 0) { this.state = 'magic'; this.need = 4; return; }
        this.state = 'skip'; this.need = size;
        return;
      }
      case 'skip':
        this.state = 'magic'; this.need = 4;
        return;
      case 'blockHeader': {
        const v = h[0]! | (h[1]! << 8) | (h[2]! << 16);
        this.head = [];
        this.lastBlock = (v & 1) === 1;
        const type = (v >> 1) & 3;
        if (type === 3) throw new Error(`reserved zstd block type at compressed byte ${at - 3}`);
        const body = type === 1 ? 1 : v >>> 3;
        if (body === 0) { this.afterBlock(at); return; }
        this.state = 'blockBody'; this.need = body;
        return;
      }
      case 'blockBody':
        this.afterBlock(at);
        return;
      case 'checksum': {
        const sum = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
        this.head = [];
        this.endFrame(at, sum);
        return;
      }
    }
  }

  private afterBlock(at: number): void {
    if (!this.lastBlock) { this.state = 'blockHeader'; this.need = 3; return; }
    if (this.hasChecksum) { this.state = 'checksum'; this.need = 4; return; }
    this.endFrame(at, undefined);
  }

  private endFrame(at: number, checksum: number | undefined): void {
    const f: FrameEnd = { end: at };
    if (checksum !== undefined) f.checksum = checksum;
    if (this.contentSize !== undefined) f.contentSize = this.contentSize;
    this.finished.push(f);
    this.state = 'magic'; this.need = 4;
  }
}

/* XXH64 (xxHash spec) on 32-bit halves: zstd's content checksum is its low 32 bits. */
const P = [0x9e3779b185ebca87n, 0xc2b2ae3d27d4eb4fn, 0x165667b19e3779f9n, 0x85ebca77c2b2ae63n, 0x27d4eb2f165667c5n];
const hi = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);
const lo = (v: bigint): number => Number(v & 0xffffffffn);
const [P1H, P2H, P3H, P4H, P5H] = P.map(hi) as [number, number, number, number, number];
const [P1L, P2L, P3L, P4L, P5L] = P.map(lo) as [number, number, number, number, number];
const M64 = (1n << 64n) - 1n;
/** Seed 0: v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1 (mod 2^64), as [hi, lo] pairs. */
const V_INIT = [(P[0]! + P[1]!) & M64, P[1]!, 0n, (-P[0]!) & M64].flatMap((v) => [hi(v), lo(v)]);

/**
 * XXH64's 32-byte stripes, the hot loop, in a tiny WebAssembly module (native 64-bit multiplies:
 * ~20x faster than 32-bit halves in JS), assembled here: exports `mem` (data at 0, up to 64 KiB a
 * call), `init()`, `stripes(n)` and `v0()`..`v3()` (the accumulators).
 */
interface StripeWasm { mem: { buffer: ArrayBuffer }; init(): void; stripes(n: number): void; v0(): bigint; v1(): bigint; v2(): bigint; v3(): bigint }
/** The WebAssembly global (not in this project's TS libs). */
const WA = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (m: object, imports: object) => { exports: unknown } } }).WebAssembly;
let stripeModule: object | undefined;
function stripeWasm(): StripeWasm {
  const uleb = (n: number): number[] => { const o: number[] = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return o; };
  const sleb = (v: bigint): number[] => {
    v = BigInt.asIntN(64, v);
    const o: number[] = [];
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
      o.push(done ? b : b | 0x80);
      if (done) return o;
    }
  };
  const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
  const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
  const func = (locals: number[], code: number[]): number[] => { const b = [...locals, ...code, 0x0b]; return [...uleb(b.length), ...b]; };
  const name = (t: string): number[] => [t.length, ...Buffer.from(t)];
  // round: v_k = rotl(v_k + load64(p + 8k) * P2, 31) * P1
  const lane = (k: number): number[] => [0x23, k, 0x20, 1, 0x29, 3, k * 8, 0x42, ...sleb(P[1]!), 0x7e, 0x7c, 0x42, 31, 0x89, 0x42, ...sleb(P[0]!), 0x7e, 0x24, k];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, 0, 0], [0x60, 1, 0x7f, 0], [0x60, 0, 1, 0x7e]])),
    ...section(3, vec([[0], [1], [2], [2], [2], [2]])),
    ...section(5, vec([[0x00, 2]])),
    ...section(6, vec([0, 1, 2, 3].map(() => [0x7e, 1, 0x42, 0, 0x0b]))),
    ...section(7, vec([[...name('mem'), 2, 0], [...name('init'), 0, 0], [...name('stripes'), 0, 1], ...[0, 1, 2, 3].map((k) => [...name(`v${k}`), 0, 2 + k])])),
    ...section(10, vec([
      func([0], [0, 1, 2, 3].flatMap((k) => [0x42, ...sleb(BigInt.asIntN(64, (BigInt(V_INIT[2 * k]!) << 32n) | BigInt(V_INIT[2 * k + 1]!))), 0x24, k])),
      // (param n i32) (local p i32): for (p = 0; p < n; p += 32) the four lanes
      func([1, 1, 0x7f], [0x02, 0x40, 0x03, 0x40, 0x20, 1, 0x20, 0, 0x4f, 0x0d, 1, ...lane(0), ...lane(1), ...lane(2), ...lane(3), 0x20, 1, 0x41, 32, 0x6a, 0x21, 1, 0x0c, 0, 0x0b, 0x0b]),
      ...[0, 1, 2, 3].map((k) => func([0], [0x23, k])),
    ])),
  ];
  stripeModule ??= new WA.Module(new Uint8Array(bytes));
  return new WA.Instance(stripeModule, {}).exports as StripeWasm;
}

class Xxh64 {
  private readonly w = stripeWasm();
  private readonly mem = new Uint8Array(this.w.mem.buffer);
  private readonly buf = new Uint8Array(32);
  private bufLen = 0;
  private total = 0;
  private h = 0; private l = 0;

  constructor() { this.w.init(); }
  reset(): void { this.w.init(); this.bufLen = 0; this.total = 0; }

  private mul(ah: number, al: number, bh: number, bl: number): void {
    const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
    const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    this.l = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    const carry = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
    this.h = (carry + Math.imul(al, bh) + Math.imul(ah, bl)) >>> 0;
  }
  private add(ah: number, al: number, bh: number, bl: number): void {
    const lo = al + bl;
    this.l = lo >>> 0;
    this.h = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  }
  private rotl(h: number, l: number, r: number): void {
    if (r >= 32) { const t = h; h = l; l = t; r -= 32; }
    if (r === 0) { this.h = h; this.l = l; return; }
    this.h = ((h << r) | (l >>> (32 - r))) >>> 0;
    this.l = ((l << r) | (h >>> (32 - r))) >>> 0;
  }
  /** acc = rotl(acc + input * P2, 31) * P1, result in h:l. */
  private round(ah: number, al: number, ih: number, il: number): void {
    this.mul(ih, il, P2H, P2L);
    this.add(ah, al, this.h, this.l);
    this.rotl(this.h, this.l, 31);
    this.mul(this.h, this.l, P1H, P1L);
  }
  /** Whole stripes (n a multiple of 32) through the WebAssembly loop. */
  private bulk(b: Uint8Array, o: number, n: number): void {
    for (let at = 0; at < n; at += 64 << 10) {
      const k = Math.min(64 << 10, n - at);
      this.mem.set(b.subarray(o + at, o + at + k), 0);
      this.w.stripes(k);
    }
  }
  update(b: Uint8Array): void {
    this.total += b.length;
    let o = 0;
    if (this.bufLen) {
      const k = Math.min(32 - this.bufLen, b.length);
      this.buf.set(b.subarray(0, k), this.bufLen);
      this.bufLen += k; o = k;
      if (this.bufLen < 32) return;
      this.bulk(this.buf, 0, 32);
      this.bufLen = 0;
    }
    const whole = (b.length - o) & ~31;
    if (whole) { this.bulk(b, o, whole); o += whole; }
    if (o < b.length) { this.buf.set(b.subarray(o), 0); this.bufLen = b.length - o; }
  }
  digest32(): number {
    const v = [this.w.v0(), this.w.v1(), this.w.v2(), this.w.v3()].flatMap((x) => [hi(BigInt.asUintN(64, x)), lo(BigInt.asUintN(64, x))]);
    let h: number, l: number;
    if (this.total >= 32) {
      this.rotl(v[0]!, v[1]!, 1); let sh = this.h, sl = this.l;
      this.rotl(v[2]!, v[3]!, 7); this.add(sh, sl, this.h, this.l); sh = this.h; sl = this.l;
      this.rotl(v[4]!, v[5]!, 12); this.add(sh, sl, this.h, this.l); sh = this.h; sl = this.l;
      this.rotl(v[6]!, v[7]!, 18); this.add(sh, sl, this.h, this.l); h = this.h; l = this.l;
      for (let k = 0; k < 4; k++) {
        this.round(0, 0, v[2 * k]!, v[2 * k + 1]!);
        h = (h ^ this.h) >>> 0; l = (l ^ this.l) >>> 0;
        this.mul(h, l, P1H, P1L); this.add(this.h, this.l, P4H, P4L); h = this.h; l = this.l;
      }
    } else {
      h = P5H; l = P5L;
    }
    const t = this.total;
    this.add(h, l, Math.floor(t / 0x1_0000_0000) >>> 0, t >>> 0); h = this.h; l = this.l;
    const b = this.buf;
    let i = 0;
    for (; i + 8 <= this.bufLen; i += 8) {
      const il = (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
      const ih = (b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24)) >>> 0;
      this.round(0, 0, ih, il);
      h = (h ^ this.h) >>> 0; l = (l ^ this.l) >>> 0;
      this.rotl(h, l, 27); this.mul(this.h, this.l, P1H, P1L); this.add(this.h, this.l, P4H, P4L); h = this.h; l = this.l;
    }
    if (i + 4 <= this.bufLen) {
      const w = (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
      this.mul(0, w, P1H, P1L);
      h = (h ^ this.h) >>> 0; l = (l ^ this.l) >>> 0;
      this.rotl(h, l, 23); this.mul(this.h, this.l, P2H, P2L); this.add(this.h, this.l, P3H, P3L); h = this.h; l = this.l;
      i += 4;
    }
    for (; i < this.bufLen; i++) {
      this.mul(0, b[i]!, P5H, P5L);
      h = (h ^ this.h) >>> 0; l = (l ^ this.l) >>> 0;
      this.rotl(h, l, 11); this.mul(this.h, this.l, P1H, P1L); h = this.h; l = this.l;
    }
    // avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32
    l = (l ^ (h >>> 1)) >>> 0;
    this.mul(h, l, P2H, P2L); h = this.h; l = this.l;
    const nh = (h ^ (h >>> 29)) >>> 0;
    l = (l ^ ((l >>> 29) | (h << 3))) >>> 0; h = nh;
    this.mul(h, l, P3H, P3L); h = this.h; l = this.l;
    l = (l ^ h) >>> 0;
    return l;
  }
}

interface LzmaNative {
  code(flush: number, input: Buffer | null, inOff: number, availIn: number, out: Buffer, outOff: number, cb: (ret: number, availIn: number, availOut: number) => void): void;
  close(): void;
}
interface LzmaModule { createUnxz(): unknown; LZMA_RUN: number; LZMA_FINISH: number; LZMA_OK: number; LZMA_STREAM_END: number }
const LZMA_ERRORS: Record<number, string> = {
  5: 'cannot allocate memory', 6: 'memory limit reached', 7: 'not an xz file', 8: 'unsupported xz options',
  9: 'compressed data is corrupt', 10: 'unexpected end of input',
};

async function unxzFile(input: string, output: string, progress: { read: number }): Promise<void> {
  let mod: LzmaModule;
  try {
    mod = (await import('node-liblzma')) as unknown as LzmaModule;
  } catch (e) {
    throw new DiskwrightError('E_CODEC_UNAVAILABLE', `the xz decoder (node-liblzma) failed to load: ${(e as Error).message}`, { value: 'xz', cause: e });
  }
  // The decoder object of node-liblzma's stream (lzma_stream_decoder with LZMA_CONCATENATED),
  // driven one output buffer at a time: its Transform pushes all the output of an input chunk at
  // once, which for a layer of zeros is thousands of times the chunk.
  const native = (mod.createUnxz() as { lzma?: LzmaNative }).lzma;
  if (!native || typeof native.code !== 'function') throw new DiskwrightError('E_CODEC_UNAVAILABLE', 'this node-liblzma has no decoder object to stream with', { value: 'xz' });
  const step = (action: number, buf: Buffer | null, inOff: number, availIn: number, out: Buffer): Promise<[number, number, number]> =>
    new Promise((res) => native.code(action, buf, inOff, availIn, out, 0, (ret, ai, ao) => res([ret, ai, ao])));
  const out = new SyncOut(output);
  const fh = await open(input, 'r');
  const outBuf = Buffer.alloc(OUT);
  try {
    let ended = false;
    for (;;) {
      const buf = Buffer.allocUnsafe(READ);
      const { bytesRead } = await fh.read(buf, 0, READ, null);
      const last = bytesRead === 0;
      let inOff = 0;
      let availIn = bytesRead;
      for (;;) {
        const [ret, ai, ao] = await step(last ? mod.LZMA_FINISH : mod.LZMA_RUN, last ? null : buf, inOff, availIn, outBuf);
        if (ret !== mod.LZMA_OK && ret !== mod.LZMA_STREAM_END) throw new Error(`liblzma: ${LZMA_ERRORS[ret] ?? `error ${ret}`}`);
        if (ao < outBuf.length) out.write(outBuf.subarray(0, outBuf.length - ao));
        progress.read += availIn - ai;
        inOff += availIn - ai;
        availIn = ai;
        if (ret === mod.LZMA_STREAM_END) { ended = true; break; }
        if (availIn === 0 && ao > 0) break;
      }
      if (last || ended) break;
    }
    if (!ended) throw new Error('liblzma: unexpected end of input');
  } finally {
    native.close();
    out.close();
    await fh.close();
  }
}

/** A bit reader over a file (MSB first), with the interface unbzip2-stream's block decoder calls. */
interface BitReader { (n: number | null): number; bytesRead: number }

interface Bz2Lib {
  header(bits: BitReader): number;
  /** Decodes one block into `stream` byte by byte; returns the running stream CRC, or null at the end-of-stream marker. */
  decompress(bits: BitReader, stream: (b: number) => void, buf: Int32Array, bufsize: number, streamCRC: number): number | null;
}

async function bunzip2File(input: string, output: string, progress: { read: number }): Promise<void> {
  const bz2 = require('unbzip2-stream/lib/bzip2') as Bz2Lib;
  const fd = openSync(input, 'r');
  const out = new SyncOut(output);
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
    out.close();
    closeSync(fd);
  }
}
