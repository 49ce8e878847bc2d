/**
 * FAT12/16/32 writer with VFAT long names (issue 5): `filesystem: vfat` partitions (the ESP above
 * all), bare FAT images and `diskwright fat DIR`.
 *
 * @example
 * import { fatHandler } from './fs/fat/index.js';
 * const { volume, info } = fatHandler.plan(tree, ctx); // info.uuid is the volume id, "1A2B-3C4D"
 */
import { defineFilesystem } from '../types.js';
import { FatOptions, resolveFatOptions } from './options.js';
import { formatVolumeId, parseLabel, parseVolumeId, planFat } from './plan.js';

export { planFat, formatVolumeId } from './plan.js';
export { chooseGeometry, type FatGeometry } from './geometry.js';
export { FatOptions, resolveFatOptions, type FatResolvedOptions, type FatOptionsInput } from './options.js';

const NAME = 'vfat';

/** FAT12/16/32 (`filesystem: vfat`, or `fat`): its names, its `fat:` option block and its planner. */
export const fatHandler = defineFilesystem({
  name: NAME,
  aliases: ['fat'],
  optionsKey: 'fat',
  options: FatOptions,
  partitionType: 'esp',
  // FAT stores no xattrs, and records its offset on the disk (BPB_HiddSec).
  xattrs: false,
  recordsOffset: true,
  resolveOptions: resolveFatOptions,
  plan(tree, ctx) {
    const { volume, fat } = planFat(tree, ctx);
    const g = fat.geometry;
    const info = {
      type: NAME,
      size: volume.size,
      uuid: formatVolumeId(fat.volumeId),
      ...(fat.label !== undefined ? { label: fat.label } : {}),
      details: {
        fatType: g.fatType,
        sectorSize: g.bytesPerSector,
        clusterSize: g.clusterSize,
        clusters: g.clusters,
        usedClusters: fat.usedClusters,
        reservedSectors: g.reservedSectors,
        fatSectors: g.fatSectors,
      },
    };
    return { volume, info };
  },
  // The planner's own functions: the label as stored (upper case), the volume id as blkid shows it.
  ids(ctx) {
    const label = parseLabel(ctx)?.text;
    return { uuid: formatVolumeId(parseVolumeId(ctx)), ...(label !== undefined ? { label } : {}) };
  },
});
