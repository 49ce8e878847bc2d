import { Writable } from 'node:stream';
import { DiskwrightError } from '../errors.js';
import { isZero } from './blocks.js';
import type { Codec } from './codecs.js';
import { CompressionPool } from './pool.js';

/**
 * Whole-output compression (DESIGN.md §1 compression). A compressor returns a Writable that
 * compresses into `out`; the emit stage writes the container through it.
 */
export interface Compressor {
  readonly name: string;
  /** Usual file suffix: '.zst', '.xz', '.gz', '.bz2'. */
  readonly suffix: string;
  /** Levels the codec accepts. */
  readonly levels: readonly [number, number];
  /** Throws a DiskwrightError (E_COMPRESSION_LEVEL) for a level outside `levels`. */
  checkLevel(level: number | undefined): void;
  create(out: Writable, level: number | undefined): Writable;
}

/** Frame size per codec: large enough for a good ratio, small enough to keep both cores fed. */
const FRAME: Record<string, number> = {
  zstd: 8 << 20,
  xz: 8 << 20,
  gzip: 4 << 20,
  bzip2: 9 * 900_000, // nine bzip2 blocks at -9
};
const IN_FLIGHT_PER_WORKER = 2;

/**
 * Compresses fixed-size frames on worker threads and writes them to `out` in input order, so the
 * output is the same bytes on every run whatever the scheduling. All-zero frames (the holes of a
 * sparse disk, written out by the stream sink) are compressed once and reused.
 */
class ParallelCompressor extends Writable {
  private frame: Buffer;
  private fill = 0;
  private readonly queue: Promise<Uint8Array>[] = [];
  private pool: CompressionPool | undefined;
  private frames = 0;
  private zeroFrame: Promise<Uint8Array> | undefined;

  constructor(private readonly out: Writable, private readonly codec: Codec, private readonly level: number | undefined, private readonly frameSize: number) {
    super({ highWaterMark: 1 << 20 });
    this.frame = Buffer.allocUnsafeSlow(frameSize);
  }

  private getPool(): CompressionPool {
    this.pool ??= new CompressionPool();
    return this.pool;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.take(chunk).then(() => cb(), cb);
  }

  private async take(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, this.frameSize - this.fill);
      this.frame.set(chunk.subarray(at, at + n), this.fill);
      this.fill += n;
      at += n;
      if (this.fill === this.frameSize) await this.dispatch();
    }
  }

  private async dispatch(): Promise<void> {
    const data = this.frame.subarray(0, this.fill);
    this.frames++;
    if (this.fill === this.frameSize && isZero(data)) {
      this.zeroFrame ??= this.compress(Buffer.from(data));
      this.queue.push(this.zeroFrame);
    } else {
      this.queue.push(this.compress(data));
      this.frame = Buffer.allocUnsafeSlow(this.frameSize);
    }
    this.fill = 0;
    while (this.queue.length >= this.getPool().size * IN_FLIGHT_PER_WORKER) await this.writeOldest();
  }

  private compress(data: Uint8Array): Promise<Uint8Array> {
    return this.getPool().run({ codec: this.codec, level: this.level, data }).then((r) => r.data);
  }

  private async writeOldest(): Promise<void> {
    const data = await this.queue.shift()!;
    if (!this.out.write(data)) await new Promise<void>((r) => this.out.once('drain', r));
  }

  override _final(cb: (e?: Error | null) => void): void {
    (async () => {
      if (this.fill > 0 || this.frames === 0) await this.dispatch();
      while (this.queue.length > 0) await this.writeOldest();
      await this.pool?.close();
      await new Promise<void>((resolve, reject) => {
        this.out.once('error', reject);
        this.out.end(() => resolve());
      });
    })().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    const pool = this.pool;
    Promise.allSettled(this.queue).then(() => pool?.close()).then(() => cb(err), () => cb(err));
    this.out.destroy(err ?? undefined);
  }
}

function parallel(name: string, codec: Codec, suffix: string, levels: [number, number]): Compressor {
  return {
    name, suffix, levels,
    checkLevel(level) {
      if (level !== undefined && (!Number.isInteger(level) || level < levels[0] || level > levels[1])) {
        throw new DiskwrightError('E_COMPRESSION_LEVEL', `${name} level ${level} is out of range: use ${levels[0]}..${levels[1]}`, { path: 'compressionLevel', value: level });
      }
    },
    create(out, level) {
      this.checkLevel(level);
      return new ParallelCompressor(out, codec, level, FRAME[name]!);
    },
  };
}

/**
 * The compressors. Each output is a sequence of independent frames (zstd frames, xz streams,
 * gzip members, bzip2 streams) that the reference tools decode as one stream.
 */
export const compressors: Compressor[] = [
  parallel('zstd', 'zstd', '.zst', [1, 19]),
  parallel('xz', 'xz', '.xz', [0, 9]),
  parallel('gzip', 'gzip', '.gz', [1, 9]),
  parallel('bzip2', 'bzip2', '.bz2', [1, 9]),
];

export function compressor(name: string): Compressor | undefined {
  return compressors.find((c) => c.name === name);
}
