/**
 * A file's logical-to-physical block mapping as the ext4 reader walks it (ext4 docs ifork.rst):
 * extent trees ("Extent Tree", decoded with the writer's ExtentHeader/ExtentLeaf/ExtentIndex) and
 * the ext2/ext3 block maps ("Direct/Indirect Block Addressing"). Hostile trees are bounded: every
 * tree or pointer block is visited at most once (a block named twice is corruption: it is how a
 * small image poses as a huge file, or loops), depths must step down by one, every physical run
 * lies inside the filesystem, and runs beyond the file's size are ignored.
 */
import { EXTENT_MAGIC, ExtentHeader, ExtentIndex, ExtentLeaf, MAX_EXTENT_LEN } from './extent.js';

/** Logical blocks [lblk, lblk + len) at physical [pblk, pblk + len); unwritten runs read as zeros. */
export interface BlockRun { lblk: number; pblk: number; len: number; unwritten: boolean }

/** What the walkers need of the filesystem. */
export interface MapContext {
  readonly blockSize: number;
  readonly blocksCount: number;
  /** Block `pblk` (checked inside the filesystem by the caller's reader). */
  block(pblk: number, structure: string): Uint8Array;
  /** E_IMAGE_CORRUPT for `structure` at byte `offset` of the filesystem. */
  corrupt(structure: string, offset: number, what: string): Error;
}

/** ext4 docs ifork.rst: the tree is at most 5 levels deep. */
const MAX_DEPTH = 5;
const EH = ExtentHeader.size;

/**
 * The runs of an extent tree rooted in `iblock` (60 bytes at byte `iblockAt` of the filesystem),
 * for a file of `maxLblk` blocks; sorted by logical block, checked not to overlap.
 */
export function extentRuns(ctx: MapContext, iblock: Uint8Array, iblockAt: number, maxLblk: number): BlockRun[] {
  const runs: BlockRun[] = [];
  const visited = new Set<number>();
  const walk = (node: Uint8Array, at: number, what: string, depth: number | undefined, slots: number): void => {
    const h = ExtentHeader.decode(node);
    if (h.eh_magic !== EXTENT_MAGIC) throw ctx.corrupt(what, at, `no extent header magic (0x${(h.eh_magic as number).toString(16)})`);
    const entries = h.eh_entries as number, max = h.eh_max as number, d = h.eh_depth as number;
    if (max > slots || entries > max) throw ctx.corrupt(what, at, `eh_entries ${entries} / eh_max ${max} exceed the ${slots} entries the node holds`);
    if (d > MAX_DEPTH || (depth !== undefined && d !== depth)) throw ctx.corrupt(what, at, `eh_depth ${d} where ${depth ?? `at most ${MAX_DEPTH}`} belongs`);
    let prev = -1;
    for (let i = 0; i < entries; i++) {
      const o = EH + i * ExtentLeaf.size;
      if (d === 0) {
        const e = ExtentLeaf.decode(node, o);
        const lblk = e.ee_block as number;
        let len = e.ee_len as number;
        const unwritten = len > MAX_EXTENT_LEN;
        if (unwritten) len -= MAX_EXTENT_LEN;
        const pblk = e.ee_start as number;
        if (lblk <= prev) throw ctx.corrupt(what, at + o, `extent ${i} starts at logical block ${lblk}, not after the previous one`);
        prev = lblk;
        if (len === 0 || lblk >= maxLblk) continue;
        if (pblk + len > ctx.blocksCount || pblk === 0) throw ctx.corrupt(what, at + o, `extent ${i} maps blocks ${pblk}..${pblk + len - 1}, outside the ${ctx.blocksCount} blocks of the filesystem`);
        runs.push({ lblk, pblk, len: Math.min(len, maxLblk - lblk), unwritten });
      } else {
        const e = ExtentIndex.decode(node, o);
        const lblk = e.ei_block as number;
        const child = e.ei_leaf as number;
        if (lblk <= prev && i > 0) throw ctx.corrupt(what, at + o, `index ${i} starts at logical block ${lblk}, not after the previous one`);
        prev = lblk;
        if (lblk >= maxLblk) continue;
        if (child === 0 || child >= ctx.blocksCount) throw ctx.corrupt(what, at + o, `index ${i} points to block ${child}, outside the filesystem`);
        if (visited.has(child)) throw ctx.corrupt(what, at + o, `index ${i} points to extent block ${child} a second time`);
        visited.add(child);
        walk(ctx.block(child, 'ext4 extent block'), child * ctx.blockSize, 'ext4 extent block', d - 1, (ctx.blockSize - EH) / ExtentLeaf.size);
      }
    }
  };
  walk(iblock, iblockAt, 'ext4 inode extent root', undefined, 4);
  return checked(ctx, runs, iblockAt);
}

/** Sort by logical block and refuse overlaps (two runs for one block). */
function checked(ctx: MapContext, runs: BlockRun[], at: number): BlockRun[] {
  runs.sort((a, b) => a.lblk - b.lblk);
  for (let i = 1; i < runs.length; i++) {
    const p = runs[i - 1]!, r = runs[i]!;
    if (r.lblk < p.lblk + p.len) throw ctx.corrupt('ext4 inode block mapping', at, `logical block ${r.lblk} is mapped twice`);
  }
  return runs;
}

/**
 * The runs of an ext2/ext3 block map (i_block[0..11] direct, [12] indirect, [13] double, [14]
 * triple indirect) for a file of `maxLblk` blocks.
 */
export function blockMapRuns(ctx: MapContext, iblock: Uint8Array, iblockAt: number, maxLblk: number): BlockRun[] {
  const B = ctx.blockSize, per = B / 4;
  const runs: BlockRun[] = [];
  const visited = new Set<number>();
  const add = (lblk: number, pblk: number, at: number): void => {
    if (pblk >= ctx.blocksCount) throw ctx.corrupt('ext4 block map', at, `logical block ${lblk} maps to block ${pblk}, outside the ${ctx.blocksCount} blocks of the filesystem`);
    const last = runs[runs.length - 1];
    if (last && last.lblk + last.len === lblk && last.pblk + last.len === pblk) last.len++;
    else runs.push({ lblk, pblk, len: 1, unwritten: false });
  };
  const dv = new DataView(iblock.buffer, iblock.byteOffset, iblock.byteLength);
  for (let i = 0; i < 12 && i < maxLblk; i++) {
    const p = dv.getUint32(i * 4, true);
    if (p) add(i, p, iblockAt + i * 4);
  }
  /** Pointer block `pblk` at `level` (1: it points to data) covering logical blocks from `first`. */
  const indirect = (pblk: number, level: number, first: number, at: number): void => {
    if (pblk >= ctx.blocksCount) throw ctx.corrupt('ext4 block map', at, `indirect block ${pblk} is outside the filesystem`);
    if (visited.has(pblk)) throw ctx.corrupt('ext4 block map', at, `indirect block ${pblk} is named a second time`);
    visited.add(pblk);
    const b = ctx.block(pblk, 'ext4 indirect block');
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const span = per ** (level - 1);
    for (let i = 0; i < per; i++) {
      const lblk = first + i * span;
      if (lblk >= maxLblk) break;
      const p = v.getUint32(i * 4, true);
      if (!p) continue;
      if (level === 1) add(lblk, p, pblk * B + i * 4);
      else indirect(p, level - 1, lblk, pblk * B + i * 4);
    }
  };
  let first = 12;
  for (let level = 1; level <= 3 && first < maxLblk; level++) {
    const p = dv.getUint32((11 + level) * 4, true);
    if (p) indirect(p, level, first, iblockAt + (11 + level) * 4);
    first += per ** level;
  }
  return runs;
}
