/**
 * The `squashfs:` option block of a partition: declared once here (types, limits, defaults and the
 * JSON Schema's descriptions), checked and resolved by `resolveSquashfsOptions`. The defaults are
 * mksquashfs's: gzip at level 9, 128 KiB blocks, fragments, duplicate detection and the NFS export
 * table on.
 *
 * @example
 * resolveSquashfsOptions({ compression: 'xz', xzFilter: 'x86', blockSize: '1MiB' }, 'partitions[1].squashfs');
 */
import * as v from 'valibot';
import { DiskwrightError, show } from '../../errors.js';
import { Bool, Closed, Int, OneOf, Size } from '../../util/schema.js';
import { formatSize, parseSize } from '../../util/size.js';
import { validator } from '../../util/validator.js';

/** The compressors squashfs-tools names (`-comp`) that this writer has; lzo has no maintained npm package. */
export const SQUASHFS_COMPRESSORS = ['gzip', 'xz', 'zstd', 'lz4'] as const;
export type SquashfsCompressorName = (typeof SQUASHFS_COMPRESSORS)[number];

/** Levels each compressor takes, and mksquashfs's default (lz4 has none). */
export const SQUASHFS_LEVELS: Readonly<Record<SquashfsCompressorName, { min: number; max: number; default: number } | undefined>> = {
  gzip: { min: 1, max: 9, default: 9 },
  xz: { min: 0, max: 9, default: 6 },
  zstd: { min: 1, max: 22, default: 15 },
  lz4: undefined,
};

export const SquashfsOptions = Closed({
  compression: v.optional(OneOf(SQUASHFS_COMPRESSORS, 'Compressor of data and metadata blocks (mksquashfs -comp). lzo is not available.'), 'gzip'),
  level: v.optional(Int(0, 22, 'Compression level: gzip 1-9 (default 9), zstd 1-22 (default 15), xz preset 0-9 (default 6); lz4 takes none.')),
  xzFilter: v.optional(OneOf(['x86'], 'xz only: also try the x86 BCJ filter on each data block and keep the smaller (mksquashfs -Xbcj x86).')),
  lz4hc: v.optional(Bool('lz4 only: high-compression mode (mksquashfs -Xhc).'), false),
  blockSize: v.optional(Size('Data block size: a power of two from 4 KiB to 1 MiB (mksquashfs -b).'), '128KiB'),
  fragments: v.optional(Bool('Pack files smaller than a block into shared fragment blocks (false: mksquashfs -no-fragments).'), true),
  dedup: v.optional(Bool('Store files with the same content once (false: mksquashfs -no-duplicates).'), true),
  exports: v.optional(Bool('Write the NFS export table (false: mksquashfs -no-exports).'), true),
}, 'squashfs options (filesystem: squashfs).');

/** What users write in `squashfs:`. */
export type SquashfsOptionsInput = v.InferInput<typeof SquashfsOptions>;

/** The resolved block: defaults filled, blockSize in bytes, the level the compressor uses. */
export interface SquashfsResolvedOptions {
  compression: SquashfsCompressorName;
  /** The level given or the compressor's default; 0 for lz4. */
  level: number;
  /** Whether the level was given (a non-default one is recorded in the compressor options). */
  levelGiven: boolean;
  xzFilter?: 'x86';
  lz4hc: boolean;
  blockSize: number;
  fragments: boolean;
  dedup: boolean;
  exports: boolean;
}

const check = validator(SquashfsOptions);

/** Check a `squashfs:` block at `path` and resolve it (see SquashfsResolvedOptions). */
export function resolveSquashfsOptions(value: unknown, path: string): SquashfsResolvedOptions {
  const o = check(value ?? {}, path);
  const blockSize = parseSize(o.blockSize, `${path}.blockSize`);
  if (blockSize < 4096 || blockSize > 1 << 20 || (blockSize & (blockSize - 1)) !== 0) {
    throw new DiskwrightError('E_SQUASHFS_BLOCK_SIZE', `block size ${show(o.blockSize)} (${formatSize(blockSize)}) is not a power of two from 4 KiB to 1 MiB`, { path: `${path}.blockSize`, value: o.blockSize });
  }
  const levels = SQUASHFS_LEVELS[o.compression];
  if (o.level !== undefined) {
    if (!levels) throw new DiskwrightError('E_SQUASHFS_OPTION', `${o.compression} takes no level (mksquashfs has none for it): remove level`, { path: `${path}.level`, value: o.level });
    if (o.level < levels.min || o.level > levels.max) throw new DiskwrightError('E_RANGE', `${o.compression} level ${o.level} is out of range (${levels.min} to ${levels.max})`, { path: `${path}.level`, value: o.level });
  }
  if (o.xzFilter !== undefined && o.compression !== 'xz') {
    throw new DiskwrightError('E_SQUASHFS_OPTION', `xzFilter applies to compression: xz only (compression is ${o.compression})`, { path: `${path}.xzFilter`, value: o.xzFilter });
  }
  if (o.lz4hc && o.compression !== 'lz4') {
    throw new DiskwrightError('E_SQUASHFS_OPTION', `lz4hc applies to compression: lz4 only (compression is ${o.compression})`, { path: `${path}.lz4hc`, value: o.lz4hc });
  }
  const out: SquashfsResolvedOptions = {
    compression: o.compression, level: o.level ?? levels?.default ?? 0, levelGiven: o.level !== undefined, lz4hc: o.lz4hc,
    blockSize, fragments: o.fragments, dedup: o.dedup, exports: o.exports,
  };
  if (o.xzFilter !== undefined) out.xzFilter = o.xzFilter;
  return out;
}
