import { Writable } from 'node:stream';
import { DiskwrightError } from '../errors.js';
import { isZero } from './blocks.js';
import type { Codec } from './codecs.js';
import { CompressionPool } from './pool.js';
import { drainOrFail } from './sink.js';

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
const MAX_QUEUE = 64;

/**
 * Compresses fixed-size frames on worker threads and writes them to `out` in input order, so the
 * output is the same bytes on every run whatever the scheduling. All-zero frames (the holes of a
 * sparse disk, written out by the stream sink) are compressed once and reused.
 */
class ParallelCompressor extends Writable {
  private frame: Buffer;
  private fill = 0;
  private readonly queue: { result: Promise<Uint8Array>; done: boolean }[] = [];
  /** Resolved (and replaced) whenever a frame finishes compressing. */
  private finished: { promise: Promise<void>; resolve: () => void } = deferred();
  private pool: CompressionPool | undefined;
  private frames = 0;
  private zeroFrame: { result: Promise<Uint8Array>; done: boolean } | undefined;
  private running = 0;

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
      const entry = { result: this.zeroFrame.result, done: this.zeroFrame.done };
      this.queue.push(entry);
      if (!entry.done) void this.zeroFrame.result.then(() => { entry.done = true; }, () => { entry.done = true; });
    } else {
      this.queue.push(this.compress(data));
      this.frame = Buffer.allocUnsafeSlow(this.frameSize);
    }
    this.fill = 0;
    // Bound the frames being compressed (memory) and the queue; write finished frames in order as
    // soon as they reach the head, and otherwise wait for any frame to finish, so a heavy frame at
    // the head does not idle the other worker.
    for (;;) {
      while (this.queue.length > 0 && this.queue[0]!.done) await this.writeOldest();
      if (this.running < this.getPool().size * IN_FLIGHT_PER_WORKER && this.queue.length < MAX_QUEUE) break;
      if (this.running > 0) await this.finished.promise;
      else await this.writeOldest();
    }
  }

  private compress(data: Uint8Array): { result: Promise<Uint8Array>; done: boolean } {
    this.running++;
    const entry = { result: undefined as unknown as Promise<Uint8Array>, done: false };
    entry.result = this.getPool().run({ codec: this.codec, level: this.level, data }).then((r) => r.data).finally(() => {
      this.running--;
      entry.done = true;
      const f = this.finished;
      this.finished = deferred();
      f.resolve();
    });
    return entry;
  }

  private async writeOldest(): Promise<void> {
    const data = await this.queue.shift()!.result;
    if (!this.out.write(data)) await drainOrFail(this.out);
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
    Promise.allSettled(this.queue.map((q) => q.result)).then(() => pool?.close()).then(() => cb(err), () => cb(err));
    this.out.destroy(err ?? undefined);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
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
