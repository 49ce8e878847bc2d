import {
  closeSync, constants, fsyncSync, ftruncateSync, lstatSync, mkdirSync, openSync, readlinkSync, realpathSync, renameSync,
  rmSync, statSync, writeSync, type Stats,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, basename, isAbsolute, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createHash, type Hash } from 'node:crypto';
import { DiskwrightError } from '../errors.js';
import { devicesInWriting, forgetDirs, liveDirs, liveTemps, removeDirs } from './temporaries.js';

// Where the temporaries are tracked (what the CLI's signal handlers remove): temporaries.ts.
export { devicesPartlyWritten, registerTemporary, removeTemporaryOutputs } from './temporaries.js';

/**
 * Where emitted bytes go. Writers append sequentially; `skip` advances over zeros, which a seekable
 * file sink leaves as a hole and a stream or block-device sink writes out.
 */
export interface Sink {
  /** Bytes written or skipped so far. */
  readonly position: number;
  /** Callers await the result before they reuse `data`. */
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
 * A host error on the output as one line naming the path (ENOSPC, EROFS, EISDIR, EIO…).
 * EPIPE (the reader of a pipe went away) gets its own code, E_OUTPUT_CLOSED: the CLI exits quietly.
 */
export function outputError(path: string, e: unknown, doing = 'write'): DiskwrightError {
  if (e instanceof DiskwrightError) return e;
  const err = e as NodeJS.ErrnoException;
  const code = err?.code === 'EPIPE' || err?.code === 'ERR_STREAM_DESTROYED' ? 'E_OUTPUT_CLOSED' : 'E_OUTPUT';
  const why = err?.code && err.message?.startsWith(`${err.code}: `) ? err.message.replace(/, \w+( '.*')?$/, '') : err?.code ? `${err.code}: ${err.message}` : String(err?.message ?? e);
  return new DiskwrightError(code, `cannot ${doing} ${path}: ${why}`, { value: path, cause: e });
}

let lastYield = performance.now();
/**
 * Long synchronous loops call this between steps: it throws if `signal` was aborted and, when the
 * event loop has not run for 50 ms, yields to it (signal handlers, timers, progress) and checks
 * again. Cheap to call often: usually it returns undefined without a promise.
 */
export function pace(signal?: AbortSignal): Promise<void> | undefined {
  signal?.throwIfAborted();
  if (performance.now() - lastYield < 50) return undefined;
  return new Promise<void>((r) => setImmediate(r)).then(() => {
    lastYield = performance.now();
    signal?.throwIfAborted();
  });
}

/**
 * A file sink writing to a temporary file beside the destination, renamed over it in `finish`, so a
 * failed or interrupted build leaves no partial output (all temporaries are removed on SIGINT).
 * Parent directories that do not exist are created, and removed again if the output is abandoned.
 */
export class FileSink implements Sink {
  private fd: number;
  private pos = 0;
  private readonly tmp: string;
  private done = false;
  private readonly createdDirs: string[];
  constructor(private readonly dest: string) {
    this.createdDirs = makeParents(dirname(dest));
    this.tmp = join(dirname(dest), `.${basename(dest)}.diskwright-${process.pid}.tmp`);
    try {
      this.fd = openSync(this.tmp, 'w', 0o644);
    } catch (e) {
      removeDirs(this.createdDirs);
      throw outputError(dest, e, 'create');
    }
    liveTemps.add(this.tmp);
    liveDirs.push(this.createdDirs);
  }
  get position(): number { return this.pos; }
  write(data: Uint8Array): void {
    writeAllAt(this.fd, data, this.pos, this.dest);
    this.pos += data.length;
  }
  skip(n: number): void { this.pos += n; }
  async finish(): Promise<void> {
    // The file gets its full length even when it ends in a hole. No fsync: like mkfs and cp we
    // leave flushing to the kernel; the rename still makes the output appear only when complete.
    try {
      ftruncateSync(this.fd, this.pos);
      const fd = this.fd;
      this.fd = -1;
      closeSync(fd);
      renameSync(this.tmp, this.dest);
    } catch (e) {
      throw outputError(this.dest, e);
    }
    liveTemps.delete(this.tmp);
    forgetDirs(this.createdDirs);
    this.done = true;
  }
  abort(): void {
    if (this.done) return;
    if (this.fd >= 0) { try { closeSync(this.fd); } catch { /* already closed */ } }
    rmSync(this.tmp, { force: true });
    liveTemps.delete(this.tmp);
    removeDirs(this.createdDirs);
    forgetDirs(this.createdDirs);
    this.done = true;
  }
}

/**
 * Write all of `data` at `pos`; any failure is one DiskwrightError naming `dest`. A write that
 * returns 0 (the end of a device, a full filesystem) is ENOSPC: the image does not fit.
 */
function writeAllAt(fd: number, data: Uint8Array, pos: number, dest: string): void {
  let off = 0;
  try {
    while (off < data.length) {
      const n = writeSync(fd, data, off, data.length - off, pos + off);
      if (n <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      off += n;
    }
  } catch (e) {
    throw outputError(dest, e);
  }
}

/**
 * A block device: written in place, front to back, holes as zeros (the device holds old data),
 * then fsync. Nothing is renamed; an abandoned write leaves the device partly overwritten.
 */
export class BlockDeviceSink implements Sink {
  private fd: number;
  private pos = 0;
  constructor(private readonly dest: string, private readonly signal?: AbortSignal) {
    try {
      this.fd = openSync(dest, constants.O_WRONLY);
    } catch (e) {
      throw outputError(dest, e, 'open');
    }
    devicesInWriting.add(dest);
  }
  get position(): number { return this.pos; }
  write(data: Uint8Array): void {
    writeAllAt(this.fd, data, this.pos, this.dest);
    this.pos += data.length;
  }
  async skip(n: number): Promise<void> {
    while (n > 0) {
      const k = Math.min(n, ZEROS.length);
      this.write(ZEROS.subarray(0, k));
      n -= k;
      await pace(this.signal);
    }
  }
  async finish(): Promise<void> {
    try {
      fsyncSync(this.fd);
      const fd = this.fd;
      this.fd = -1;
      closeSync(fd);
      devicesInWriting.delete(this.dest);
    } catch (e) {
      throw outputError(this.dest, e);
    }
  }
  abort(): void {
    if (this.fd >= 0) { try { closeSync(this.fd); } catch { /* already closed */ } }
    this.fd = -1;
  }
}

/**
 * A sink over a Node stream (stdout, a FIFO, a character device): holes are written as zeros;
 * backpressure is honoured; the stream's errors fail the next write or `finish`.
 */
export class StreamSink implements Sink {
  private pos = 0;
  private error: Error | undefined;
  constructor(private readonly stream: Writable, private readonly end = true, private readonly name = 'standard output', private readonly signal?: AbortSignal) {
    // Always listen: an 'error' event nobody listens to would end the process with a stack trace.
    stream.on('error', (e) => { this.error ??= e; });
  }
  get position(): number { return this.pos; }
  async write(data: Uint8Array): Promise<void> {
    if (this.error || this.stream.errored) throw outputError(this.name, this.error ?? this.stream.errored);
    this.pos += data.length;
    try {
      // Copy: the stream keeps the chunk after write() returns; callers reuse their buffers.
      if (!this.stream.write(Buffer.from(data))) await drainOrFail(this.stream);
    } catch (e) {
      throw outputError(this.name, this.error ?? e);
    }
  }
  async skip(n: number): Promise<void> {
    while (n > 0) {
      const k = Math.min(n, ZEROS.length);
      await this.write(ZEROS.subarray(0, k));
      n -= k;
      await pace(this.signal);
    }
  }
  async finish(): Promise<void> {
    if (this.error || this.stream.errored) throw outputError(this.name, this.error ?? this.stream.errored);
    try {
      if (this.end) {
        this.stream.end();
        await finished(this.stream);
      } else if (this.stream.writableNeedDrain) {
        await drainOrFail(this.stream);
      }
    } catch (e) {
      throw outputError(this.name, this.error ?? e);
    }
    if (this.error) throw outputError(this.name, this.error);
  }
  abort(): void { if (this.end) this.stream.destroy(); }
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
  constructor(private readonly inner: Sink, private readonly signal?: AbortSignal) {}
  get position(): number { return this.inner.position; }
  write(data: Uint8Array): void | Promise<void> {
    this.hash.update(data);
    return this.inner.write(data);
  }
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const k = Math.min(left, ZEROS.length);
      this.hash.update(ZEROS.subarray(0, k));
      left -= k;
      // Long runs of zeros take seconds to hash: let signals and timers run now and then.
      await pace(this.signal);
    }
    return this.inner.skip(n);
  }
  finish(): Promise<void> { return this.inner.finish(); }
  abort(): void { this.inner.abort(); }
}

/**
 * What the container writer writes to: every write and skip first calls `pace`, so every writer's
 * loop yields to the event loop (signals) and stops on `signal`, whatever its sink.
 */
export class PacedSink implements Sink {
  constructor(private readonly inner: Sink, private readonly signal?: AbortSignal) {}
  get position(): number { return this.inner.position; }
  write(data: Uint8Array): void | Promise<void> {
    const p = pace(this.signal);
    return p ? p.then(() => this.inner.write(data)) : this.inner.write(data);
  }
  skip(n: number): void | Promise<void> {
    const p = pace(this.signal);
    return p ? p.then(() => this.inner.skip(n)) : this.inner.skip(n);
  }
  finish(): Promise<void> { return this.inner.finish(); }
  abort(): void { this.inner.abort(); }
}

/** Let pending I/O callbacks, timers and signal handlers run (long synchronous loops call this). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The kind of output a path names (after following symlinks). */
export type OutputKind = 'file' | 'block' | 'stream';

/**
 * Open the sink for an output path, by what the path is:
 * - nothing, or a regular file: a temporary file beside it, renamed over it when complete;
 * - a symlink: the same for its (resolved) target, so the link stays and points at the new image;
 * - a block device: written in place (holes as zeros), fsync, no rename;
 * - a character device or FIFO: the byte stream (holes as zeros);
 * - a directory or socket: an error. A special file never becomes a regular one.
 */
export async function openOutput(dest: string, signal?: AbortSignal): Promise<{ sink: Sink; kind: OutputKind; path: string }> {
  let st: Stats | undefined;
  try {
    st = statSync(dest);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw outputError(dest, e, 'open');
  }
  if (!st || st.isFile()) {
    // Through symlinks: replace the final target (a dangling link: create its target).
    const path = st ? realpathSync(dest) : resolveDangling(dest);
    return { sink: new FileSink(path), kind: 'file', path };
  }
  if (st.isDirectory()) throw new DiskwrightError('E_OUTPUT', `cannot write ${dest}: it is a directory`, { value: dest });
  if (st.isBlockDevice()) return { sink: new BlockDeviceSink(dest, signal), kind: 'block', path: dest };
  if (st.isCharacterDevice() || st.isFIFO()) {
    let fh;
    try {
      // Opened on the thread pool: a FIFO's open blocks until a reader comes, signals still work.
      fh = await open(dest, constants.O_WRONLY);
    } catch (e) {
      throw outputError(dest, e, 'open');
    }
    const stream = fh.createWriteStream({ highWaterMark: 1 << 20 });
    return { sink: new StreamSink(stream, true, dest, signal), kind: 'stream', path: dest };
  }
  throw new DiskwrightError('E_OUTPUT', `cannot write ${dest}: it is neither a regular file nor a device or FIFO`, { value: dest });
}

/** Where a path that does not exist (possibly a dangling symlink, or a chain of them) leads. */
function resolveDangling(dest: string): string {
  let p = resolve(dest);
  for (let i = 0; i < 40; i++) {
    let st: Stats;
    try { st = lstatSync(p); } catch { return p; }
    if (!st.isSymbolicLink()) return p;
    const target = readlinkSync(p);
    p = isAbsolute(target) ? target : resolve(dirname(p), target);
  }
  throw new DiskwrightError('E_OUTPUT', `cannot write ${dest}: too many levels of symbolic links`, { value: dest });
}

/** mkdir -p; returns the directories it created, outermost first. */
function makeParents(dir: string): string[] {
  let first: string | undefined;
  try {
    first = mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw outputError(dir, e, 'create directory');
  }
  if (first === undefined) return [];
  const out: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    out.unshift(d);
    if (d === resolve(first) || dirname(d) === d) break;
  }
  return out;
}
