/**
 * The squashfs compressors: for each `compression:` name, the superblock's compression id, the
 * codec of src/codec/registry.ts that compresses data blocks (on the workers) and metadata blocks
 * (here), its settings, and the compressor options block mksquashfs writes after the superblock
 * (flag SQUASHFS_COMP_OPT): only for non-default settings, except lz4, whose options the kernel
 * requires (squashfs-tools *_wrapper.c `*_dump_options`; the kernel's `*_comp_opts`).
 *
 * @example
 * const c = squashfsCompressor(resolveSquashfsOptions({ compression: 'zstd' }, 'squashfs'));
 * c.id; // 6 (ZSTD_COMPRESSION); c.options undefined: level 15 is zstd's default
 */
import type { CodecName } from '../../codec/registry.js';
import type { CodecParams } from '../../codec/types.js';
import { Compression, GzipCompOpts, Lz4CompOpts, METADATA_SIZE, XzCompOpts, ZstdCompOpts } from './format.js';
import { SQUASHFS_LEVELS, type SquashfsResolvedOptions } from './options.js';

export interface SquashfsCompressor {
  /** The superblock's `compression`. */
  id: number;
  /** Codec of the codec table (data on the workers, metadata on the main thread). */
  codec: CodecName;
  level: number;
  /** Settings of data and fragment blocks. */
  dataParams?: CodecParams;
  /** Settings of metadata blocks. */
  metaParams?: CodecParams;
  /** The compressor options block's bytes (without its 2-byte header), when written. */
  options?: Uint8Array;
}

function encoded(fill: (buf: Uint8Array) => void, size: number): Uint8Array {
  const buf = new Uint8Array(size);
  fill(buf);
  return buf;
}

/** The compressor a resolved `squashfs:` block asks for. */
export function squashfsCompressor(o: SquashfsResolvedOptions): SquashfsCompressor {
  const nonDefaultLevel = o.levelGiven && o.level !== SQUASHFS_LEVELS[o.compression]?.default;
  switch (o.compression) {
    case 'gzip': {
      // gzip_wrapper.c: compress2-style zlib streams, window 15, default strategy; the options
      // (struct gzip_comp_opts) only when the level is not 9. Our streams come from libdeflate
      // (smaller and faster than zlib's at the same level: src/codec/deflate.ts).
      const c: SquashfsCompressor = { id: Compression.ZLIB, codec: 'zlib-libdeflate', level: o.level };
      if (nonDefaultLevel) c.options = encoded((b) => GzipCompOpts.encode({ compression_level: o.level, window_size: 15, strategy: 0 }, b), GzipCompOpts.size);
      return c;
    }
    case 'xz': {
      // xz_wrapper.c: data blocks with a dictionary of the block size (and each selected BCJ
      // filter tried), metadata blocks with one of SQUASHFS_METADATA_SIZE; the options only when a
      // filter is selected (flags bit 0: x86) or the dictionary is not the block size.
      const x86 = o.xzFilter === 'x86';
      const c: SquashfsCompressor = {
        id: Compression.XZ, codec: 'xz-block', level: o.level,
        dataParams: { dictSize: o.blockSize, x86 }, metaParams: { dictSize: METADATA_SIZE },
      };
      if (x86) c.options = encoded((b) => XzCompOpts.encode({ dictionary_size: o.blockSize, flags: 1 }, b), XzCompOpts.size);
      return c;
    }
    case 'zstd': {
      // zstd_wrapper.c: ZSTD_compressCCtx at the level; the options only when it is not 15.
      const c: SquashfsCompressor = { id: Compression.ZSTD, codec: 'zstd', level: o.level };
      if (nonDefaultLevel) c.options = encoded((b) => ZstdCompOpts.encode({ compression_level: o.level }, b), ZstdCompOpts.size);
      return c;
    }
    case 'lz4':
      // lz4_wrapper.c: always written (the kernel's lz4_comp_opts refuses a filesystem without
      // them): version LZ4_LEGACY, flags LZ4_HC when -Xhc. Our HC encoder: src/codec/lz4hc.ts.
      return {
        id: Compression.LZ4, codec: o.lz4hc ? 'lz4hc-block' : 'lz4-block', level: o.lz4hc ? 9 : 0,
        options: encoded((b) => Lz4CompOpts.encode({ version: 1, flags: o.lz4hc ? 1 : 0 }, b), Lz4CompOpts.size),
      };
  }
}
