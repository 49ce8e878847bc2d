/**
 * Emission to any Sink (docs/ARCHITECTURE.md §2.1, step 5), without a host file system: the
 * browser build writes to Blob parts or a FileSystemWritableFileStream (src/web/sinks.ts). `emit`
 * (emit.ts) is the host's: it opens a path, compresses and renames; both share the checks here.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { DiskwrightError } from '../errors.js';
import type { Volume } from '../extent/extent.js';
import { PacedSink, type Sink } from './sink.js';
import type { ContainerOptions, ContainerWriter } from './types.js';

/**
 * A raw output holds exactly the disk's bytes: anything else is a writer's bug, caught before the
 * output is finished (renamed into place, or offered for download).
 */
export function checkRawLength(format: string, written: number, disk: Volume, out: string): void {
  if (format === 'raw' && written !== disk.size) {
    throw new DiskwrightError('E_OUTPUT_INTEGRITY', `${out}: the writer produced ${written} bytes for a ${disk.size}-byte disk; nothing was written`, { value: out });
  }
}

const ZEROS = new Uint8Array(1 << 20);

/** Passes everything to `inner` and computes the sha256 of it with a pure-JS hash (holes hashed as zeros). */
export class DigestSink implements Sink {
  private readonly hash = sha256.create();
  constructor(private readonly inner: Sink) {}
  get position(): number { return this.inner.position; }
  write(data: Uint8Array): void | Promise<void> {
    this.hash.update(data);
    return this.inner.write(data);
  }
  skip(n: number): void | Promise<void> {
    for (let left = n; left > 0; left -= ZEROS.length) this.hash.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
    return this.inner.skip(n);
  }
  finish(): Promise<void> { return this.inner.finish(); }
  abort(): void { this.inner.abort(); }
  /** Lower-case hex, once the output is finished. */
  hex(): string {
    return Array.from(this.hash.digest(), (b) => b.toString(16).padStart(2, '0')).join('');
  }
}

export interface EmitToOptions extends ContainerOptions {
  format: string;
  /** Compute the output's sha256 (default true). */
  hash?: boolean;
}

/**
 * Write `disk` through `writer` to `sink` (uncompressed), finish it and return its sha256 and size.
 * On any error the sink is aborted.
 *
 * @example
 * const { sha256, bytes } = await emitTo(disk, rawWriter, new BlobSink(), { format: 'raw', seed, epoch: undefined });
 */
export async function emitTo(disk: Volume, writer: ContainerWriter, sink: Sink, opts: EmitToOptions): Promise<{ sha256: string | undefined; bytes: number }> {
  const digest = opts.hash === false ? undefined : new DigestSink(sink);
  const top = digest ?? sink;
  try {
    await writer.write(disk, new PacedSink(top, opts.signal), opts);
    checkRawLength(opts.format, top.position, disk, opts.name ?? 'output');
    await top.finish();
  } catch (e) {
    top.abort();
    throw e;
  }
  return { sha256: digest?.hex(), bytes: top.position };
}
