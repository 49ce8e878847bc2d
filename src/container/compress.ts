import { Writable } from 'node:stream';
import { codecs, fileCodecs, type StreamCodec } from '../codec/registry.js';
import type { FileCodec, FrameCodec } from '../codec/types.js';
import { DiskwrightError } from '../errors.js';
import { isZero } from './blocks.js';
import type { Codec, Job, JobResult } from './codecs.js';
import { CompressionPool } from './pool.js';
import { compressionFormat } from './registry.js';
import { drainOrFail, pace, type Sink } from './sink.js';

/**
 * Whole-output compression (docs/ARCHITECTURE.md §1 compression). A compressor turns the container's bytes
 * into a sequence of independently compressed frames, written in order to a Sink (`createSink`,
 * what `emit` uses) or a Node Writable (`create`).
 */
export interface Compressor<N extends string = string> {
  /** The name in the spec's `compression:` and `--compression`. */
  readonly name: N;
  /** Usual file suffix: '.zst', '.xz', '.gz', '.bz2'. */
  readonly suffix: string;
  /** Levels the codec accepts (the spec's compressionLevel is checked against them before planning). */
  readonly levels: readonly [number, number];
  /** The level used when none is given (the codec's own command-line default). */
  readonly defaultLevel: number;
  /** Throws a DiskwrightError (E_COMPRESSION_LEVEL) for a level outside `levels`. */
  checkLevel(level: number | undefined): void;
  create(out: Writable, level: number | undefined): Writable;
  createSink(out: Sink, level: number | undefined, signal?: AbortSignal): CompressingSink;
}

const IN_FLIGHT_PER_WORKER = 2;
const MAX_QUEUE = 64;

/** What a compressor wrote: frames, and the uncompressed bytes those frames hold. */
export interface FrameStats {
  frameSize: number;
  /** Bytes handed to the compressor. */
  bytesIn: number;
  /** Frames written to the output. */
  frames: number;
  /** Sum of the uncompressed lengths of the frames written. */
  bytesOut: number;
}

/**
 * The check `emit` makes before the output is renamed into place: every frame was written exactly
 * once, and together they hold exactly the container's bytes.
 */
export function checkFrameStats(stats: FrameStats, containerBytes: number, what: string): void {
  const expected = Math.max(1, Math.ceil(containerBytes / stats.frameSize));
  if (stats.bytesIn !== containerBytes || stats.frames !== expected || stats.bytesOut !== containerBytes) {
    throw new DiskwrightError('E_COMPRESSION_INTEGRITY', `${what}: the compressed stream holds ${stats.frames} frames and ${stats.bytesOut} bytes, but the image has ${expected} frames and ${containerBytes} bytes; nothing was written`, { value: what });
  }
}

/**
 * A cheap sanity check of one compressed frame against the length of its input (the codec's
 * `checkFrame`: magic number, and the uncompressed size where the frame records it, as zstd's frame
 * content size and gzip's ISIZE). Returns what is wrong, or undefined.
 */
export function checkFrame(codec: Codec, frame: Uint8Array, inputLength: number): string | undefined {
  const c: FrameCodec = codecs[codec];
  return 'checkFrame' in c ? (c as FileCodec).checkFrame(frame, inputLength) : undefined;
}

interface Task { result: Promise<Uint8Array>; done: boolean }

/** What FrameCompressor needs of a CompressionPool (tests give it one with their own timing). */
export interface FramePool {
  readonly size: number;
  run(job: Omit<Job, 'id'>): Promise<JobResult>;
  close(): Promise<void>;
}

/**
 * Compresses fixed-size frames on worker threads and hands them to `write` strictly in input
 * order, each exactly once, so the output is the same bytes on every run whatever the scheduling.
 * All-zero frames (the holes of a sparse disk) are compressed once and the result reused.
 */
export class FrameCompressor {
  private frame: Uint8Array;
  private fill = 0;
  /** Frames in input order; a queue entry points at its task (the zero frame's task is shared). */
  private readonly queue: { task: Task; length: number }[] = [];
  /** Resolved (and replaced) whenever a task finishes. */
  private finished = deferred();
  private pool: FramePool | undefined;
  private zeroTask: Task | undefined;
  private running = 0;
  private ended = false;
  private readonly stats: FrameStats;
  private writing: Promise<void> = Promise.resolve();
  private failed: unknown;

  constructor(private readonly write: (data: Uint8Array) => void | Promise<void>, private readonly codec: Codec, private readonly level: number | undefined, private readonly frameSize: number, private readonly signal?: AbortSignal, private readonly makePool: () => FramePool = () => new CompressionPool(undefined, { processes: codec === 'xz' })) {
    this.frame = new Uint8Array(frameSize);
    this.stats = { frameSize, bytesIn: 0, frames: 0, bytesOut: 0 };
  }

  private getPool(): FramePool {
    this.pool ??= this.makePool();
    return this.pool;
  }

  /**
   * Add bytes. Calls are taken in order; the caller must leave `chunk` unchanged until the promise
   * settles (every container writer awaits its writes).
   */
  push(chunk: Uint8Array): Promise<void> {
    return this.serial(() => this.take(chunk));
  }

  /** Add `n` zero bytes (holes). */
  pushZeros(n: number): Promise<void> {
    return this.serial(() => this.zeros(n));
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    if (this.ended) return Promise.reject(new Error('compressor already ended'));
    const p = this.writing.then(() => {
      if (this.failed !== undefined) throw this.failed;
      return fn();
    });
    // A failed push fails every later one (and end()): no frame is written after a lost one.
    this.writing = p.catch((e: unknown) => { this.failed ??= e; });
    return p;
  }

  private async take(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, this.frameSize - this.fill);
      this.frame.set(chunk.subarray(at, at + n), this.fill);
      this.fill += n;
      this.stats.bytesIn += n;
      at += n;
      if (this.fill === this.frameSize) await this.dispatch();
    }
  }

  private async zeros(n: number): Promise<void> {
    while (n > 0) {
      if (this.fill === 0 && n >= this.frameSize) {
        // A whole frame of zeros: queue the shared zero frame without filling a buffer.
        this.stats.bytesIn += this.frameSize;
        n -= this.frameSize;
        this.zeroTask ??= this.start(new Uint8Array(this.frameSize));
        this.queue.push({ task: this.zeroTask, length: this.frameSize });
        await this.pump(false);
        continue;
      }
      const k = Math.min(n, this.frameSize - this.fill);
      this.frame.fill(0, this.fill, this.fill + k);
      this.fill += k;
      this.stats.bytesIn += k;
      n -= k;
      if (this.fill === this.frameSize) await this.dispatch();
    }
  }

  private async dispatch(): Promise<void> {
    const length = this.fill;
    const data = this.frame.subarray(0, length);
    if (length === this.frameSize && isZero(data)) {
      this.zeroTask ??= this.start(data.slice());
      this.queue.push({ task: this.zeroTask, length });
    } else {
      // The frame's buffer is transferred to the worker: take a new one.
      this.queue.push({ task: this.start(data), length });
      this.frame = new Uint8Array(this.frameSize);
    }
    this.fill = 0;
    await this.pump(false);
  }

  /**
   * Write finished frames from the head of the queue, in order; then, unless `all`, return once
   * the frames in flight and the queue are within bounds (memory), else wait for a frame to finish.
   * With `all`, return when every queued frame is written.
   */
  private async pump(all: boolean): Promise<void> {
    for (;;) {
      while (this.queue.length > 0 && this.queue[0]!.task.done) await this.writeOldest();
      if (all ? this.queue.length === 0 : this.running < this.getPool().size * IN_FLIGHT_PER_WORKER && this.queue.length < MAX_QUEUE) return;
      if (this.running > 0) await this.finished.promise;
      else await this.writeOldest();
    }
  }

  private start(data: Uint8Array): Task {
    this.running++;
    const task: Task = { result: undefined as unknown as Promise<Uint8Array>, done: false };
    task.result = this.getPool().run({ codec: this.codec, level: this.level, data }).then((r) => r.data).finally(() => {
      this.running--;
      task.done = true;
      const f = this.finished;
      this.finished = deferred();
      f.resolve();
    });
    // Awaited when its frame reaches the head of the queue; never an unhandled rejection meanwhile.
    task.result.catch(() => undefined);
    return task;
  }

  private async writeOldest(): Promise<void> {
    const entry = this.queue.shift()!;
    const data = await entry.task.result;
    const problem = checkFrame(this.codec, data, entry.length);
    if (problem) throw new DiskwrightError('E_COMPRESSION_INTEGRITY', `${this.codec} frame ${this.stats.frames}: ${problem}`);
    await this.write(data);
    this.stats.frames++;
    this.stats.bytesOut += entry.length;
    await pace(this.signal);
  }

  /** Compress what is left, write every frame, stop the workers; returns what was written. */
  async end(): Promise<FrameStats> {
    await this.writing;
    this.ended = true;
    try {
      if (this.failed !== undefined) throw this.failed;
      // An empty input still gets one (empty) frame: a valid, empty stream.
      if (this.fill > 0 || this.stats.bytesIn === 0) await this.dispatch();
      await this.pump(true);
    } finally {
      await this.destroy();
    }
    return { ...this.stats };
  }

  /** Stop: settle what is running (no unhandled rejections), then stop the workers. */
  async destroy(): Promise<void> {
    this.ended = true;
    const pool = this.pool;
    this.pool = undefined;
    await Promise.allSettled(this.queue.map((q) => q.task.result));
    this.queue.length = 0;
    await pool?.close();
  }
}

/**
 * The compressor as a Sink: the container writer writes into it; frames go to `out`. `end()`
 * flushes and returns the frame statistics (emit checks them before `out` is finished and renamed).
 */
export class CompressingSink implements Sink {
  private pos = 0;
  private readonly fc: FrameCompressor;
  constructor(private readonly out: Sink, codec: Codec, level: number | undefined, frameSize: number, signal?: AbortSignal) {
    this.fc = new FrameCompressor((d) => out.write(d), codec, level, frameSize, signal);
  }
  get position(): number { return this.pos; }
  write(data: Uint8Array): Promise<void> {
    this.pos += data.length;
    return this.fc.push(data);
  }
  skip(n: number): Promise<void> {
    this.pos += n;
    return this.fc.pushZeros(n);
  }
  /** Flush every frame; `out` is not finished (the caller checks the statistics first). */
  end(): Promise<FrameStats> { return this.fc.end(); }
  async finish(): Promise<void> {
    checkFrameStats(await this.end(), this.pos, 'compressed output');
    await this.out.finish();
  }
  abort(): void {
    void this.fc.destroy();
    this.out.abort();
  }
}

/** The compressor as a Node Writable over `out` (library use; emit uses CompressingSink). */
class CompressingWritable extends Writable {
  private readonly fc: FrameCompressor;
  constructor(private readonly out: Writable, codec: Codec, level: number | undefined, frameSize: number) {
    super({ highWaterMark: 1 << 20 });
    this.fc = new FrameCompressor((d) => (out.write(d) ? undefined : drainOrFail(out)), codec, level, frameSize);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.fc.push(chunk).then(() => cb(), cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    (async () => {
      await this.fc.end();
      await new Promise<void>((resolve, reject) => {
        if (this.out.errored) { reject(this.out.errored); return; }
        this.out.end((err?: Error | null) => (err ? reject(err) : resolve()));
      });
    })().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.fc.destroy().then(() => cb(err), () => cb(err));
    this.out.destroy(err ?? undefined);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

function parallel<const N extends StreamCodec>(codec: FileCodec<N>): Compressor<N> {
  const { name, suffix, levels, defaultLevel, frameSize } = codec;
  // The level check is the registry's (validation runs it without loading this module).
  const { checkLevel } = compressionFormat(name)!;
  return {
    name, suffix, levels, defaultLevel, checkLevel,
    create(out, level) {
      this.checkLevel(level);
      return new CompressingWritable(out, name, level ?? defaultLevel, frameSize);
    },
    createSink(out, level, signal) {
      this.checkLevel(level);
      return new CompressingSink(out, name, level ?? defaultLevel, frameSize, signal);
    },
  };
}

/**
 * The compressors, derived from the whole-file codecs of the table (src/codec/registry.ts). Each
 * output is a sequence of independent frames (zstd frames, xz streams, gzip members, bzip2 streams)
 * that the reference tools decode as one stream.
 */
export const compressors = fileCodecs.map((c) => parallel(c)) as readonly Compressor<StreamCodec>[];

export function compressor(name: string): Compressor | undefined {
  return (compressors as readonly Compressor[]).find((c) => c.name === name);
}
