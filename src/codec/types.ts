import { DiskwrightError } from '../errors.js';
import { SparseOut, type Decompressed, type Progress } from './output.js';

/**
 * A codec as the compression side sees it: a pure buffer-to-buffer function run on a worker
 * (container/worker.ts through container/codecs.ts), one job at a time per worker. The result is
 * always a buffer of its own (codec outputs may be views into WASM or pooled memory that the next
 * call reuses or detaches).
 */
export interface FrameCodec<N extends string = string> {
  readonly name: N;
  /** Levels the codec accepts, and the one used when none is given (its command-line default). */
  readonly levels: readonly [number, number];
  readonly defaultLevel: number;
  /**
   * 'process': the codec runs native code that must not run on a worker thread of a process where
   * other threads compress (a process-wide context, or a call that cannot be interrupted): a
   * compression pool not told otherwise runs its jobs in child processes (container/pool.ts).
   */
  readonly isolation?: 'process';
  /**
   * Compress one frame (a whole-file frame, or one qcow2 cluster / VMDK grain / squashfs block).
   * `params` are the codec's settings beyond the level (squashfs xz: dictionary size, BCJ filter).
   */
  compressFrame(data: Uint8Array, level: number, params?: CodecParams): Promise<Uint8Array>;
}

/** Codec settings beyond the level, as a job carries them to a worker (structured-cloneable). */
export type CodecParams = Readonly<Record<string, number | boolean | string>>;

/**
 * A whole-file codec: both sides. Its output is a sequence of independently compressed frames
 * (zstd frames, xz streams, gzip members, bzip2 streams) that the reference tools decode as one stream.
 */
export interface FileCodec<N extends string = string> extends FrameCodec<N> {
  /** Usual file suffix: '.zst', '.xz', '.gz', '.bz2'. */
  readonly suffix: string;
  /** The bytes every stream of this codec starts with (sniffing). */
  readonly magic: readonly number[];
  /** Frame size of the compressor: large enough for a good ratio, small enough to keep both cores fed. */
  readonly frameSize: number;
  /**
   * A cheap sanity check of one compressed frame against the length of its input: the magic number,
   * and the uncompressed size where the frame records it. Returns what is wrong, or undefined.
   */
  checkFrame(frame: Uint8Array, inputLength: number): string | undefined;
  /**
   * Decompress `input` into `output` (created or truncated), sparse (all-zero 64 KiB blocks are
   * holes, returned). Corrupt or truncated input is E_DECOMPRESS naming the file and the compressed
   * byte offset reached; `output` is then incomplete (the caller removes it).
   */
  decompressFile(input: string, output: string): Promise<Decompressed>;
}

/** A streaming decoder writing into the sparse output, counting the compressed bytes it consumed. */
export type Decode = (input: string, out: SparseOut, progress: Progress) => Promise<void>;

/** `decompressFile` over a streaming decoder: the sparse output, and E_DECOMPRESS naming file and offset. */
export function decompressor(name: string, decode: Decode): (input: string, output: string) => Promise<Decompressed> {
  return async (input, output) => {
    const progress = { read: 0 };
    let out: SparseOut | undefined;
    try {
      out = new SparseOut(output);
      await decode(input, out, progress);
      return out.finish();
    } catch (e) {
      if (e instanceof DiskwrightError) throw e;
      const err = e as NodeJS.ErrnoException;
      // Host I/O errors (ENOSPC, EACCES, EIO) are not the data's fault: say which.
      if (err && typeof err.code === 'string' && err.syscall) {
        throw new DiskwrightError('E_DECOMPRESS', `cannot decompress ${input} into ${output}: ${err.code} (${err.syscall})`, { value: input, cause: e });
      }
      throw new DiskwrightError('E_DECOMPRESS', `${name} data of ${input} is corrupt or truncated (at compressed byte ${progress.read}): ${err?.message ?? String(e)}`, { value: input, cause: e });
    } finally {
      out?.close();
    }
  };
}

/**
 * A buffer of its own: codec outputs may be views into WASM or pooled memory that the next call
 * reuses (or detaches, when a WASM heap grows). Copied synchronously, before anything else runs.
 */
export function own(data: Uint8Array): Uint8Array {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer ? data : data.slice();
}
