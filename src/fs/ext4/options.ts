/**
 * The `ext4:` option block of a partition: declared once here (types, limits, defaults and the
 * JSON Schema's descriptions), checked and resolved by `resolveExt4Options`.
 *
 * @example
 * resolveExt4Options({ blockSize: 1024, journalSize: '8MiB' }, 'partitions[1].ext4'); // journalSize: 8388608
 */
import * as v from 'valibot';
import { DiskwrightError, show } from '../../errors.js';
import { isUuid } from '../../util/ids.js';
import { Bool, Closed, Int, Num, OneOf, Size, Text } from '../../util/schema.js';
import { formatSize, parseSize } from '../../util/size.js';
import { validator } from '../../util/validator.js';

export const Ext4Options = Closed({
  blockSize: v.optional(OneOf([1024, 2048, 4096], 'Block size in bytes (mke2fs -b).'), 4096),
  inodeSize: v.optional(OneOf([256], 'Inode size in bytes: the writer stores 256-byte inodes (mke2fs -I 256, its default).'), 256),
  journal: v.optional(Bool('Write a jbd2 journal (has_journal).'), true),
  journalSize: v.optional(Size('Journal size (at least 1024 blocks); default: by filesystem size, as mke2fs.')),
  inodeCount: v.optional(Int(16, 2 ** 32 - 1, 'Number of inodes (mke2fs -N); default: from bytesPerInode.')),
  bytesPerInode: v.optional(Int(1024, 2 ** 26, 'Bytes of filesystem per inode (mke2fs -i).'), 16384),
  reservedPercent: v.optional(Num(0, 50, 'Blocks reserved for root, in percent (mke2fs -m).'), 5),
  hashSeed: v.optional(Text({ text: 'UUID seeding the htree directory hash; default: derived from the seed (role ext4-hash-seed:<name>).' })),
}, 'ext4 options (filesystem: ext4).');

/** What users write in `ext4:`. */
export type Ext4OptionsInput = v.InferInput<typeof Ext4Options>;

/** The resolved block: defaults filled, journalSize in bytes, hashSeed lower-case. */
export interface Ext4ResolvedOptions {
  blockSize: 1024 | 2048 | 4096;
  inodeSize: 256;
  journal: boolean;
  journalSize?: number;
  inodeCount?: number;
  bytesPerInode: number;
  reservedPercent: number;
  hashSeed?: string;
}

const check = validator(Ext4Options);

/** Check an `ext4:` block at `path` and resolve it (see Ext4ResolvedOptions). */
export function resolveExt4Options(value: unknown, path: string): Ext4ResolvedOptions {
  const o = check(value ?? {}, path);
  const out: Ext4ResolvedOptions = { blockSize: o.blockSize, inodeSize: o.inodeSize, journal: o.journal, bytesPerInode: o.bytesPerInode, reservedPercent: o.reservedPercent };
  if (o.journalSize !== undefined) {
    const bytes = parseSize(o.journalSize, `${path}.journalSize`);
    if (Math.ceil(bytes / o.blockSize) < 1024) throw new DiskwrightError('E_EXT4_OPTION', `journalSize ${formatSize(bytes)} is below the 1024-block minimum (${formatSize(1024 * o.blockSize)})`, { path: `${path}.journalSize`, value: o.journalSize });
    out.journalSize = bytes;
  }
  if (o.inodeCount !== undefined) out.inodeCount = o.inodeCount;
  if (o.hashSeed !== undefined) {
    if (!isUuid(o.hashSeed)) throw new DiskwrightError('E_UUID', `${show(o.hashSeed)} is not a UUID (8-4-4-4-12 hex digits)`, { path: `${path}.hashSeed`, value: o.hashSeed });
    out.hashSeed = o.hashSeed.toLowerCase();
  }
  return out;
}
