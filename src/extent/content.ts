/**
 * A regular file's content as extents (docs/ARCHITECTURE.md §2.1): every filesystem writer places
 * file bytes through `addContent`, whatever the content kind (host file range, inline bytes, a
 * nested filesystem's volume), and writers that must see the bytes at plan time (compressing ones:
 * squashfs, zisofs) read them with `readContent`. One rule per kind, written once here.
 *
 * @example
 * addContent(vb, dataOffset, node.content!, 0, node.size); // the whole file at dataOffset
 */
import type { FileContent } from '../tree/model.js';
import { sliceExtent, type Extent, type Volume, type VolumeBuilder } from './extent.js';
import { ExtentReader, readRange } from './read.js';

/** The content as a volume of `size` bytes (the file's own byte space). */
export function contentVolume(c: FileContent, size: number): Volume {
  switch (c.kind) {
    case 'bytes': return { size, extents: size > 0 ? [{ offset: 0, length: Math.min(size, c.data.length), source: { kind: 'bytes', data: c.data } }] : [] };
    case 'file': return { size, extents: size > 0 ? [{ offset: 0, length: size, source: { kind: 'file', path: c.path, offset: c.offset, size: c.fileSize } }] : [] };
    case 'volume': return c.volume;
  }
}

/** The extents of bytes `[from, from + length)` of a file's content, placed at `at`. Holes stay holes. */
export function contentExtents(c: FileContent, at: number, from: number, length: number): Extent[] {
  if (length <= 0) return [];
  switch (c.kind) {
    case 'bytes': return [{ offset: at, length, source: { kind: 'bytes', data: c.data, at: from } }];
    case 'file': return [{ offset: at, length, source: { kind: 'file', path: c.path, offset: c.offset + from, size: c.fileSize } }];
    case 'volume': {
      const out: Extent[] = [];
      const end = from + length;
      for (const e of c.volume.extents) {
        if (e.offset + e.length <= from) continue;
        if (e.offset >= end) break;
        const cut = sliceExtent(e, from, end);
        out.push({ offset: cut.offset - from + at, length: cut.length, source: cut.source });
      }
      return out;
    }
  }
}

/** Add bytes `[from, from + length)` of a file's content to a volume at `at`. */
export function addContent(vb: VolumeBuilder, at: number, c: FileContent, from: number, length: number): void {
  for (const e of contentExtents(c, at, from, length)) vb.add(e);
}

/**
 * Read bytes `[from, from + length)` of a file of `size` bytes (zeros in holes). For writers that
 * transform data at plan or emit time; pass one `reader` for many reads (it caches descriptors).
 */
export function readContent(c: FileContent, size: number, from: number, length: number, reader = new ExtentReader()): Uint8Array {
  return readRange(contentVolume(c, size), from, length, reader);
}

/**
 * The byte ranges of a file's content that may hold data (sorted, half-open), when they are known
 * without reading it: a nested volume's extents. Undefined for host files and inline bytes.
 */
export function knownDataRanges(c: FileContent): { start: number; end: number }[] | undefined {
  if (c.kind !== 'volume') return undefined;
  return c.volume.extents.map((e) => ({ start: e.offset, end: e.offset + e.length }));
}
