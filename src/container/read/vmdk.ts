import { bigIntOf, type DecodedValue } from '../../util/struct.js';
import { FLAG_COMPRESSED, FLAG_MARKERS, GD_AT_END, Marker, SPARSE_MAGICNUMBER, SparseExtentHeader } from '../vmdk.js';
import { pushRun, type Mapping, type Run } from './disk.js';
import { corrupt, corruptAt, fieldNumber, type InputFile } from './file.js';

/** qemu block/vmdk.c limits: grains up to 0x200000 sectors, up to 512 entries per grain table, a grain directory of up to 32 Mi entries. */
const MAX_GRAIN_SECTORS = 0x200000;
const MAX_GTES_PER_GT = 512;
const MAX_GD_ENTRIES = 32 << 20;
/** A grain marker's header before its compressed bytes: lba (u64) and size (u32) of `Marker`. */
const GRAIN_MARKER_HEAD = Marker.offsetOf('size') + Marker.sizeOf('size');
/** Grain tables kept decoded. */
const GT_CACHE = 16;
/** A stream's footer is the sector before the end-of-stream marker, after the footer marker. */
const FOOTER_FROM_END = 1024;

/**
 * The mapping of a hosted sparse VMDK (monolithicSparse or streamOptimized, single extent; VMware
 * "Virtual Disk Format 1.1", qemu block/vmdk.c). The header (or a stream's footer), its counts and
 * the grain directory are checked when opened, and no two directory entries may name the same
 * grain table; grain tables and grains are checked when a range is mapped.
 */
export class VmdkMapping implements Mapping {
  readonly size: number;
  private readonly grain: number;
  private readonly gtes: number;
  private readonly compressed: boolean;
  private readonly markers: boolean;
  private readonly gdAt: number;
  private readonly gd: number[] = [];
  private readonly cache = new Map<number, DataView>();

  constructor(private readonly file: InputFile) {
    let at = 0;
    let h = file.decode(SparseExtentHeader, at);
    if (h.magicNumber !== SPARSE_MAGICNUMBER) throw corrupt(file.path, 'not a hosted sparse VMDK (monolithicFlat and split extents are not supported)');
    if (bigIntOf(h.gdOffset) === GD_AT_END) {
      // streamOptimized: the footer (a header copy with the directory's offset) is 1024 bytes from the end.
      at = file.within('VMDK footer', file.size - FOOTER_FROM_END, SparseExtentHeader.size);
      h = file.decode(SparseExtentHeader, at);
      if (h.magicNumber !== SPARSE_MAGICNUMBER) throw corruptAt(file.path, 'VMDK footer', at, 'no footer (magic number) 1024 bytes before the end of the stream');
    }
    const HDR = at === 0 ? 'VMDK header' : 'VMDK footer';
    const field = (name: string, min?: number, max?: number): number => fieldNumber(file, HDR, at, h as Record<string, DecodedValue>, name, min, max);
    const capacity = field('capacity', 0, Math.floor(Number.MAX_SAFE_INTEGER / 512));
    const grainSectors = field('grainSize', 1, MAX_GRAIN_SECTORS);
    this.gtes = field('numGTEsPerGT', 1, MAX_GTES_PER_GT);
    const flags = h.flags as number;
    this.size = capacity * 512;
    this.grain = grainSectors * 512;
    this.compressed = (flags & FLAG_COMPRESSED) !== 0;
    this.markers = (flags & FLAG_MARKERS) !== 0;
    const gdEntries = Math.ceil(capacity / grainSectors / this.gtes);
    if (gdEntries > MAX_GD_ENTRIES) throw corruptAt(file.path, HDR, at, `a grain directory of ${gdEntries} entries is larger than ${MAX_GD_ENTRIES}`);
    this.gdAt = file.within('VMDK grain directory', bigIntOf(h.gdOffset) * 512n, gdEntries * 4);
    const gd = file.read(this.gdAt, gdEntries * 4);
    const dv = new DataView(gd.buffer, gd.byteOffset, gd.byteLength);
    const seen = new Map<number, number>();
    for (let i = 0; i < gdEntries; i++) {
      const sector = dv.getUint32(i * 4, true);
      if (sector !== 0) {
        const entryAt = this.gdAt + i * 4;
        file.within(`VMDK grain table ${i} (directory entry at ${entryAt})`, sector * 512, this.gtes * 4);
        const other = seen.get(sector);
        if (other !== undefined) throw corruptAt(file.path, 'VMDK grain directory', entryAt, `grain table ${i} at sector ${sector} is also grain table ${other}`);
        seen.set(sector, i);
      }
      this.gd.push(sector);
    }
  }

  private table(i: number): DataView {
    const sector = this.gd[i]!;
    let t = this.cache.get(sector);
    if (t) { this.cache.delete(sector); this.cache.set(sector, t); return t; }
    const b = this.file.read(sector * 512, this.gtes * 4);
    t = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (this.cache.size >= GT_CACHE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(sector, t);
    return t;
  }

  map(offset: number, length: number): Run[] {
    const out: Run[] = [];
    const span = this.grain * this.gtes;
    for (let pos = offset, end = offset + length; pos < end;) {
      const i = Math.floor(pos / span);
      if (this.gd[i] === 0) {
        const next = Math.min(end, (i + 1) * span);
        pushRun(out, { kind: 'zero', length: next - pos });
        pos = next;
        continue;
      }
      const g = Math.floor(pos / this.grain);
      const j = g % this.gtes;
      const len = Math.min(end, (g + 1) * this.grain) - pos;
      pushRun(out, this.grainRun(i, j, pos - g * this.grain, len));
      pos += len;
    }
    return out;
  }

  private grainRun(i: number, j: number, skip: number, len: number): Run {
    const gtAt = this.gd[i]! * 512;
    const sector = this.table(i).getUint32(j * 4, true);
    if (sector <= 1) return { kind: 'zero', length: len }; // 0: unallocated, 1: zero grain
    const where = `VMDK grain (table ${i} entry ${j} at ${gtAt + j * 4})`;
    const grainAt = this.file.within(where, sector * 512, 1);
    if (!this.compressed) return { kind: 'data', length: len, at: grainAt + skip };
    // A compressed grain: lba and size (the same 12 bytes with or without markers), then zlib data.
    const m = this.file.decode(Marker, grainAt);
    const size = m.size as number;
    const what = `VMDK compressed grain${this.markers ? ' marker' : ''}`;
    if (size === 0 || size > 2 * this.grain) throw corruptAt(this.file.path, what, grainAt, `size ${size} is not between 1 and twice the ${this.grain}-byte grain`);
    const dataAt = this.file.within(what, grainAt + GRAIN_MARKER_HEAD, size);
    return { kind: 'deflate', length: len, at: dataAt, size, skip, zlib: true, clusterSize: this.grain, structure: what, structureAt: grainAt };
  }
}
