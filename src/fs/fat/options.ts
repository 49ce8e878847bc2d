/**
 * The `fat:` option block of a vfat partition: declared once here (types, limits, defaults and the
 * JSON Schema's descriptions), checked and resolved by `resolveFatOptions`. What depends on the
 * sector size the disk gives (cluster sizes) is checked by the planner.
 *
 * @example
 * resolveFatOptions({ fatSize: 32, clusterSize: '4KiB' }, 'partitions[0].fat'); // clusterSize: 4096
 */
import * as v from 'valibot';
import { DiskwrightError, show } from '../../errors.js';
import { Closed, coded, Int, OneOf, Size } from '../../util/schema.js';
import { parseSize } from '../../util/size.js';
import { validator } from '../../util/validator.js';

const volumeIdMessage = coded('E_FAT_VOLUME_ID', (x) => `bad FAT volume id ${show(x)}: write it as XXXX-XXXX (8 hex digits)`);

export const FatOptions = Closed({
  fatSize: v.optional(OneOf([12, 16, 32], 'FAT type; default: by size, as mkfs.fat (FAT32 from 512 MiB).')),
  clusterSize: v.optional(Size('Cluster size: a power of two from the sector size to 64 KiB; default: as mkfs.fat.')),
  sectorSize: v.optional(OneOf([512, 1024, 2048, 4096], 'Logical sector size; default: the disk\'s sectorSize.')),
  reservedSectors: v.optional(Int(1, 65535, 'Reserved sectors before the first FAT (FAT32: at least 8); default: as mkfs.fat.')),
  volumeId: v.optional(v.pipe(
    v.union([v.string(volumeIdMessage), v.pipe(v.number(volumeIdMessage), v.integer(volumeIdMessage), v.minValue(0, volumeIdMessage), v.maxValue(0xffffffff, volumeIdMessage))], volumeIdMessage),
    v.description('Volume id, XXXX-XXXX (fsUuid wins); default: derived from the seed (role fat-volume-id:<name>).'),
  )),
}, 'FAT options (filesystem: vfat).');

/** What users write in `fat:`. */
export type FatOptionsInput = v.InferInput<typeof FatOptions>;

/** The resolved block: clusterSize in bytes. */
export interface FatResolvedOptions {
  fatSize?: 12 | 16 | 32;
  clusterSize?: number;
  sectorSize?: 512 | 1024 | 2048 | 4096;
  reservedSectors?: number;
  volumeId?: string | number;
}

const check = validator(FatOptions);

/** Check a `fat:` block at `path` and resolve it (see FatResolvedOptions). */
export function resolveFatOptions(value: unknown, path: string): FatResolvedOptions {
  const o = check(value ?? {}, path);
  const out: FatResolvedOptions = {};
  if (o.fatSize !== undefined) out.fatSize = o.fatSize;
  if (o.clusterSize !== undefined) out.clusterSize = parseSize(o.clusterSize, `${path}.clusterSize`);
  if (o.sectorSize !== undefined) out.sectorSize = o.sectorSize;
  if (o.reservedSectors !== undefined) out.reservedSectors = o.reservedSectors;
  if (o.volumeId !== undefined) out.volumeId = o.volumeId;
  if (o.reservedSectors !== undefined && o.fatSize === 32 && o.reservedSectors < 8) {
    throw new DiskwrightError('E_FAT_RESERVED', `FAT32 needs at least 8 reserved sectors (boot sector, FSInfo, backups at 6 and 7), got ${o.reservedSectors}`, { path: `${path}.reservedSectors`, value: o.reservedSectors });
  }
  return out;
}
