/**
 * FAT12/16/32 writer with VFAT long names (issue 5): `filesystem: vfat` partitions (the ESP above
 * all), bare FAT images and `diskwright fat DIR`.
 *
 * @example
 * import { fatHandler } from './fs/fat/index.js';
 * const { volume, info } = fatHandler.plan(tree, ctx); // info.uuid is the volume id, "1A2B-3C4D"
 */
import type { FilesystemHandler } from '../types.js';
import { formatVolumeId, planFat } from './plan.js';

export { planFat, formatVolumeId } from './plan.js';
export { chooseGeometry, type FatGeometry } from './geometry.js';

export const fatHandler: FilesystemHandler = {
  type: 'vfat',
  plan(tree, ctx) {
    const { volume, fat } = planFat(tree, ctx);
    const g = fat.geometry;
    const info = {
      type: 'vfat',
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
};
