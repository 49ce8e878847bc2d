/**
 * The ISO's bytes as extents (docs/ARCHITECTURE.md §2.1): volume descriptors, path tables,
 * directories and continuation areas as buffers; file data referenced through `addContent`
 * (holes of sparse files stay holes), never copied; overlays on a file's bytes (El Torito's boot
 * info table) replace exactly their range of its extents.
 *
 * @example
 * const vb = new VolumeBuilder();
 * encodeIso(vb, h, lay, { ... });
 */
import { contentExtents } from '../../extent/content.js';
import { sliceExtent, type Extent, type VolumeBuilder } from '../../extent/extent.js';
import type { FileContent } from '../../tree/model.js';
import { encodePathTables, encodeTerminator, encodeVolumeDescriptor, type DescriptorFields } from './descriptors.js';
import type { Hierarchy, Inode } from './hierarchy.js';
import { isoPathIds, jolietPathIds, type IsoLayout } from './layout.js';
import { encodeIsoDirectory, encodeJolietDirectory, rootRecord, Slab } from './records.js';
import { SECTOR } from './structs.js';

/** Bytes to lay over a file's own bytes: `at` is an offset within the file. */
export interface Overlay {
  at: number;
  data: Uint8Array;
}

/** Where a file's stored bytes come from: its content, or a range of the zisofs temporary file. */
export interface StoredBytes {
  content: FileContent;
  /** Ranges of the file holding data (sorted); the rest are holes. Undefined: all of it. */
  dataRanges?: readonly { start: number; end: number }[];
  overlays?: readonly Overlay[];
}

export interface EncodeInput {
  ids: Omit<DescriptorFields, 'kind' | 'volumeSpaceSize' | 'pathTableSize' | 'pathTableL' | 'pathTableM' | 'rootRecord'>;
  rockRidge: boolean;
  bytesOf(inode: Inode): StoredBytes;
  dataOrder: readonly Inode[];
}

/** The extents of `stored` bytes of a file at byte `at` of the ISO, overlays laid over them. */
export function fileExtents(b: StoredBytes, at: number, stored: number): Extent[] {
  if (!b.dataRanges && !b.overlays) return contentExtents(b.content, at, 0, stored);
  const ranges = b.dataRanges ?? [{ start: 0, end: stored }];
  let out: Extent[] = [];
  for (const r of ranges) out.push(...contentExtents(b.content, at + r.start, r.start, Math.min(r.end, stored) - r.start));
  for (const o of b.overlays ?? []) {
    const from = at + o.at, to = from + o.data.length;
    const kept: Extent[] = [];
    for (const e of out) {
      if (e.offset + e.length <= from || e.offset >= to) { kept.push(e); continue; }
      if (e.offset < from) kept.push(sliceExtent(e, e.offset, from));
      if (e.offset + e.length > to) kept.push(sliceExtent(e, to, e.offset + e.length));
    }
    kept.push({ offset: from, length: o.data.length, source: { kind: 'bytes', data: o.data } });
    out = kept.sort((a, b) => a.offset - b.offset);
  }
  return out;
}

/** Add everything but the system area and the boot record (the boot code's) to `vb`. */
export function encodeIso(vb: VolumeBuilder, h: Hierarchy, lay: IsoLayout, input: EncodeInput): void {
  const root = h.isoDirs[0]!;
  const time = root.node.mtime.sec;
  const common = { volumeSpaceSize: lay.sectors, pathTableSize: lay.pathSize, pathTableL: lay.pathL, pathTableM: lay.pathM };
  vb.addBytes(lay.pvd * SECTOR, encodeVolumeDescriptor({ kind: 'primary', ...input.ids, ...common, rootRecord: rootRecord(root.lba, root.size, time) }));
  if (lay.svd !== undefined) {
    const jroot = h.jolietDirs[0]!;
    vb.addBytes(lay.svd * SECTOR, encodeVolumeDescriptor({
      kind: 'joliet', ...input.ids, volumeId: [...input.ids.volumeId].slice(0, 16).join(''),
      volumeSpaceSize: lay.sectors, pathTableSize: lay.jPathSize, pathTableL: lay.jPathL, pathTableM: lay.jPathM, rootRecord: rootRecord(jroot.lba, jroot.size, time),
    }));
  }
  vb.addBytes(lay.terminator * SECTOR, encodeTerminator());

  const isoIds = isoPathIds(h.isoDirs);
  const isoTables = encodePathTables(h.isoDirs.map((d, i) => ({ id: isoIds[i]!, lba: d.lba, parent: d.parent.number })));
  vb.addBytes(lay.pathL * SECTOR, isoTables.l);
  vb.addBytes(lay.pathM * SECTOR, isoTables.m);
  if (lay.svd !== undefined) {
    const jIds = jolietPathIds(h.jolietDirs);
    const jTables = encodePathTables(h.jolietDirs.map((d, i) => ({ id: jIds[i]!, lba: d.lba, parent: d.parent.number })));
    vb.addBytes(lay.jPathL * SECTOR, jTables.l);
    vb.addBytes(lay.jPathM * SECTOR, jTables.m);
  }

  const ceBuf = new Uint8Array(lay.ceBlocks * SECTOR);
  const slab = new Slab();
  h.isoDirs.forEach((d, i) => vb.addBytes(d.lba * SECTOR, encodeIsoDirectory(d, input.rockRidge, d.used, lay.places[i]!, ceBuf, lay.ceLba, slab)));
  for (const d of h.jolietDirs) vb.addBytes(d.lba * SECTOR, encodeJolietDirectory(d, d.used, slab));
  vb.addBytes(lay.ceLba * SECTOR, ceBuf);

  for (const ino of input.dataOrder) {
    const data = ino.data!;
    for (const e of fileExtents(input.bytesOf(ino), data.lba * SECTOR, data.stored)) vb.add(e);
  }
}
