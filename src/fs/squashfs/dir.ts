/**
 * Directory listings (squashfs.rst "Directory table"): runs of entries, each run after a header
 * naming the metadata block its entries' inodes are in and a base inode number the entries store
 * signed 16-bit deltas from. A header covers at most 256 entries of one inode block. As mksquashfs
 * (add_dir), a new header also starts where the entries since the last index point would pass
 * 8 KiB, and that header gets a directory index entry (squashfs_dir_index: its offset in the
 * listing and its first name), which the kernel's lookup and readdir use to skip ahead in large
 * directories. Names are byte-sorted (the kernel's lookup stops early on that order).
 *
 * @example
 * const listing = buildListing([{ name: Buffer.from('a'), block: 0, offset: 32, inodeNumber: 2, type: 2 }]);
 */
import { DIR_COUNT, DirEntry, DirHeader, METADATA_SIZE } from './format.js';

export interface ListingEntry {
  name: Buffer;
  /** The entry's inode: start of its metadata block in the inode table, offset in the block. */
  block: number;
  offset: number;
  inodeNumber: number;
  /** Basic inode type (1-7). */
  type: number;
}

export interface Listing {
  bytes: Uint8Array;
  /** Directory index points: a header's offset in the listing and its first entry's name. */
  index: { offset: number; name: Buffer }[];
}

const ENTRY = { offset: DirEntry.offsetOf('offset'), inodeNumber: DirEntry.offsetOf('inode_number'), type: DirEntry.offsetOf('type'), size: DirEntry.offsetOf('size') };

/** Lay out the listing of one directory's entries (already in byte order). */
export function buildListing(entries: readonly ListingEntry[]): Listing {
  let size = 0;
  for (const e of entries) size += DirEntry.size + e.name.length;
  // At most one header per entry.
  const bytes = new Uint8Array(size + DirHeader.size * entries.length);
  const dv = new DataView(bytes.buffer);
  const index: { offset: number; name: Buffer }[] = [];
  let at = 0;
  let header = -1;
  let count = 0;
  let headerBlock = 0;
  let base = 0;
  let indexPoint = 0;
  const closeHeader = (): void => {
    if (header >= 0) DirHeader.encode({ count: count - 1, start_block: headerBlock, inode_number: base }, bytes, header);
  };
  for (const e of entries) {
    const delta = e.inodeNumber - base;
    const tooFar = header >= 0 && at + DirEntry.size + e.name.length - indexPoint > METADATA_SIZE;
    if (header < 0 || count === DIR_COUNT || e.block !== headerBlock || delta > 32767 || delta < -32768 || tooFar) {
      if (header >= 0 && tooFar) {
        index.push({ offset: at, name: e.name });
        indexPoint = at;
      }
      closeHeader();
      header = at;
      count = 0;
      headerBlock = e.block;
      base = e.inodeNumber;
      at += DirHeader.size;
    }
    // One per name of the tree: written at DirEntry's offsets without the generic encoder.
    if (e.offset > 0xffff || e.name.length - 1 > 0xffff) throw new RangeError(`squashfs_dir_entry: offset ${e.offset} or name of ${e.name.length} bytes does not fit`);
    dv.setUint16(at + ENTRY.offset, e.offset, true);
    dv.setUint16(at + ENTRY.inodeNumber, (e.inodeNumber - base) & 0xffff, true);
    dv.setUint16(at + ENTRY.type, e.type, true);
    dv.setUint16(at + ENTRY.size, e.name.length - 1, true);
    bytes.set(e.name, at + DirEntry.size);
    at += DirEntry.size + e.name.length;
    count++;
  }
  closeHeader();
  return { bytes: bytes.subarray(0, at), index };
}
