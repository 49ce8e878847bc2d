/**
 * Metadata as the squashfs reader walks it (squashfs.rst "Metadata blocks", squashfs_fs.h): blocks
 * of at most SQUASHFS_METADATA_SIZE (8 KiB) decoded, each behind a 2-byte header (its stored
 * length, SQUASHFS_COMPRESSED_BIT when stored as is); a location is a block's start relative to its
 * table and an offset in the decoded block; a read may continue into the following blocks. The
 * lookup tables (ids, fragments, xattr ids) are an index of u64 block starts, then the blocks.
 * Every block lies inside `[0, bytes_used)` of the filesystem and decodes to at most 8 KiB;
 * decoded blocks are cached (bounded).
 */
import { COMPRESSED_BIT, METADATA_SIZE } from './format.js';
import type { BlockDecoder } from './read-codec.js';

export interface MetaContext {
  /** bytes_used: nothing the reader reads lies beyond it. */
  readonly end: number;
  readonly decode: BlockDecoder;
  /** `length` bytes at `offset` of the filesystem (checked inside `end` by the caller). */
  bytes(offset: number, length: number, structure: string): Uint8Array;
  corrupt(structure: string, offset: number, what: string): Error;
}

interface Block { data: Uint8Array; next: number }

/** Decoded blocks kept (8 KiB each at most). */
const CACHE_BLOCKS = 2048;

export class MetaReader {
  private readonly cache = new Map<number, Block>();
  constructor(private readonly ctx: MetaContext) {}

  /** The metadata block starting at byte `at` of the filesystem. */
  block(at: number, structure: string): Block {
    const hit = this.cache.get(at);
    if (hit) return hit;
    const c = this.ctx;
    if (!Number.isSafeInteger(at) || at < 0 || at + 2 > c.end) throw c.corrupt(structure, 0, `a metadata block at ${at < 0 ? 'a pointer' : at} lies outside the ${c.end} bytes used`);
    const h = c.bytes(at, 2, structure);
    const word = h[0]! | (h[1]! << 8);
    const length = word & ~COMPRESSED_BIT;
    const stored = (word & COMPRESSED_BIT) !== 0;
    if (length === 0 || length > METADATA_SIZE) throw c.corrupt(structure, at, `metadata block length ${length} is not between 1 and ${METADATA_SIZE}`);
    if (at + 2 + length > c.end) throw c.corrupt(structure, at, `its ${length} bytes run past the ${c.end} bytes used`);
    const raw = c.bytes(at + 2, length, structure);
    let data: Uint8Array;
    if (stored) data = raw;
    else {
      try {
        data = c.decode(raw, METADATA_SIZE);
      } catch (e) {
        throw c.corrupt(structure, at, `metadata block does not decompress: ${(e as Error).message}`);
      }
    }
    const b = { data, next: at + 2 + length };
    if (this.cache.size >= CACHE_BLOCKS) this.cache.clear();
    this.cache.set(at, b);
    return b;
  }

  /** A reader of the metadata at `offset` in the block starting at byte `blockAt`. */
  cursor(blockAt: number, offset: number, structure: string): MetaCursor {
    return new MetaCursor(this, blockAt, offset, structure, this.ctx);
  }
}

export class MetaCursor {
  constructor(private readonly meta: MetaReader, public blockAt: number, public offset: number, private readonly structure: string, private readonly ctx: MetaContext) {
    const b = meta.block(blockAt, structure);
    if (offset > b.data.length) throw ctx.corrupt(structure, blockAt, `offset ${offset} is past the ${b.data.length} bytes of its metadata block`);
  }

  /** Where the cursor is, for messages: the block's start in the filesystem. */
  get at(): number { return this.blockAt; }

  /** The next `n` bytes (continuing into the following blocks). */
  take(n: number): Uint8Array {
    const first = this.meta.block(this.blockAt, this.structure);
    if (this.offset + n <= first.data.length) {
      const out = first.data.subarray(this.offset, this.offset + n);
      this.offset += n;
      return out;
    }
    // Past `end` there is nothing: a count that asks for more is refused before it is allocated.
    if (n > (this.ctx.end - this.blockAt) * METADATA_SIZE) throw this.ctx.corrupt(this.structure, this.blockAt, `${n} bytes of metadata cannot follow in the rest of the filesystem`);
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const b = this.meta.block(this.blockAt, this.structure);
      if (this.offset >= b.data.length) { this.blockAt = b.next; this.offset = 0; continue; }
      const k = Math.min(n - done, b.data.length - this.offset);
      out.set(b.data.subarray(this.offset, this.offset + k), done);
      done += k;
      this.offset += k;
    }
    return out;
  }
}

/**
 * A lookup table (squashfs.rst "Id table", "Fragment table", "Xattr table"): `count` entries of
 * `entrySize` bytes in metadata blocks whose starts are listed as u64s at `indexAt`.
 */
export class LookupTable {
  private readonly perBlock: number;
  constructor(private readonly meta: MetaReader, private readonly ctx: MetaContext, private readonly indexAt: number, readonly count: number, private readonly entrySize: number, private readonly structure: string) {
    this.perBlock = METADATA_SIZE / entrySize;
    const indexBytes = Math.ceil(count / this.perBlock) * 8;
    if (count > 0 && (indexAt < 0 || indexAt + indexBytes > ctx.end)) throw ctx.corrupt(structure, Math.max(0, indexAt), `the index of ${count} entries runs past the ${ctx.end} bytes used`);
  }

  /** Entry `i`'s bytes. */
  entry(i: number, from: { structure: string; at: number }): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw this.ctx.corrupt(from.structure, from.at, `${this.structure} entry ${i} is not below its count ${this.count}`);
    const k = Math.floor(i / this.perBlock);
    const p = this.ctx.bytes(this.indexAt + 8 * k, 8, this.structure);
    const v = new DataView(p.buffer, p.byteOffset, 8).getBigUint64(0, true);
    const blockAt = v > BigInt(this.ctx.end) ? -1 : Number(v);
    const b = this.meta.block(blockAt, this.structure);
    const o = (i % this.perBlock) * this.entrySize;
    if (o + this.entrySize > b.data.length) throw this.ctx.corrupt(this.structure, blockAt, `entry ${i} runs past its ${b.data.length}-byte metadata block`);
    return b.data.subarray(o, o + this.entrySize);
  }
}
