/**
 * Browser output sinks (the `Sink` interface of src/container/sink.ts): a buffer in memory offered
 * as a Blob for small images, or a FileSystemWritableFileStream from `showSaveFilePicker` that streams to
 * disk, seeking over holes. Nothing leaves the browser.
 */
import type { Sink } from '../container/sink.js';

/**
 * The image in memory, offered as a Blob: one buffer of the expected size (a raw disk's size;
 * it doubles when a container turns out larger), so holes cost nothing (a new buffer is zeros)
 * and no write allocates. Writers reuse their buffers once a write returns: each write is copied
 * in. `bytes` (before the Blob) lets the caller hash the output with crypto.subtle in one call.
 *
 * @example
 * const sink = new BlobSink(plan.disk.size);
 * await emitTo(disk, writer, sink, opts);
 * const url = URL.createObjectURL(sink.blob!);
 */
export class BlobSink implements Sink {
  private buf: Uint8Array<ArrayBuffer>;
  private pos = 0;
  blob: Blob | undefined;
  /** The output's bytes, once finished. */
  bytes: Uint8Array<ArrayBuffer> | undefined;
  constructor(sizeHint = 0, private readonly type = 'application/octet-stream') {
    // A hint past 1 GiB (a big sparse disk) is not allocated up front: the buffer grows as written.
    this.buf = new Uint8Array(sizeHint > 0 && sizeHint <= 1 << 30 ? sizeHint : 16 << 20);
  }
  get position(): number { return this.pos; }
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.pos + n, this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }
  write(data: Uint8Array): void {
    this.room(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }
  skip(n: number): void {
    this.room(n);
    this.pos += n;
  }
  async finish(): Promise<void> {
    this.bytes = this.buf.subarray(0, this.pos);
    this.blob = new Blob([this.bytes], { type: this.type });
  }
  abort(): void { this.buf = new Uint8Array(0); }
}

/** The part of FileSystemWritableFileStream a sink uses (lib.dom's type, without requiring it). */
export interface WritableFile {
  write(chunk: { type: 'write'; position: number; data: Uint8Array } | { type: 'truncate'; size: number }): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}

/**
 * Streams the image to a file the user chose (File System Access API): data written at its
 * position, holes skipped (the file is truncated to its full size at the end, so they read as zeros).
 */
export class WritableFileSink implements Sink {
  private pos = 0;
  constructor(private readonly file: WritableFile) {}
  get position(): number { return this.pos; }
  async write(data: Uint8Array): Promise<void> {
    // The stream takes the bytes when the write resolves; the writer reuses its buffer after that.
    await this.file.write({ type: 'write', position: this.pos, data });
    this.pos += data.length;
  }
  skip(n: number): void { this.pos += n; }
  async finish(): Promise<void> {
    await this.file.write({ type: 'truncate', size: this.pos });
    await this.file.close();
  }
  abort(): void { void this.file.abort().catch(() => undefined); }
}
