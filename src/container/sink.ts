import { closeSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import type { Writable } from 'node:stream';
import { createHash, type Hash } from 'node:crypto';

/**
 * Where emitted bytes go. Writers append sequentially; `skip` advances over zeros, which a seekable
 * file sink leaves as a hole and a stream sink writes out.
 */
export interface Sink {
  /** Bytes written or skipped so far. */
  readonly position: number;
  write(data: Uint8Array): void | Promise<void>;
  /** Advance by `n` zero bytes. */
  skip(n: number): void | Promise<void>;
  /** Flush; after this the output is complete. */
  finish(): Promise<void>;
  /** Abandon: remove partial output. */
  abort(): void;
}

const ZEROS = new Uint8Array(1 << 20);

/**
 * A file sink writing to a temporary file beside the destination, renamed over it in `finish`, so a
 * failed or interrupted build leaves no partial output (all temporaries are removed on SIGINT).
 */
export class FileSink implements Sink {
  private fd: number;
  private pos = 0;
  private readonly tmp: string;
  private done = false;
  constructor(private readonly dest: string) {
    this.tmp = join(dirname(dest), `.${basename(dest)}.diskwright-${process.pid}.tmp`);
    this.fd = openSync(this.tmp, 'w', 0o644);
    liveTemps.add(this.tmp);
  }
  get position(): number { return this.pos; }
  write(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off, data.length - off, this.pos + off);
    this.pos += data.length;
  }
  skip(n: number): void { this.pos += n; }
  async finish(): Promise<void> {
    // The file gets its full length even when it ends in a hole. No fsync: like mkfs and cp we
    // leave flushing to the kernel; the rename still makes the output appear only when complete.
    ftruncateSync(this.fd, this.pos);
    closeSync(this.fd);
    renameSync(this.tmp, this.dest);
    liveTemps.delete(this.tmp);
    this.done = true;
  }
  abort(): void {
    if (this.done) return;
    try { closeSync(this.fd); } catch { /* already closed */ }
    rmSync(this.tmp, { force: true });
    liveTemps.delete(this.tmp);
    this.done = true;
  }
}

/** A sink over a Node stream (stdout, a compressor): holes are written as zeros; backpressure is honoured. */
export class StreamSink implements Sink {
  private pos = 0;
  constructor(private readonly stream: Writable, private readonly end = true) {}
  get position(): number { return this.pos; }
  async write(data: Uint8Array): Promise<void> {
    this.pos += data.length;
    // Copy: callers reuse their buffers once write returns.
    if (!this.stream.write(Buffer.from(data))) await drainOrFail(this.stream);
  }
  async skip(n: number): Promise<void> {
    while (n > 0) {
      const k = Math.min(n, ZEROS.length);
      await this.write(ZEROS.subarray(0, k));
      n -= k;
    }
  }
  async finish(): Promise<void> {
    if (!this.end) return;
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(() => resolve());
    });
  }
  abort(): void { this.stream.destroy(); }
}

/**
 * Wait for 'drain', or fail with the stream's error: a stream that errors never drains, and
 * waiting for it alone would leave the build pending forever.
 */
export function drainOrFail(stream: Writable): Promise<void> {
  if (stream.errored) return Promise.reject(stream.errored);
  if (stream.destroyed) return Promise.reject(new Error('output stream closed before the image was written'));
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off('drain', onDrain); stream.off('error', onError); stream.off('close', onClose);
      if (err) reject(err); else resolve();
    };
    const onDrain = (): void => done();
    const onError = (e: Error): void => done(e);
    const onClose = (): void => done(stream.errored ?? new Error('output stream closed before the image was written'));
    stream.on('drain', onDrain); stream.on('error', onError); stream.on('close', onClose);
  });
}

/** Passes everything through to `inner` and hashes it (holes hashed as zeros). */
export class HashingSink implements Sink {
  readonly hash: Hash = createHash('sha256');
  constructor(private readonly inner: Sink) {}
  get position(): number { return this.inner.position; }
  write(data: Uint8Array): void | Promise<void> {
    this.hash.update(data);
    return this.inner.write(data);
  }
  async skip(n: number): Promise<void> {
    let left = n;
    let sinceYield = 0;
    while (left > 0) {
      const k = Math.min(left, ZEROS.length);
      this.hash.update(ZEROS.subarray(0, k));
      left -= k;
      // Long runs of zeros take seconds to hash: let signals and timers run now and then.
      if ((sinceYield += k) >= 256 << 20) { sinceYield = 0; await yieldToEventLoop(); }
    }
    return this.inner.skip(n);
  }
  finish(): Promise<void> { return this.inner.finish(); }
  abort(): void { this.inner.abort(); }
}

/** Let pending I/O callbacks, timers and signal handlers run (long synchronous loops call this). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Temporary outputs alive in this process, removed if the process is interrupted. */
const liveTemps = new Set<string>();
/** Remove every temporary output of this process (the CLI calls this on SIGINT/SIGTERM). */
export function removeTemporaryOutputs(): void {
  for (const t of liveTemps) { try { rmSync(t, { force: true }); } catch { /* ignore */ } }
  liveTemps.clear();
}
process.once('exit', removeTemporaryOutputs);
