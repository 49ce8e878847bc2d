import { Writable } from 'node:stream';
import { basename } from 'node:path';
import { DiskwrightError } from '../errors.js';
import type { Volume } from '../extent/extent.js';
import { compressor } from './compress.js';
// Registers the zstd/xz decompressors for compressed tar inputs (src/tree/tarinput.ts).
import './decompress.js';
import { containerWriter } from './registry.js';
import { FileSink, HashingSink, StreamSink, type Sink } from './sink.js';
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
 * The output appears only when complete: it is written to a temporary file and renamed.
 */
export async function emit(disk: Volume, out: string, options: EmitOptions): Promise<EmitResult> {
  // The output's base name (without a compression suffix) is what a VMDK descriptor names as its extent.
  const opts: EmitOptions = options.name !== undefined || out === '-' ? options : { ...options, name: basename(out).replace(/\.(zst|xz|gz|bz2)$/, '') };
  const writer = containerWriter(opts.format);
  if (!writer) throw new DiskwrightError('E_FORMAT', `format ${opts.format} is not available`, { path: 'format', value: opts.format });
  const comp = opts.compression === 'none' ? undefined : compressor(opts.compression);
  if (opts.compression !== 'none' && !comp) throw new DiskwrightError('E_COMPRESSION', `compression ${opts.compression} is not available`, { path: 'compression', value: opts.compression });
  comp?.checkLevel(opts.compressionLevel);

  if (out === '-') {
    const base: Sink = comp
      ? new StreamSink(comp.create(process.stdout, opts.compressionLevel), true)
      : new StreamSink(process.stdout, false);
    const sink = new HashingSink(base);
    await writer.write(disk, sink, opts);
    await sink.finish();
    return { sha256: sink.hash.digest('hex'), bytes: sink.position };
  }

  if (!comp) {
    const file = new FileSink(out);
    const sink = opts.hash === false ? file : new HashingSink(file);
    try {
      await writer.write(disk, sink, opts);
      await sink.finish();
    } catch (e) {
      sink.abort();
      throw e;
    }
    return { sha256: sink instanceof HashingSink ? sink.hash.digest('hex') : undefined, bytes: sink.position };
  }

  // Compressed: container -> compressor -> the same temp-file sink as uncompressed output (renamed
  // when complete, removed on failure or SIGINT); the hash is of the compressed file. The file
  // sink writes synchronously: no stream pipe whose end could stall.
  const file = new HashingSink(new FileSink(out));
  const target = new Writable({
    write(chunk: Buffer, _enc, cb) {
      try {
        void file.write(chunk);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
  const sink = new StreamSink(comp.create(target, opts.compressionLevel), true);
  try {
    await writer.write(disk, sink, opts);
    await sink.finish();
    await file.finish();
  } catch (e) {
    sink.abort();
    file.abort();
    throw e;
  }
  return { sha256: file.hash.digest('hex'), bytes: file.position };
}
