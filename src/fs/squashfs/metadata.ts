/**
 * Metadata blocks (squashfs.rst "Metadata blocks"): a table is cut into 8 KiB pieces, each stored
 * compressed after a 2-byte little-endian header holding its stored length, with
 * SQUASHFS_COMPRESSED_BIT set when compression did not make it smaller and it is stored as is.
 * Inodes and directory entries refer to a location as (start of its block in the table's
 * compressed bytes, offset in the block's uncompressed bytes), so a table is compressed block by
 * block as it grows: a reference needs only the blocks before its own.
 *
 * @example
 * const inodes = new MetadataTable(compress);
 * const ref = inodes.ref(); // { block: 0, offset: 0 }
 * await inodes.append(inodeBytes);
 * const blocks = await inodes.finish();
 */
import { COMPRESSED_BIT, METADATA_SIZE } from './format.js';

/** Compress one metadata block (at most METADATA_SIZE bytes). */
export type CompressBlock = (data: Uint8Array) => Promise<Uint8Array>;

/** One stored metadata block: its header and bytes. */
function storeBlock(data: Uint8Array, compressed: Uint8Array): Uint8Array {
  const keep = compressed.length < data.length;
  const body = keep ? compressed : data;
  const out = new Uint8Array(2 + body.length);
  // The header is a plain __le16 (squashfs_fs.h SQUASHFS_COMPRESSED_SIZE), no struct of its own.
  const header = keep ? body.length : body.length | COMPRESSED_BIT;
  out[0] = header & 0xff;
  out[1] = header >>> 8;
  out.set(body, 2);
  return out;
}

export class MetadataTable {
  private readonly parts: Uint8Array[] = [];
  /** Compressed start of each block that is complete (block k starts at starts[k]). */
  private readonly starts: number[] = [];
  private cur = new Uint8Array(METADATA_SIZE);
  private used = 0;
  /** Bytes of the stored blocks so far: where the current block will start. */
  private stored = 0;

  constructor(private readonly compress: CompressBlock) {}

  /** Uncompressed bytes appended so far. */
  get position(): number { return this.starts.length * METADATA_SIZE + this.used; }

  /** Where the next byte goes: its block's start in the stored table, and its offset in the block. */
  ref(): { block: number; offset: number } {
    return { block: this.stored, offset: this.used };
  }

  /** The stored start of the block holding uncompressed byte `position` (a block already begun). */
  blockStartAt(position: number): number {
    const k = Math.floor(position / METADATA_SIZE);
    if (k < this.starts.length) return this.starts[k]!;
    if (k === this.starts.length) return this.stored;
    throw new RangeError(`metadata position ${position} is past the table's ${this.position} bytes`);
  }

  /**
   * Append bytes; a block they complete is compressed before this resolves. Returns undefined when
   * no block was completed (nearly every append: an inode is a few dozen bytes of an 8 KiB block),
   * so callers await only when there is something to wait for.
   */
  append(bytes: Uint8Array): Promise<void> | undefined {
    if (this.used + bytes.length < METADATA_SIZE) {
      this.cur.set(bytes, this.used);
      this.used += bytes.length;
      return undefined;
    }
    return this.appendFlushing(bytes);
  }

  private async appendFlushing(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(bytes.length - at, METADATA_SIZE - this.used);
      this.cur.set(bytes.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
      if (this.used === METADATA_SIZE) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    const data = this.cur.subarray(0, this.used);
    const block = storeBlock(data, await this.compress(data));
    this.parts.push(block);
    this.starts.push(this.stored);
    this.stored += block.length;
    this.cur = new Uint8Array(METADATA_SIZE);
    this.used = 0;
  }

  /** Store the last, partial block; the table's stored blocks in order. */
  async finish(): Promise<Uint8Array[]> {
    if (this.used > 0) await this.flush();
    return this.parts;
  }
}

/** A table placed in the image: its stored bytes as pieces, and its length. */
export interface PlacedTable {
  parts: Uint8Array[];
  length: number;
}

/**
 * An indexed table (fragment, export, id and xattr id tables: squashfs.rst "Fragment table",
 * "Export table", "Id table"): the entries in metadata blocks placed at `at`, then the index of
 * their absolute positions (__le64 each), which the superblock points to. Returns the table and
 * where its index starts.
 */
export async function indexedTable(entries: Uint8Array, at: number, compress: CompressBlock): Promise<PlacedTable & { indexStart: number }> {
  const parts: Uint8Array[] = [];
  const positions: number[] = [];
  let pos = at;
  for (let off = 0; off < entries.length; off += METADATA_SIZE) {
    const data = entries.subarray(off, Math.min(entries.length, off + METADATA_SIZE));
    const block = storeBlock(data, await compress(data));
    parts.push(block);
    positions.push(pos);
    pos += block.length;
  }
  const index = new Uint8Array(8 * positions.length);
  const dv = new DataView(index.buffer);
  positions.forEach((p, i) => dv.setBigUint64(8 * i, BigInt(p), true));
  parts.push(index);
  return { parts, length: pos - at + index.length, indexStart: pos };
}
