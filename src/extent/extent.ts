/**
 * The extent model (docs/ARCHITECTURE.md §2.1): a volume or disk is a size plus a sorted list of half-open,
 * non-overlapping extents `[offset, offset + length)`. Gaps are zeros and are never materialised.
 * Only emission reads file data.
 */

/** Where an extent's bytes come from. */
export type Source =
  /** Bytes held in memory; `data.length` equals the extent length (or, with `at`, the bytes from `at`). */
  | { kind: 'bytes'; data: Uint8Array; at?: number }
  /**
   * A range of an input file starting at `offset`. `size` is the file size seen at plan time;
   * emission fails, naming the file, if it changed.
   */
  | { kind: 'file'; path: string | Buffer; offset: number; size: number }
  /** A repeated byte (0 is a hole and is dropped by `normalize`). */
  | { kind: 'fill'; byte: number };

export interface Extent {
  offset: number;
  length: number;
  source: Source;
}

export interface Volume {
  /** Total size in bytes. */
  size: number;
  /** Sorted, non-overlapping, all inside [0, size). */
  extents: Extent[];
}

/** An extent that is `ext` cut to `[from, to)` (absolute offsets within ext's space). */
export function sliceExtent(ext: Extent, from: number, to: number): Extent {
  const start = Math.max(from, ext.offset);
  const end = Math.min(to, ext.offset + ext.length);
  const skip = start - ext.offset;
  const src = ext.source;
  let source: Source;
  switch (src.kind) {
    case 'bytes': source = { kind: 'bytes', data: src.data, at: (src.at ?? 0) + skip }; break;
    case 'file': source = { ...src, offset: src.offset + skip }; break;
    case 'fill': source = src; break;
  }
  return { offset: start, length: end - start, source };
}

/** Shift every extent of `vol` by `base` (placing a volume into a disk). */
export function placeVolume(vol: Volume, base: number): Extent[] {
  return vol.extents.map((e) => ({ offset: e.offset + base, length: e.length, source: e.source }));
}

/**
 * Sort extents, drop empty ones and zero fills, and check they do not overlap and stay inside `size`.
 * `what` names the owner in errors.
 */
export function normalize(extents: Extent[], size: number, what = 'volume'): Extent[] {
  const out = extents
    .filter((e) => e.length > 0 && !(e.source.kind === 'fill' && e.source.byte === 0))
    .sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const e of out) {
    if (!Number.isSafeInteger(e.offset) || !Number.isSafeInteger(e.length) || e.offset < 0) {
      throw new RangeError(`${what}: bad extent [${e.offset}, +${e.length})`);
    }
    if (e.offset < end) throw new RangeError(`${what}: extents overlap at byte ${e.offset}`);
    end = e.offset + e.length;
    if (e.source.kind === 'bytes' && (e.source.at ?? 0) + e.length > e.source.data.length) {
      throw new RangeError(`${what}: extent at ${e.offset} is longer than its ${e.source.data.length} bytes`);
    }
  }
  if (end > size) throw new RangeError(`${what}: extent ends at ${end}, past the size ${size}`);
  return out;
}

/** Bytes of `ext` that hold data (for sizing and reports). */
export function dataBytes(extents: readonly Extent[]): number {
  let n = 0;
  for (const e of extents) n += e.length;
  return n;
}

/**
 * A small builder filesystem planners use: add metadata buffers and file ranges at offsets,
 * then `finish(size)` normalises into a Volume.
 */
export class VolumeBuilder {
  private readonly extents: Extent[] = [];
  addBytes(offset: number, data: Uint8Array): void {
    if (data.length > 0) this.extents.push({ offset, length: data.length, source: { kind: 'bytes', data } });
  }
  addFile(offset: number, path: string | Buffer, fileOffset: number, length: number, fileSize: number): void {
    if (length > 0) this.extents.push({ offset, length, source: { kind: 'file', path, offset: fileOffset, size: fileSize } });
  }
  addFill(offset: number, length: number, byte: number): void {
    if (length > 0 && byte !== 0) this.extents.push({ offset, length, source: { kind: 'fill', byte } });
  }
  add(ext: Extent): void {
    if (ext.length > 0) this.extents.push(ext);
  }
  finish(size: number, what = 'volume'): Volume {
    return { size, extents: normalize(this.extents, size, what) };
  }
}
