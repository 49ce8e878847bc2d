import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/**
 * The decoders' output file: written synchronously as decoders produce (no queue to grow, so memory
 * stays bounded whatever the ratio) and sparse: every all-zero HOLE_BLOCK, aligned to the output
 * offset, is skipped instead of written, and recorded as a hole, so a layer of zeros costs no disk.
 */
export const HOLE_BLOCK = 64 << 10;
/** The file is extended over skipped holes every so often, so its size shows the progress. */
const EXTEND_EVERY = 64 << 20;
const ZERO = Buffer.alloc(HOLE_BLOCK);

/** A byte range [start, end) of the output. */
export interface Range { start: number; end: number }

/** What a decompression produced: the output's size and its holes (sorted, merged). */
export interface Decompressed { size: number; holes: Range[] }

/** Compressed bytes consumed so far (named in E_DECOMPRESS). */
export interface Progress { read: number }

export class SparseOut {
  private readonly fd: number;
  private readonly pending = Buffer.allocUnsafe(HOLE_BLOCK);
  private pendingLen = 0;
  /** Output offset of pending[0], a multiple of HOLE_BLOCK. */
  private pos = 0;
  /** The file's current length (written or extended to). */
  private fileEnd = 0;
  readonly holes: Range[] = [];
  /** Bytes produced since the decoder last yielded to the event loop. */
  sinceYield = 0;

  constructor(path: string) { this.fd = openSync(path, 'w', 0o600); }

  write(b: Uint8Array): void {
    this.sinceYield += b.length;
    let o = 0;
    if (this.pendingLen) {
      const k = Math.min(HOLE_BLOCK - this.pendingLen, b.length);
      this.pending.set(b.subarray(0, k), this.pendingLen);
      this.pendingLen += k;
      o = k;
      if (this.pendingLen < HOLE_BLOCK) return;
      this.blocks(this.pending, 0, HOLE_BLOCK);
      this.pendingLen = 0;
    }
    const whole = Math.floor((b.length - o) / HOLE_BLOCK) * HOLE_BLOCK;
    if (whole) { this.blocks(b, o, whole); o += whole; }
    if (o < b.length) { this.pending.set(b.subarray(o), 0); this.pendingLen = b.length - o; }
  }

  /** Flush the last partial block and set the final length (holes at the end included). */
  finish(): Decompressed {
    if (this.pendingLen) {
      const tail = this.pending.subarray(0, this.pendingLen);
      if (ZERO.subarray(0, this.pendingLen).equals(tail)) this.hole(this.pos, this.pos + this.pendingLen);
      else this.put(tail, 0, this.pendingLen, this.pos);
      this.pos += this.pendingLen;
      this.pendingLen = 0;
    }
    if (this.fileEnd !== this.pos) { ftruncateSync(this.fd, this.pos); this.fileEnd = this.pos; }
    return { size: this.pos, holes: this.holes };
  }

  close(): void { closeSync(this.fd); }

  /** `n` bytes (whole blocks) of `b` from `o`, at this.pos: zero blocks become holes, runs of data one write. */
  private blocks(b: Uint8Array, o: number, n: number): void {
    let run = -1;
    for (let at = 0; at < n; at += HOLE_BLOCK) {
      if (ZERO.equals(b.subarray(o + at, o + at + HOLE_BLOCK))) {
        if (run >= 0) { this.put(b, o + run, at - run, this.pos + run); run = -1; }
        this.hole(this.pos + at, this.pos + at + HOLE_BLOCK);
      } else if (run < 0) {
        run = at;
      }
    }
    if (run >= 0) this.put(b, o + run, n - run, this.pos + run);
    this.pos += n;
  }

  private put(b: Uint8Array, o: number, n: number, at: number): void {
    let done = 0;
    while (done < n) done += writeSync(this.fd, b, o + done, n - done, at + done);
    if (at + n > this.fileEnd) this.fileEnd = at + n;
  }

  private hole(start: number, end: number): void {
    const last = this.holes[this.holes.length - 1];
    if (last && last.end === start) last.end = end; else this.holes.push({ start, end });
    if (end - this.fileEnd >= EXTEND_EVERY) { ftruncateSync(this.fd, end); this.fileEnd = end; }
  }
}

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Yield to the event loop after every 64 MiB of output (signals, progress stay live). */
export async function maybeYield(out: SparseOut): Promise<void> {
  if (out.sinceYield > 64 << 20) { out.sinceYield = 0; await tick(); }
}

/** Input read at once by the decoders. */
export const READ = 1 << 20;
/** Output buffer of the decoders that fill one. */
export const OUT = 1 << 20;
