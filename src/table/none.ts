import { DiskwrightError, show } from '../errors.js';
import type { ResolvedSpec } from '../spec/types.js';
import { alignUp } from '../util/size.js';
import type { DiskLayout } from './layout.js';
import type { TableScheme } from './schemes.js';
import { PARTITION_FLAGS } from './types.js';

/**
 * No table: the one partition's filesystem is the whole image (a bare filesystem image). It
 * reserves nothing; the disk is the filesystem's size (or `size`), rounded by the container.
 */
export const noneScheme: TableScheme = {
  name: 'none',
  description: 'no partition table: the filesystem is the whole image',
  minPartitions: 1,
  maxPartitions: () => 1,
  nameLength: undefined,
  types: { guid: 'unused', mbrByte: 'unused' },
  flags: PARTITION_FLAGS,
  mbrSlots: 0,
  bootCodeBytes: 0,
  defaultAlignment: 1 << 20,
  area: () => ({
    firstUsableLba: 0,
    trailingSectors: 0,
    reserved: () => [],
    outsideUsable: (q) => new DiskwrightError('E_PAST_END', `partition ${q.part.name} lies outside the image`, { path: q.part.path, value: q.offset }),
  }),
  mbrPartitions: () => [],
  place: placeWholeDisk,
  write: () => [],
  countError: (count) => new DiskwrightError('E_TABLE_NONE', `table: none takes exactly one partition (its filesystem is the whole image), got ${count}`, { path: 'partitions', value: count }),
  flagError: (flag, path) => new DiskwrightError('E_FLAG_TABLE', `flag ${show(flag)} has no table to be stored in (table: none)`, { path, value: flag }),
};

/** The one partition at offset 0; the disk is its size, which a given disk size must equal. */
function placeWholeDisk(spec: ResolvedSpec, autoSizes: ReadonlyMap<number, number>, virtualSize: (size: number) => number): DiskLayout {
  const p = spec.partitions[0]!;
  const need = typeof p.size === 'number' ? p.size : autoSizes.get(p.index)!;
  let size = typeof spec.size === 'number' ? spec.size : alignUp(need, spec.sectorSize);
  if (typeof p.size === 'number' && typeof spec.size === 'number' && p.size !== spec.size) {
    throw new DiskwrightError('E_SIZE_CONFLICT', `table: none makes the filesystem the whole image, but the partition size ${p.size} differs from the disk size ${spec.size}; give one of them`, { path: `${p.path}.size`, value: p.size });
  }
  if (typeof p.size === 'number') size = p.size;
  if (size < need) throw new DiskwrightError('E_TOO_SMALL', `the disk needs ${need} bytes but size is ${size} bytes`, { path: 'size', value: spec.size });
  // The filesystem keeps its size; a container that rounds the disk adds zeros after it.
  return { size: virtualSize(size), placements: [{ part: p, offset: 0, size }] };
}
