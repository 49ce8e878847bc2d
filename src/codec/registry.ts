import { DiskwrightError } from '../errors.js';
import { BZIP2_MAGIC, bunzip2File } from './bzip2.js';
import { GZIP_MAGIC, gunzipFile } from './gzip.js';
import { SparseOut, type Decompressed, type Progress } from './output.js';
import { XZ_MAGIC, unxzFile } from './xz.js';
import { ZSTD_MAGIC, unzstdFile } from './zstd.js';

/**
 * The whole-file decoders (compressed disk images given to `convert`, compressed tar inputs), one
 * line each: name, magic number, streaming decoder. Each decoder writes as it goes, with bounded
 * memory whatever the ratio (a 5 GiB layer of zeros is a few KiB of input), reads on across
 * concatenated frames/streams/members (as our compressors and the parallel CLIs write them), and
 * loads its package on first use only: importing this table loads no codec package and no addon.
 *
 * @example
 * const codec = sniffCompression(head); // 'zstd' | … | undefined
 * if (codec) await decoders[codec].decompressFile(input, output);
 */
export interface Decoder<N extends string = string> {
  readonly name: N;
  /** The bytes every stream of this codec starts with. */
  readonly magic: readonly number[];
  /**
   * Decompress `input` into `output` (created or truncated), sparse (all-zero 64 KiB blocks are
   * holes, returned). Corrupt or truncated input is E_DECOMPRESS naming the file and the compressed
   * byte offset reached; `output` is then incomplete (the caller removes it).
   */
  decompressFile(input: string, output: string): Promise<Decompressed>;
}

type Decode = (input: string, out: SparseOut, progress: Progress) => Promise<void>;

function decoder<const N extends string>(name: N, magic: readonly number[], decode: Decode): Decoder<N> {
  return {
    name,
    magic,
    async decompressFile(input, output) {
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
    },
  };
}

/** The decoders, by codec name (an explicit table, no side-effect registration). */
export const decoders = {
  zstd: decoder('zstd', ZSTD_MAGIC, unzstdFile),
  xz: decoder('xz', XZ_MAGIC, unxzFile),
  gzip: decoder('gzip', GZIP_MAGIC, gunzipFile),
  bzip2: decoder('bzip2', BZIP2_MAGIC, bunzip2File),
} as const satisfies Record<string, Decoder>;

export type StreamCodec = keyof typeof decoders;

/** Decompress with the named codec (decoders[codec].decompressFile). */
export function decompressFile(codec: StreamCodec, input: string, output: string): Promise<Decompressed> {
  return decoders[codec].decompressFile(input, output);
}
