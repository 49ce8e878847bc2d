/**
 * Block and inode bitmaps (ext4 docs bitmaps.rst): one block each per group, bit
 * i of byte i>>3 (bit i&7) standing for the group's i-th block or inode. With flex_bg they sit at
 * the start of each flex group (layout.ts). Bits past the end of the filesystem and past
 * inodes_per_group are set, as mke2fs writes them, so nothing is ever allocated there.
 */
import type { VolumeBuilder } from '../../extent/extent.js';
import { crc32cUpdate } from './checksum.js';
import { groupStart, mergeRanges, type Geometry, type Range } from './layout.js';

/** Set bits [from, to) of a bitmap (bit i is byte i>>3, bit i&7). */
export function setBits(bitmap: Uint8Array, from: number, to: number): void {
  let i = from;
  while (i < to && (i & 7) !== 0) { bitmap[i >> 3]! |= 1 << (i & 7); i++; }
  const fullEnd = to & ~7;
  if (i < fullEnd) { bitmap.fill(0xff, i >> 3, fullEnd >> 3); i = fullEnd; }
  while (i < to) { bitmap[i >> 3]! |= 1 << (i & 7); i++; }
}

/**
 * crc32c(seed, bitmap[0, bytes)): the checksum stored for a bitmap (group_descr.rst bg_block_bitmap_csum,
 * bg_inode_bitmap_csum; an inode bitmap is summed over inodes_per_group / 8 bytes only).
 */
export function bitmapCsum(csumSeed: number, bitmap: Uint8Array, bytes: number): number {
  return crc32cUpdate(csumSeed, bitmap, 0, bytes);
}

/** What a group's descriptor needs from its bitmaps. */
export interface GroupBitmap {
  freeBlocks: number;
  usedInodes: number;
  blockBitmapCsum: number;
  inodeBitmapCsum: number;
}

export interface GroupBitmaps {
  groups: GroupBitmap[];
  /** Totals for the superblock. */
  freeBlocks: number;
  freeInodes: number;
}

/**
 * Build every group's bitmaps and add the non-empty ones to `vb`. `used` are the allocated block
 * ranges besides the layout's own metadata; inodes in use are the prefix 1..lastIno. A block bitmap
 * with no bit set and the inode bitmap of an unused group (BG_INODE_UNINIT) are left as holes.
 */
export function writeBitmaps(vb: VolumeBuilder, geo: Geometry, used: readonly Range[], lastIno: number, csumSeed: number): GroupBitmaps {
  const B = geo.blockSize;
  const bpg = geo.blocksPerGroup;
  const ipg = geo.inodesPerGroup;
  const blockBitmaps = new Map<number, Uint8Array>();
  const usedInGroup = new Array<number>(geo.groups).fill(0);
  const bitmapOf = (gi: number): Uint8Array => {
    let bm = blockBitmaps.get(gi);
    if (!bm) { bm = new Uint8Array(B); blockBitmaps.set(gi, bm); }
    return bm;
  };
  for (const r of mergeRanges([...geo.metadata, ...used])) {
    let b = r.start;
    while (b < r.end) {
      const gi = Math.floor((b - geo.firstDataBlock) / bpg);
      const gs = groupStart(geo, gi);
      const e = Math.min(r.end, gs + bpg);
      setBits(bitmapOf(gi), b - gs, e - gs);
      usedInGroup[gi]! += e - b;
      b = e;
    }
  }
  // The last group's padding: blocks past the end of the filesystem.
  const lastG = geo.groups - 1;
  const lastLen = geo.blocksCount - groupStart(geo, lastG);
  if (lastLen < bpg) setBits(bitmapOf(lastG), lastLen, bpg);
  const zeroBitmapCsum = bitmapCsum(csumSeed, new Uint8Array(B), B);

  const out: GroupBitmaps = { groups: [], freeBlocks: 0, freeInodes: 0 };
  for (let gi = 0; gi < geo.groups; gi++) {
    const bm = blockBitmaps.get(gi);
    if (bm) vb.addBytes(geo.blockBitmap[gi]! * B, bm);
    const freeBlocks = (gi === lastG ? lastLen : bpg) - usedInGroup[gi]!;
    const usedInodes = Math.min(Math.max(lastIno - gi * ipg, 0), ipg);
    let inodeBitmapCsum = 0;
    if (usedInodes > 0) {
      const ibm = new Uint8Array(B);
      setBits(ibm, 0, usedInodes);
      setBits(ibm, ipg, 8 * B);
      vb.addBytes(geo.inodeBitmap[gi]! * B, ibm);
      inodeBitmapCsum = bitmapCsum(csumSeed, ibm, ipg / 8);
    }
    out.groups.push({ freeBlocks, usedInodes, blockBitmapCsum: bm ? bitmapCsum(csumSeed, bm, B) : zeroBitmapCsum, inodeBitmapCsum });
    out.freeBlocks += freeBlocks;
    out.freeInodes += ipg - usedInodes;
  }
  return out;
}
