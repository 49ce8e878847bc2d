import { bzip2 } from './bzip2.js';
import { deflateQcow2, zlib, zlibLibdeflate } from './deflate.js';
import { gzip } from './gzip.js';
import type { Decompressed } from './output.js';
import { lz4Block } from './lz4.js';
import { lz4hcBlockCodec } from './lz4hc.js';
import type { FileCodec, FrameCodec } from './types.js';
import { xz } from './xz.js';
import { xzBlock } from './xzblock.js';
import { zstd } from './zstd.js';

/**
 * The codecs, one line each (an explicit table, no side-effect registration). Each module declares
 * both sides: name, levels and default level, `compressFrame` (run on the workers); the whole-file
 * codecs also their suffix, magic number, frame size, frame check and streaming `decompressFile`.
 * Every codec loads its package on first use only: importing this table loads no codec package and
 * no addon. The order of the whole-file codecs is the order of the compressor list (spec enum, --help).
 *
 * Adding a compression: a module in src/codec/ exporting a `FileCodec`, plus one line here.
 */
export const codecs = {
  zstd,
  xz,
  gzip,
  bzip2,
  zlib,
  'zlib-libdeflate': zlibLibdeflate,
  'deflate-qcow2': deflateQcow2,
  'xz-block': xzBlock,
  'lz4-block': lz4Block,
  'lz4hc-block': lz4hcBlockCodec,
} as const satisfies Record<string, FrameCodec>;

/** Every codec's name (what a compression job names). */
export type CodecName = keyof typeof codecs;

/** The whole-file codecs' names: those with a suffix, magic number and streaming decoder. */
export type StreamCodec = { [K in CodecName]: (typeof codecs)[K] extends FileCodec ? K : never }[CodecName];

const isFileCodec = (c: FrameCodec): c is FileCodec => 'decompressFile' in c;

/** The whole-file codecs, in table order. */
export const fileCodecs = Object.values(codecs).filter(isFileCodec) as unknown as readonly { [K in StreamCodec]: (typeof codecs)[K] }[StreamCodec][];

/**
 * The whole-file decoders (compressed disk images given to `convert`, compressed tar inputs), by
 * codec name. Each decoder writes as it goes, with bounded memory whatever the ratio (a 5 GiB layer
 * of zeros is a few KiB of input), and reads on across concatenated frames/streams/members (as our
 * compressors and the parallel CLIs write them).
 *
 * @example
 * const codec = sniffCompression(head); // 'zstd' | … | undefined
 * if (codec) await decoders[codec].decompressFile(input, output);
 */
export const decoders = Object.fromEntries(fileCodecs.map((c) => [c.name, c])) as { readonly [K in StreamCodec]: (typeof codecs)[K] };

/** What the decoder side needs of a whole-file codec. */
export type Decoder<N extends string = string> = Pick<FileCodec<N>, 'name' | 'magic' | 'decompressFile'>;

/** Decompress with the named codec (decoders[codec].decompressFile). */
export function decompressFile(codec: StreamCodec, input: string, output: string): Promise<Decompressed> {
  return decoders[codec].decompressFile(input, output);
}
