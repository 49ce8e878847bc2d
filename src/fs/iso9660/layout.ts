/**
 * Where everything goes, in logical sectors of 2048 bytes, in this order (as xorriso: metadata
 * first, then file data in tree order):
 *   0-15 system area (ECMA-119 6.2.1), 16 primary volume descriptor, [boot record (El Torito),]
 *   [Joliet supplementary volume descriptor,] terminator, the ECMA-119 path tables (L, M), the
 *   Joliet ones, the ECMA-119 directories and the Joliet ones in path table order, the
 *   Continuation Areas, then the files' data (the boot catalog first), each from a sector start.
 * Directory sizes depend only on names and Rock Ridge entries, never on locations, so they are
 * measured first and located after.
 *
 * @example
 * const lay = layoutIso(h, { rockRidge: true, joliet: false, bootRecord: false, dataOrder });
 * lay.sectors; // the ISO's size in sectors
 */
import type { Hierarchy, Inode, IsoDir, JolietDir } from './hierarchy.js';
import { pathTableSize } from './descriptors.js';
import { sizeIsoDirectory, sizeJolietDirectory } from './records.js';
import { SECTOR, SYSTEM_AREA_SECTORS, writeIdentifier } from './structs.js';
import { CeAllocator, type AreaPlace } from './susp.js';

export interface IsoLayout {
  pvd: number;
  bootRecord?: number;
  svd?: number;
  terminator: number;
  pathL: number;
  pathM: number;
  pathSize: number;
  jPathL: number;
  jPathM: number;
  jPathSize: number;
  ceLba: number;
  ceBlocks: number;
  /** Continuation areas reserved per ECMA-119 directory (by path table index), per record. */
  places: (AreaPlace[] | undefined)[][];
  /** Sectors of the ISO (its volume space size). */
  sectors: number;
}

export const sectorsOf = (bytes: number): number => Math.ceil(bytes / SECTOR);

/** Path table identifiers: the root's is one 0 byte (ECMA-119 9.4.5), Joliet's are UCS-2. */
export function isoPathIds(dirs: readonly IsoDir[]): Uint8Array[] {
  return dirs.map((d) => identifier(d.entry ? d.entry.recorded : '\x00', false));
}

export function jolietPathIds(dirs: readonly JolietDir[]): Uint8Array[] {
  return dirs.map((d) => (d.entry ? identifier(d.entry.name, true) : new Uint8Array([0])));
}

function identifier(id: string, ucs2: boolean): Uint8Array {
  const out = new Uint8Array(ucs2 ? 2 * id.length : id.length);
  writeIdentifier(out, 0, id, ucs2);
  return out;
}

export interface LayoutOptions {
  rockRidge: boolean;
  joliet: boolean;
  bootRecord: boolean;
  /** Inodes with data, in the order their bytes are placed (`data.stored` already set). */
  dataOrder: readonly Inode[];
}

export function layoutIso(h: Hierarchy, o: LayoutOptions): IsoLayout {
  let lba = SYSTEM_AREA_SECTORS;
  const pvd = lba++;
  const bootRecord = o.bootRecord ? lba++ : undefined;
  const svd = o.joliet ? lba++ : undefined;
  const terminator = lba++;

  const pathSize = pathTableSize(isoPathIds(h.isoDirs).map((id) => ({ id })));
  const pathL = lba; lba += sectorsOf(pathSize);
  const pathM = lba; lba += sectorsOf(pathSize);
  const jPathSize = o.joliet ? pathTableSize(jolietPathIds(h.jolietDirs).map((id) => ({ id }))) : 0;
  const jPathL = o.joliet ? lba : 0; lba += sectorsOf(jPathSize);
  const jPathM = o.joliet ? lba : 0; lba += sectorsOf(jPathSize);

  const ce = new CeAllocator();
  const places = h.isoDirs.map((d) => {
    const s = sizeIsoDirectory(d, o.rockRidge, ce);
    d.size = s.size;
    d.used = s.used;
    return s.places;
  });
  for (const d of h.jolietDirs) {
    const s = sizeJolietDirectory(d);
    d.size = s.size;
    d.used = s.used;
  }
  for (const d of h.isoDirs) { d.lba = lba; lba += d.size / SECTOR; }
  for (const d of h.jolietDirs) { d.lba = lba; lba += d.size / SECTOR; }
  const ceLba = lba;
  lba += ce.blocks;

  for (const ino of o.dataOrder) {
    const data = ino.data!;
    data.lba = lba;
    lba += sectorsOf(data.stored);
  }
  return { pvd, ...(bootRecord !== undefined ? { bootRecord } : {}), ...(svd !== undefined ? { svd } : {}), terminator, pathL, pathM, pathSize, jPathL, jPathM, jPathSize, ceLba, ceBlocks: ce.blocks, places, sectors: lba };
}
