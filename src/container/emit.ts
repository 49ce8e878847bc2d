import { basename } from 'node:path';
import { DiskwrightError } from '../errors.js';
import type { Volume } from '../extent/extent.js';
import { checkRawLength } from './emit-to.js';
import { compressionFormat, containerWriter } from './registry.js';
import { HashingSink, PacedSink, StreamSink, openOutput, type Sink } from './sink.js';
import type { ContainerOptions } from './types.js';

export interface EmitOptions extends ContainerOptions {
  format: string;
  compression: string;
  compressionLevel?: number | undefined;
  /** Compute the output's sha256 (default true). Hashing reads holes as zeros, so it costs time on big sparse disks. */
  hash?: boolean;
}

export interface EmitResult {
  /** sha256 of the output file bytes (holes hashed as zeros); undefined when hashing was off. */
  sha256: string | undefined;
  /** Bytes of output (the container file, after compression). */
  bytes: number;
}

/**
 * Write `disk` to `out` (a path, or '-' for stdout) in the given container format and compression.
 * A regular output appears only when complete: it is written to a temporary file and renamed; a
 * block device is written in place, a FIFO or character device gets the stream (sink.ts
 * openOutput). Any write error fails with one line naming the path and leaves nothing.
 */
export async function emit(disk: Volume, out: string, options: EmitOptions): Promise<EmitResult> {
  // The output's base name (without a compression suffix) is what a VMDK descriptor names as its extent.
  const opts: EmitOptions = options.name !== undefined || out === '-' ? options : { ...options, name: basename(out).replace(/\.(zst|xz|gz|bz2)$/, '') };
  const writer = containerWriter(opts.format);
  if (!writer) throw new DiskwrightError('E_FORMAT', `format ${opts.format} is not available`, { path: 'format', value: opts.format });
  if (opts.compression !== 'none' && !compressionFormat(opts.compression)) throw new DiskwrightError('E_COMPRESSION', `compression ${opts.compression} is not available`, { path: 'compression', value: opts.compression });
  compressionFormat(opts.compression)?.checkLevel(opts.compressionLevel);
  // The compressors (worker threads) load only when the output is compressed.
  const { checkFrameStats, compressor } = opts.compression === 'none' ? { checkFrameStats: undefined, compressor: undefined } : await import('./compress.js');
  const comp = compressor?.(opts.compression);

  // Where the bytes go: stdout, or by what the path is (openOutput: a regular file through a
  // temporary renamed when complete, a block device in place, a FIFO or character device as a stream).
  const signal = opts.signal;
  const base: Sink = out === '-' ? new StreamSink(process.stdout, false, 'standard output', signal) : (await openOutput(out, signal)).sink;
  // The sha256 is of the output's bytes (the compressed file, when compressed).
  const hashing = opts.hash === false ? undefined : new HashingSink(base, signal);
  const output = hashing ?? base;
  const compressing = comp?.createSink(output, opts.compressionLevel, signal);
  const top = compressing ?? output;
  try {
    // Every write and skip of the writer paces: signals are handled and `signal` stops it.
    await writer.write(disk, new PacedSink(top, signal), opts);
    if (compressing) {
      // Before anything is renamed into place: every frame written once, holding every byte.
      checkFrameStats!(await compressing.end(), compressing.position, out === '-' ? 'standard output' : out);
    }
    checkRawLength(opts.format, top.position, disk, out);
    await output.finish();
  } catch (e) {
    top.abort();
    throw e;
  }
  return { sha256: hashing?.hash.digest('hex'), bytes: output.position };
}
