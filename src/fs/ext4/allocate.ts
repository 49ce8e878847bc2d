/**
 * ext4 planning, phase 2: lay the prepared tree out on a block count (journal, resize inode's
 * block, then every inode's blocks in inode order), and find the smallest block count that fits.
 */
import { extentTreeBlocks, MAX_EXTENT_LEN, NO_BLOCKS, NO_EXTENTS, type MappedExtent } from './extent.js';
import { INODE_SIZE } from './inode.js';
import { defaultJournalBlocks } from './journal.js';
import { adjustBlocks, BlockAllocator, computeGeometry, type Geometry, type Range } from './layout.js';
import { ROOT_INO, type Prepared } from './prepare.js';

export interface Allocation {
  geo: Geometry;
  alloc: BlockAllocator;
  journalBlocks: number;
  journalExtents: MappedExtent[];
  journalTree: number[];
  dindBlock: number;
  /** Blocks short (0 when everything fits with the wanted free space). */
  deficit: number;
  freeBlocks: number;
}

/**
 * Allocate `n` blocks for logical blocks `[lblk, lblk + n)` and append their extents to `extents`
 * (merged with the last one where contiguous, split at MAX_EXTENT_LEN).
 */
function mapBlocks(extents: MappedExtent[], alloc: BlockAllocator, n: number, lblk: number): void {
  let l = lblk;
  while (n > 0) {
    let p = alloc.next(n);
    let left = alloc.taken;
    n -= left;
    while (left > 0) {
      const top = extents[extents.length - 1];
      if (top && top.lblk + top.len === l && top.pblk + top.len === p && top.len < MAX_EXTENT_LEN) {
        const add = Math.min(left, MAX_EXTENT_LEN - top.len);
        top.len += add; l += add; p += add; left -= add;
        continue;
      }
      const len = Math.min(left, MAX_EXTENT_LEN);
      extents.push({ lblk: l, len, pblk: p });
      l += len; p += len; left -= len;
    }
  }
}

/**
 * Allocate `n` blocks and count the extents they become (each run split at MAX_EXTENT_LEN), as
 * mapBlocks would for a fresh list: the sizer's dry pass, without objects.
 */
function countBlocks(alloc: BlockAllocator, n: number): number {
  let extents = 0;
  while (n > 0) {
    alloc.next(n);
    extents += Math.ceil(alloc.taken / MAX_EXTENT_LEN);
    n -= alloc.taken;
  }
  return extents;
}

/** Inodes wanted on `blocksCount` blocks: the explicit count, else one per bytesPerInode, never fewer than the tree needs. */
function inodeTarget(p: Prepared, blocksCount: number): number {
  const s = p.settings;
  return Math.max(s.inodeCount ?? Math.floor((blocksCount * s.blockSize) / s.bytesPerInode), p.lastIno);
}

/**
 * Lay out the prepared tree on `blocksCount` blocks. A `dry` run (the sizer's) only counts blocks
 * and leaves the records alone.
 */
export function allocate(p: Prepared, blocksCount: number, freeWanted: number, dry = false): Allocation | { inodesShort: number } {
  const s = p.settings;
  const B = s.blockSize;
  const inodes = inodeTarget(p, blocksCount);
  const g = computeGeometry({ blockSize: B, blocksCount, inodes, resizeInode: s.resizeInode, inodeSize: INODE_SIZE });
  if (!g.ok) {
    if (g.reason === 'inodes') return { inodesShort: Math.max(inodes, p.lastIno) };
    return { inodesShort: 0 };
  }
  const geo = g.geo;
  const alloc = new BlockAllocator(geo.metadata, geo.firstDataBlock, blocksCount);
  const journalBlocks = s.journal ? (s.journalBlocks ?? defaultJournalBlocks(blocksCount)) : 0;
  const journalExtents: MappedExtent[] = [];
  if (journalBlocks) mapBlocks(journalExtents, alloc, journalBlocks, 0);
  const journalTree = journalBlocks ? alloc.alloc(extentTreeBlocks(journalExtents.length, B)).flatMap(expand) : [];
  const dindBlock = geo.reservedGdtBlocks > 0 ? alloc.alloc(1)[0]!.start : -1;

  for (let ino = ROOT_INO; ino <= p.lastIno; ino++) {
    const rec = p.recs[ino];
    if (!rec) continue;
    const node = rec.node;
    if (dry) {
      let extents = 0;
      if (node.kind === 'dir') extents = countBlocks(alloc, rec.dirBlocks!.length);
      else if (node.kind === 'file') for (const r of rec.dataRanges!) extents += countBlocks(alloc, r.end - r.start);
      else if (node.kind === 'symlink' && (node.symlinkTarget?.length ?? 0) >= 60) extents = countBlocks(alloc, 1);
      if (extents > 4) alloc.alloc(extentTreeBlocks(extents, B));
      if (rec.xblock.length) alloc.alloc(1);
      continue;
    }
    const extents: MappedExtent[] = [];
    rec.treeBlocks = NO_BLOCKS;
    rec.xattrBlock = -1;
    if (node.kind === 'dir') mapBlocks(extents, alloc, rec.dirBlocks!.length, 0);
    else if (node.kind === 'file') for (const r of rec.dataRanges!) mapBlocks(extents, alloc, r.end - r.start, r.start);
    else if (node.kind === 'symlink' && (node.symlinkTarget?.length ?? 0) >= 60) mapBlocks(extents, alloc, 1, 0);
    // Kept until encoding, one list per inode: most hold one extent, and a list grown by push
    // reserves room for 17 (V8), so it is copied to its exact length (~130 bytes less per file).
    rec.extents = extents.length === 0 ? NO_EXTENTS : extents.length === 1 ? [extents[0]!] : extents;
    const tb = extentTreeBlocks(rec.extents.length, B);
    if (tb) rec.treeBlocks = alloc.alloc(tb).flatMap(expand);
    if (rec.xblock.length) rec.xattrBlock = alloc.alloc(1)[0]!.start;
  }
  let metaBlocks = 0;
  for (const r of geo.metadata) metaBlocks += r.end - r.start;
  const freeBlocks = blocksCount - geo.firstDataBlock - metaBlocks - alloc.allocated;
  const deficit = alloc.overflow + Math.max(0, freeWanted - Math.max(0, freeBlocks));
  return { geo, alloc, journalBlocks, journalExtents, journalTree, dindBlock, deficit, freeBlocks };
}

function expand(r: Range): number[] {
  const out: number[] = [];
  for (let b = r.start; b < r.end; b++) out.push(b);
  return out;
}

/**
 * The smallest block count (≥ `minBlocks`) that holds the tree with `freeWanted` blocks free.
 */
export function sizeBlocks(p: Prepared, freeWanted: number, minBlocks: number): Allocation {
  const B = p.settings.blockSize;
  // Start below the answer and step up by the exact shortfall: needs only grow with the block
  // count, so the first count that fits is the smallest.
  const s = p.settings;
  const journal = s.journal ? (s.journalBlocks ?? 1024) : 0;
  let n = Math.max(minBlocks, 64, p.contentBlocks + journal + freeWanted + 8);
  if (s.journal && s.journalBlocks === undefined) n = Math.max(n, 2048);
  // Cheap first steps on the geometry alone (its metadata and the journal grow with n); the
  // allocation passes below then only settle extent splits and extent-tree blocks.
  for (let k = 0; k < 16; k++) {
    n = adjustBlocks(n, B, true);
    const g = computeGeometry({ blockSize: B, blocksCount: n, inodes: inodeTarget(p, n), resizeInode: s.resizeInode, inodeSize: INODE_SIZE });
    if (!g.ok) break;
    let need = g.geo.firstDataBlock + p.contentBlocks + freeWanted + (g.geo.reservedGdtBlocks > 0 ? 1 : 0);
    for (const r of g.geo.metadata) need += r.end - r.start;
    if (s.journal) need += s.journalBlocks ?? defaultJournalBlocks(n);
    if (need <= n) break;
    n = need;
  }
  for (let iter = 0; iter < 64; iter++) {
    n = adjustBlocks(n, B, true);
    const a = allocate(p, n, freeWanted, true);
    if ('inodesShort' in a) {
      const groupsNeeded = Math.ceil(a.inodesShort / (8 * B)) || 1;
      n = Math.max(n + Math.ceil(n / 8), groupsNeeded * 8 * B + 1024);
      continue;
    }
    if (a.deficit === 0) {
      const full = allocate(p, n, freeWanted);
      if ('inodesShort' in full || full.deficit !== 0) throw new Error('ext4 sizing: dry and full allocation disagree');
      return full;
    }
    n += a.deficit;
  }
  throw new Error('ext4 sizing did not converge');
}
