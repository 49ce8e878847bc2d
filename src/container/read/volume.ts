import type { Extent, Volume } from '../../extent/extent.js';

/**
 * Collects guest ranges backed by byte ranges of an input file into a sorted, coalesced extent
 * list clipped to the virtual size (readers map allocated clusters/blocks one by one, in guest order).
 */
export class ExtentCollector {
  private readonly extents: Extent[] = [];
  constructor(private readonly path: string, private readonly fileSize: number, private readonly size: number) {}

  /** Guest `[offset, offset + length)` holds the file's bytes at `fileOffset`. */
  add(offset: number, length: number, fileOffset: number): void {
    const len = Math.min(length, this.size - offset);
    if (len <= 0) return;
    const last = this.extents[this.extents.length - 1];
    if (last && last.source.kind === 'file' && last.offset + last.length === offset && last.source.offset + last.length === fileOffset) {
      last.length += len;
      return;
    }
    if (last && offset < last.offset + last.length) throw new RangeError(`overlapping extents at ${offset}`);
    this.extents.push({ offset, length: len, source: { kind: 'file', path: this.path, offset: fileOffset, size: this.fileSize } });
  }

  finish(): Volume {
    return { size: this.size, extents: this.extents };
  }
}

