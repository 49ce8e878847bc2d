/**
 * Extent trees (ext4 docs ifork.rst "Extent Tree"; ext3_extents.h). A file's mapping is a list of
 * extents (logical block, length ≤ 32768, physical block). Up to 4 fit in i_block; more go into
 * leaf blocks under index entries, one level per factor of (blockSize - 12) / 12. Every tree block
 * ends with `struct ext4_extent_tail`: crc32c(inode seed, block up to the tail).
 */
import { defineStruct } from '../../util/struct.js';
import { crc32cUpdate } from './checksum.js';

export const ExtentHeader = defineStruct('ext3_extent_header', 12, [
  { name: 'eh_magic', offset: 0x0, kind: 'u16le' },
  { name: 'eh_entries', offset: 0x2, kind: 'u16le' },
  { name: 'eh_max', offset: 0x4, kind: 'u16le' },
  { name: 'eh_depth', offset: 0x6, kind: 'u16le' },
  { name: 'eh_generation', offset: 0x8, kind: 'u32le' },
]);

export const ExtentLeaf = defineStruct('ext3_extent', 12, [
  { name: 'ee_block', offset: 0x0, kind: 'u32le' },
  { name: 'ee_len', offset: 0x4, kind: 'u16le' },
  { name: 'ee_start_hi', offset: 0x6, kind: 'u16le' },
  { name: 'ee_start_lo', offset: 0x8, kind: 'u32le' },
], { ee_start: ['ee_start_lo', 'ee_start_hi'] });

export const ExtentIndex = defineStruct('ext3_extent_idx', 12, [
  { name: 'ei_block', offset: 0x0, kind: 'u32le' },
  { name: 'ei_leaf_lo', offset: 0x4, kind: 'u32le' },
  { name: 'ei_leaf_hi', offset: 0x8, kind: 'u16le' },
  { name: 'ei_unused', offset: 0xa, kind: 'u16le' },
], { ei_leaf: ['ei_leaf_lo', 'ei_leaf_hi'] });

/** After the last entry slot (eh_max) of a tree block, not in i_block (ifork.rst "struct ext4_extent_tail"). */
export const ExtentTail = defineStruct('ext4_extent_tail', 4, [
  { name: 'et_checksum', offset: 0x0, kind: 'u32le' },
]);

export const EXTENT_MAGIC = 0xf30a;
/** Longest initialized extent (ee_len ≤ 32768; above that the length means "unwritten"). */
export const MAX_EXTENT_LEN = 32768;
const IN_INODE_ENTRIES = 4;

/** One mapped run: logical blocks [lblk, lblk + len) live at physical [pblk, pblk + len). */
export interface MappedExtent {
  lblk: number;
  len: number;
  pblk: number;
}

/** Shared by every inode without extents or tree blocks (never added to: lists are replaced). */
export const NO_EXTENTS: readonly MappedExtent[] = Object.freeze([]);
export const NO_BLOCKS: readonly number[] = Object.freeze([]);

/** Entries per tree block: after the header, leaving room for the 4-byte tail. */
const perBlock = (blockSize: number): number => Math.floor((blockSize - ExtentHeader.size) / ExtentLeaf.size);

/** Tree blocks needed to map `count` extents (0 when they fit in the inode). */
export function extentTreeBlocks(count: number, blockSize: number): number {
  if (count <= IN_INODE_ENTRIES) return 0;
  const per = perBlock(blockSize);
  let n = Math.ceil(count / per);
  let total = n;
  while (n > IN_INODE_ENTRIES) { n = Math.ceil(n / per); total += n; }
  return total;
}

interface Entry { lblk: number; pblk: number; len: number }

// Field offsets of the declared structs, for the per-inode path below (every file's i_block).
const EH_MAGIC = ExtentHeader.offsetOf('eh_magic'), EH_ENTRIES = ExtentHeader.offsetOf('eh_entries');
const EH_MAX = ExtentHeader.offsetOf('eh_max'), EH_DEPTH = ExtentHeader.offsetOf('eh_depth');
const EE_BLOCK = ExtentLeaf.offsetOf('ee_block'), EE_LEN = ExtentLeaf.offsetOf('ee_len');
const EE_START_LO = ExtentLeaf.offsetOf('ee_start_lo'), EE_START_HI = ExtentLeaf.offsetOf('ee_start_hi');
const EI_BLOCK = ExtentIndex.offsetOf('ei_block'), EI_LEAF_LO = ExtentIndex.offsetOf('ei_leaf_lo'), EI_LEAF_HI = ExtentIndex.offsetOf('ei_leaf_hi');

function le16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v & 0xff; buf[at + 1] = v >>> 8;
}
function le32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v & 0xff; buf[at + 1] = (v >>> 8) & 0xff; buf[at + 2] = (v >>> 16) & 0xff; buf[at + 3] = v >>> 24;
}
/** A 48-bit block number as its u32le low and u16le high fields (ee_start, ei_leaf). */
function le48(buf: Uint8Array, loAt: number, hiAt: number, v: number): void {
  if (!(Number.isInteger(v) && v >= 0 && v < 2 ** 48)) throw new RangeError(`extent block number ${v} does not fit in 48 bits`);
  const lo = v % 0x1_0000_0000;
  le32(buf, loAt, lo);
  le16(buf, hiAt, (v - lo) / 0x1_0000_0000);
}

/**
 * The header and entries of one tree node at `buf[at]`, written byte by byte at the structs'
 * offsets (this runs once per file; the generic encoder costs several times more per call).
 * eh_generation and ei_unused stay zero (the buffers are fresh). Out-of-range values are RangeErrors.
 */
function writeEntries(buf: Uint8Array, at: number, entries: readonly Entry[], depth: number, max: number): void {
  le16(buf, at + EH_MAGIC, EXTENT_MAGIC);
  le16(buf, at + EH_ENTRIES, entries.length);
  le16(buf, at + EH_MAX, max);
  le16(buf, at + EH_DEPTH, depth);
  let o = at + ExtentHeader.size;
  for (const e of entries) {
    if (!(Number.isInteger(e.lblk) && e.lblk >= 0 && e.lblk <= 0xffffffff)) throw new RangeError(`extent logical block ${e.lblk} does not fit in 32 bits`);
    if (depth === 0) {
      if (!(e.len > 0 && e.len <= MAX_EXTENT_LEN)) throw new RangeError(`extent length ${e.len} is not in 1..${MAX_EXTENT_LEN}`);
      le32(buf, o + EE_BLOCK, e.lblk);
      le16(buf, o + EE_LEN, e.len);
      le48(buf, o + EE_START_LO, o + EE_START_HI, e.pblk);
    } else {
      le32(buf, o + EI_BLOCK, e.lblk);
      le48(buf, o + EI_LEAF_LO, o + EI_LEAF_HI, e.pblk);
    }
    o += ExtentLeaf.size;
  }
}

/**
 * Encode the tree: the 60-byte i_block goes to `iblock[iblockAt]` (the inode being written) and the
 * tree blocks placed at `treeBlocks` (as many as `extentTreeBlocks` says, leaves first, then each
 * index level) are returned. `inodeSeed` seals the tails.
 */
export function encodeExtentTree(extents: readonly MappedExtent[], treeBlocks: readonly number[], blockSize: number, inodeSeed: number, iblock: Uint8Array, iblockAt: number): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  let level: readonly Entry[] = extents;
  let depth = 0;
  const per = perBlock(blockSize);
  let next = 0;
  while (level.length > IN_INODE_ENTRIES) {
    const up: Entry[] = [];
    for (let i = 0; i < level.length; i += per) {
      const chunk = level.slice(i, i + per);
      const pblk = treeBlocks[next++];
      if (pblk === undefined) throw new Error('extent tree: fewer blocks allocated than needed');
      const buf = new Uint8Array(blockSize);
      writeEntries(buf, 0, chunk, depth, per);
      const tail = ExtentHeader.size + ExtentLeaf.size * per;
      ExtentTail.encode({ et_checksum: crc32cUpdate(inodeSeed, buf, 0, tail) }, buf, tail);
      blocks.push(buf);
      up.push({ lblk: chunk[0]!.lblk, pblk, len: 0 });
    }
    level = up;
    depth++;
  }
  writeEntries(iblock, iblockAt, level, depth, IN_INODE_ENTRIES);
  return blocks;
}
