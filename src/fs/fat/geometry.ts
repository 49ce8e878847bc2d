/**
 * FAT geometry: FAT type, cluster size, reserved sectors, FAT length and cluster count for a
 * volume size, chosen the way mkfs.fat (dosfstools 4.2) chooses them, and the inverse: the smallest
 * volume that holds a given number of clusters (sizing `auto`).
 *
 * The FAT type is defined by the cluster count alone (fatgen103 §3.5): FAT12 below 4085 clusters,
 * FAT16 below 65525, FAT32 from 65525 on.
 */
import type { FatType } from './bootsector.js';

export const FAT12_MAX_CLUSTERS = 4084;
export const FAT16_MAX_CLUSTERS = 65524;
/** fatgen103 §3.5; cluster numbers 0x0FFFFFF7 and up are reserved, so 0x0FFFFFF5 - 1 data clusters. */
export const FAT32_MAX_CLUSTERS = 0x0ffffff4;
const MIB = 1024 * 1024;

export interface FatGeometry {
  fatType: FatType;
  bytesPerSector: number;
  sectorsPerCluster: number;
  clusterSize: number;
  reservedSectors: number;
  numFats: number;
  /** FAT12/16: BPB_RootEntCnt; FAT32: 0 (the root directory is a cluster chain). */
  rootEntries: number;
  rootDirSectors: number;
  fatSectors: number;
  totalSectors: number;
  firstDataSector: number;
  /** Data clusters, numbered 2 .. clusters + 1. */
  clusters: number;
}

export interface GeometryRequest {
  totalSectors: number;
  bytesPerSector: number;
  /** Forced FAT type, else chosen by size as mkfs.fat does. */
  fatType?: FatType | undefined;
  /** Forced cluster size in bytes. */
  clusterSize?: number | undefined;
  /** Forced reserved sector count (else 1 for FAT12/16, 32 for FAT32, padded to align the data area). */
  reservedSectors?: number | undefined;
  /** Root directory entries needed (FAT12/16): BPB_RootEntCnt is at least 512 and at least this. */
  rootEntriesNeeded: number;
}

/** Minimum and maximum cluster counts of a FAT type. */
export function clusterRange(t: FatType): [number, number] {
  return t === 12 ? [1, FAT12_MAX_CLUSTERS] : t === 16 ? [FAT12_MAX_CLUSTERS + 1, FAT16_MAX_CLUSTERS] : [FAT16_MAX_CLUSTERS + 1, FAT32_MAX_CLUSTERS];
}

/** mkfs.fat's default cluster size for FAT12/16 by volume size (observed on dosfstools 4.2). */
function defaultClusterSize16(bytes: number): number {
  if (bytes <= 128 * MIB) return 2048;
  if (bytes <= 256 * MIB) return 4096;
  return 8192;
}

/** Microsoft's FAT32 table (fatgen103 §3.5, also used by mkfs.fat). */
function defaultClusterSize32(bytes: number): number {
  if (bytes <= 260 * MIB) return 512;
  if (bytes <= 8192 * MIB) return 4096;
  if (bytes <= 16384 * MIB) return 8192;
  if (bytes <= 32768 * MIB) return 16384;
  return 32768;
}

/**
 * Lay out a volume of a given type and cluster size. The result may have a cluster count outside
 * the type's range; callers check with `clusterRange`.
 */
export function layout(req: GeometryRequest, fatType: FatType, clusterSize: number): FatGeometry {
  const ss = req.bytesPerSector;
  const spc = clusterSize / ss;
  const fat32 = fatType === 32;
  const entriesPerSector = ss / 32;
  const rootEntries = fat32 ? 0 : Math.ceil(Math.max(512, req.rootEntriesNeeded) / entriesPerSector) * entriesPerSector;
  const rootDirSectors = (rootEntries * 32) / ss;
  let reserved = req.reservedSectors ?? (fat32 ? 32 : 1);
  const numFats = 2;
  const fatSectorsFor = (clusters: number): number => Math.ceil((((clusters + 2) * fatType) / 8) / ss);
  const solve = (): { fatSectors: number; clusters: number } => {
    const avail = req.totalSectors - reserved - rootDirSectors;
    // Upper bound on the FAT length: as if every sector were a cluster; then shrink to the fixed point.
    let fatSectors = fatSectorsFor(Math.max(0, Math.floor(avail / spc)));
    for (;;) {
      const clusters = Math.max(0, Math.floor((avail - numFats * fatSectors) / spc));
      const f = fatSectorsFor(clusters);
      if (f >= fatSectors) return { fatSectors, clusters };
      // A smaller FAT leaves room for more clusters; stop when it stops shrinking.
      const clusters2 = Math.max(0, Math.floor((avail - numFats * f) / spc));
      if (fatSectorsFor(clusters2) > f) return { fatSectors, clusters };
      fatSectors = f;
    }
  };
  let { fatSectors, clusters } = solve();
  if (req.reservedSectors === undefined) {
    // mkfs.fat aligns the data area to the cluster size by padding the reserved area.
    const meta = reserved + numFats * fatSectors + rootDirSectors;
    const pad = (spc - (meta % spc)) % spc;
    if (pad > 0) {
      reserved += pad;
      clusters = Math.max(0, Math.floor((req.totalSectors - reserved - rootDirSectors - numFats * fatSectors) / spc));
    }
  }
  return {
    fatType, bytesPerSector: ss, sectorsPerCluster: spc, clusterSize, reservedSectors: reserved, numFats,
    rootEntries, rootDirSectors, fatSectors, totalSectors: req.totalSectors,
    firstDataSector: reserved + numFats * fatSectors + rootDirSectors, clusters,
  };
}

/**
 * The geometry mkfs.fat would choose for `req.totalSectors`: FAT32 from 512 MiB on, else FAT12 when
 * the clusters fit 12-bit entries and FAT16 otherwise; cluster size from the size tables above, then
 * doubled (too many clusters) or halved (too few for a forced type) until the count fits the type.
 * With a forced cluster size nothing is adjusted. The result may still be out of range (a volume too
 * small for FAT32, say): check with `clusterRange`.
 */
export function chooseGeometry(req: GeometryRequest): FatGeometry {
  const ss = req.bytesPerSector;
  const bytes = req.totalSectors * ss;
  const type: FatType = req.fatType ?? (bytes >= 512 * MIB ? 32 : 16);
  if (req.clusterSize !== undefined) {
    if (req.fatType !== undefined) return layout(req, req.fatType, req.clusterSize);
    if (type === 32) return layout(req, 32, req.clusterSize);
    const g12 = layout(req, 12, req.clusterSize);
    return g12.clusters <= FAT12_MAX_CLUSTERS ? g12 : layout(req, 16, req.clusterSize);
  }
  let cs = Math.max(ss, type === 32 ? defaultClusterSize32(bytes) : defaultClusterSize16(bytes));
  const maxCs = Math.max(ss, 65536);
  for (;;) {
    let g: FatGeometry;
    if (req.fatType === undefined && type !== 32) {
      const g12 = layout(req, 12, cs);
      g = g12.clusters <= FAT12_MAX_CLUSTERS ? g12 : layout(req, 16, cs);
    } else {
      g = layout(req, type, cs);
    }
    const [lo, hi] = clusterRange(g.fatType);
    if (g.clusters > hi && cs < maxCs) { cs *= 2; continue; }
    if (g.clusters < lo && req.fatType !== undefined && cs > ss) { cs /= 2; continue; }
    return g;
  }
}

/**
 * The smallest volume (in sectors) whose `chooseGeometry` holds the clusters `need(g)` asks for.
 * `need` gets the candidate geometry (its cluster size and type decide how many clusters files and
 * directories take). Returns the geometry, or the last candidate with a reason when none fits.
 */
export function smallestGeometry(
  base: Omit<GeometryRequest, 'totalSectors'>,
  need: (g: FatGeometry) => number,
): { geometry: FatGeometry } | { error: string; geometry: FatGeometry } {
  let sectors = 16;
  let g = chooseGeometry({ ...base, totalSectors: sectors });
  for (let i = 0; i < 10000; i++) {
    g = chooseGeometry({ ...base, totalSectors: sectors });
    const [lo, hi] = clusterRange(g.fatType);
    if (g.clusters > hi) return { error: `needs more than ${hi} clusters of ${g.clusterSize} bytes for FAT${g.fatType}`, geometry: g };
    const deficit = Math.max(need(g) - g.clusters, lo - g.clusters);
    if (deficit <= 0) return { geometry: g };
    sectors += Math.max(1, deficit * g.sectorsPerCluster);
  }
  return { error: 'no geometry found', geometry: g };
}
