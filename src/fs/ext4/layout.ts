/**
 * Filesystem geometry for a given block count (ext4 docs blockgroup.rst "Layout", "Flexible Block Groups"):
 * groups, inodes per group, where each group's superblock backup, descriptors, reserved GDT blocks,
 * bitmaps and inode table go; and a block allocator over what is left, in block order.
 */
export interface Range {
  start: number;
  end: number;
}

/** Groups per flex group (mke2fs default -G 16): bitmaps and inode tables packed at its start. */
export const FLEX_GROUPS = 16;
export const LOG_FLEX_GROUPS = 4;
export const DESC_SIZE = 64;

/** sparse_super: group 0, 1 and powers of 3, 5 and 7 carry superblock and descriptor backups. */
export function hasSuper(group: number): boolean {
  if (group <= 1) return true;
  for (const base of [3, 5, 7]) {
    let p = base;
    while (p < group) p *= base;
    if (p === group) return true;
  }
  return false;
}

export interface GeometryInput {
  blockSize: number;
  blocksCount: number;
  /** Inodes wanted in total (rounded up to whole inode-table blocks per group). */
  inodes: number;
  /** Keep reserved GDT blocks for growth (resize_inode). */
  resizeInode: boolean;
  inodeSize: number;
}

export interface Geometry {
  blockSize: number;
  firstDataBlock: number;
  blocksCount: number;
  blocksPerGroup: number;
  groups: number;
  inodesPerGroup: number;
  inodeTableBlocks: number;
  gdtBlocks: number;
  reservedGdtBlocks: number;
  blockBitmap: number[];
  inodeBitmap: number[];
  inodeTable: number[];
  /** Every block the layout itself uses (backups, bitmaps, inode tables), sorted and merged. */
  metadata: Range[];
}

export type GeometryResult = { ok: true; geo: Geometry } | { ok: false; reason: 'inodes' | 'space' | 'blocks'; message: string };

export function groupStart(geo: Pick<Geometry, 'firstDataBlock' | 'blocksPerGroup'>, g: number): number {
  return geo.firstDataBlock + g * geo.blocksPerGroup;
}

/** Blocks in the superblock/descriptor area of a group with a backup. */
export function superAreaBlocks(geo: Pick<Geometry, 'gdtBlocks' | 'reservedGdtBlocks'>): number {
  return 1 + geo.gdtBlocks + geo.reservedGdtBlocks;
}

/** mke2fs calc_reserved_gdt_blocks: room to grow to 1024× (or 2^32 blocks), capped at one block of pointers. */
function reservedGdt(blocksCount: number, firstDataBlock: number, bpg: number, descPerBlock: number, gdtBlocks: number, blockSize: number): number {
  let maxBlocks = 0xffffffff;
  if (blocksCount < maxBlocks / 1024) maxBlocks = blocksCount * 1024;
  const rsvGroups = Math.ceil((maxBlocks - firstDataBlock) / bpg);
  const rsv = Math.ceil(rsvGroups / descPerBlock) - gdtBlocks;
  return Math.max(0, Math.min(rsv, blockSize / 4));
}

/**
 * The smallest last group we keep (mke2fs drops a last group too small to be useful); returns the
 * block count adjusted down (fixed sizes) or up (auto sizes) to avoid such a group.
 */
export function adjustBlocks(blocksCount: number, blockSize: number, up: boolean): number {
  const fdb = blockSize === 1024 ? 1 : 0;
  const bpg = blockSize * 8;
  const groups = Math.ceil((blocksCount - fdb) / bpg);
  const rem = (blocksCount - fdb) % bpg;
  const minLast = 1 + Math.ceil(groups / (blockSize / DESC_SIZE)) + blockSize / 4 + 50;
  if (groups > 1 && rem !== 0 && rem < minLast) return up ? blocksCount - rem + minLast : blocksCount - rem;
  return blocksCount;
}

export function computeGeometry(input: GeometryInput): GeometryResult {
  const B = input.blockSize;
  const fdb = B === 1024 ? 1 : 0;
  const bpg = B * 8;
  const N = input.blocksCount;
  if (N > 2 ** 32 - 1) return { ok: false, reason: 'blocks', message: `${N} blocks exceed 2^32` };
  const groups = Math.ceil((N - fdb) / bpg);
  if (groups < 1 || N < 64) return { ok: false, reason: 'space', message: 'too few blocks' };
  const descPerBlock = B / DESC_SIZE;
  const gdtBlocks = Math.ceil(groups / descPerBlock);
  const rsv = input.resizeInode ? reservedGdt(N, fdb, bpg, descPerBlock, gdtBlocks, B) : 0;
  const perItb = B / input.inodeSize;
  const step = Math.max(8, perItb);
  let ipg = Math.ceil(Math.max(input.inodes, 16) / groups);
  ipg = Math.max(16, Math.ceil(ipg / step) * step);
  if (ipg > 8 * B) return { ok: false, reason: 'inodes', message: `${input.inodes} inodes need more than ${8 * B} per group` };
  if (ipg * groups > 0xffffffff) return { ok: false, reason: 'inodes', message: 'more than 2^32 inodes' };
  const itb = (ipg * input.inodeSize) / B;

  const supers: Range[] = [];
  for (let g = 0; g < groups; g++) {
    if (hasSuper(g)) {
      const s = fdb + g * bpg;
      supers.push({ start: s, end: s + 1 + gdtBlocks + rsv });
    }
  }
  const last = supers[supers.length - 1]!;
  if (last.end > N) return { ok: false, reason: 'space', message: 'last group too small for its backup' };

  // Skip forward past any superblock area that [pos, pos + n) would overlap.
  const place = (pos: number, n: number): number => {
    for (const r of supers) {
      if (pos < r.end && pos + n > r.start) pos = r.end;
    }
    return pos;
  };
  const blockBitmap: number[] = new Array(groups);
  const inodeBitmap: number[] = new Array(groups);
  const inodeTable: number[] = new Array(groups);
  const meta: Range[] = [...supers];
  for (let g0 = 0; g0 < groups; g0 += FLEX_GROUPS) {
    const g1 = Math.min(groups, g0 + FLEX_GROUPS);
    let cursor = fdb + g0 * bpg;
    const take = (n: number): number => {
      const at = place(cursor, n);
      cursor = at + n;
      meta.push({ start: at, end: at + n });
      return at;
    };
    for (let g = g0; g < g1; g++) blockBitmap[g] = take(1);
    for (let g = g0; g < g1; g++) inodeBitmap[g] = take(1);
    for (let g = g0; g < g1; g++) inodeTable[g] = take(itb);
    if (cursor > N) return { ok: false, reason: 'space', message: 'inode tables do not fit' };
  }
  return {
    ok: true,
    geo: {
      blockSize: B, firstDataBlock: fdb, blocksCount: N, blocksPerGroup: bpg, groups, inodesPerGroup: ipg, inodeTableBlocks: itb,
      gdtBlocks, reservedGdtBlocks: rsv, blockBitmap, inodeBitmap, inodeTable, metadata: mergeRanges(meta),
    },
  };
}

export function mergeRanges(ranges: Range[]): Range[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: Range[] = [];
  for (const r of sorted) {
    const top = out[out.length - 1];
    if (top && r.start <= top.end) top.end = Math.max(top.end, r.end);
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/**
 * Hands out free blocks in increasing order, around the layout's metadata. When space runs out
 * it keeps counting (`overflow`) so the sizer learns how many blocks are missing.
 */
export class BlockAllocator {
  private gap = 0;
  private cursor: number;
  private readonly gaps: Range[] = [];
  /** Allocated runs, in allocation (= block) order, merged when adjacent. */
  readonly runs: Range[] = [];
  allocated = 0;
  overflow = 0;

  constructor(used: readonly Range[], firstBlock: number, blocksCount: number) {
    let pos = firstBlock;
    for (const r of used) {
      if (r.start > pos) this.gaps.push({ start: pos, end: r.start });
      pos = Math.max(pos, r.end);
    }
    if (pos < blocksCount) this.gaps.push({ start: pos, end: blocksCount });
    this.cursor = this.gaps[0]?.start ?? blocksCount;
  }

  /** Allocate `n` blocks as one or more runs in block order; runs past the end have start -1. */
  alloc(n: number): Range[] {
    const out: Range[] = [];
    while (n > 0) {
      const start = this.next(n);
      out.push({ start, end: start + this.taken });
      n -= this.taken;
    }
    return out;
  }

  /** Length of the run the last `next` returned. */
  taken = 0;

  /**
   * Allocate the first run of at most `n` (> 0) blocks: returns its start and sets `taken` to its
   * length (the run ends at a metadata area or at `n`). Past the end of the filesystem, the rest is
   * counted in `overflow` and returned as one run starting at -1. The per-file path: no objects.
   */
  next(n: number): number {
    for (;;) {
      const g = this.gaps[this.gap];
      if (!g) { this.overflow += n; this.taken = n; return -1; }
      if (this.cursor >= g.end) { this.gap++; this.cursor = this.gaps[this.gap]?.start ?? 0; continue; }
      const take = Math.min(n, g.end - this.cursor);
      const start = this.cursor;
      const top = this.runs[this.runs.length - 1];
      if (top && top.end === start) top.end = start + take; else this.runs.push({ start, end: start + take });
      this.cursor += take;
      this.allocated += take;
      this.taken = take;
      return start;
    }
  }
}
