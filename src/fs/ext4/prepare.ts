/**
 * ext4 planning, phase 1 (see index.ts): number inodes in tree order and encode everything that
 * does not depend on the size — directories (linear or htree), xattr placement, the data ranges of
 * sparse files. The result is reused by every sizing attempt.
 */
import { knownDataRanges } from '../../extent/content.js';
import { closeSync } from 'node:fs';
import { DiskwrightError } from '../../errors.js';
import { dataRegions } from '../../extent/holes.js';
import { openInput, readInput } from '../../extent/read.js';
import { walkTree, type Tree, type TreeNode } from '../../tree/model.js';
import { crc32cUpdate } from './checksum.js';
import { buildDirectory, FT, type DirChild } from './dir.js';
import { NO_BLOCKS, NO_EXTENTS, type MappedExtent } from './extent.js';
import { seedWords } from './htree.js';
import { inodeCsumSeed } from './inode.js';
import type { Range } from './layout.js';
import { BlockSlab } from './slab.js';
import { placeXattrs, toRecord, type XattrRecord } from './xattr.js';

export interface Ext4Settings {
  blockSize: number;
  journal: boolean;
  /** Explicit journal length in blocks (else scaled like mke2fs). */
  journalBlocks?: number | undefined;
  inodeCount?: number | undefined;
  bytesPerInode: number;
  reservedPercent: number;
  resizeInode: boolean;
  label: Uint8Array;
  uuid: Uint8Array;
  hashSeed: Uint8Array;
  /** Filesystem-level times (mkfs, write, check): the epoch or 0. */
  fsTime: number;
  /** Spec path for errors. */
  specPath: string;
}

export const ROOT_INO = 2;
export const RESIZE_INO = 7;
export const JOURNAL_INO = 8;
export const LPF_INO = 11;
export const FIRST_INO = 11;
const MAX_LINKS = 65000;

/** One inode to write. */
export interface Rec {
  ino: number;
  node: TreeNode;
  links: number;
  /** Directories: encoded blocks in logical order. */
  dirBlocks?: Uint8Array[];
  indexed?: boolean;
  /** Regular files: logical block ranges holding data (holes between them). */
  dataRanges?: readonly Range[];
  ibody: XattrRecord[];
  xblock: XattrRecord[];
  // Filled by allocate():
  extents: readonly MappedExtent[];
  treeBlocks: readonly number[];
  xattrBlock: number;
}

export interface Prepared {
  settings: Ext4Settings;
  /** Records by inode number (root, lost+found, then 12...). */
  recs: Rec[];
  lastIno: number;
  /** Blocks the contents need before extent-tree blocks (for the first size estimate). */
  contentBlocks: number;
}

const FILE_TYPE: Record<TreeNode['kind'], number> = {
  file: FT.file, dir: FT.dir, char: FT.char, block: FT.block, fifo: FT.fifo, socket: FT.socket, symlink: FT.symlink,
};

/** lost+found as mke2fs makes it: grown until 16 KiB and at least 2 blocks, at most 12 blocks. */
function lostFoundBlocks(blockSize: number): number {
  let blocks = 1;
  let size = 0;
  for (let i = 1; i < 12; i++) {
    size += blockSize;
    if (size >= 16 * 1024 && size >= 2 * blockSize) break;
    blocks++;
  }
  return blocks;
}

/** Byte ranges (sorted) as the block ranges that cover them, merged: a nested volume's holes stay holes. */
function blockRanges(bytes: readonly { start: number; end: number }[], B: number): Range[] {
  const out: Range[] = [];
  for (const r of bytes) {
    const start = Math.floor(r.start / B), end = Math.ceil(r.end / B);
    const last = out[out.length - 1];
    if (last && start <= last.end) last.end = Math.max(last.end, end);
    else out.push({ start, end });
  }
  return out;
}

/**
 * Logical block ranges of a sparse file that hold non-zero data. Only the regions the file system
 * says hold data are read (extent/holes.ts: SEEK_DATA/SEEK_HOLE; every byte where it cannot say),
 * block-aligned from the file's start, so the answer is the one a read of every byte gives.
 */
function scanDataRanges(path: string | Buffer, offset: number, size: number, blockSize: number): Range[] {
  const ranges: Range[] = [];
  const chunk = Buffer.alloc(1 << 20);
  const zero = Buffer.alloc(blockSize);
  const zeroChunk = Buffer.alloc(chunk.length);
  const regions = dataRegions(path, offset + size);
  const windows = regions
    ? regions.map((r) => ({ start: Math.max(0, r.start - offset), end: Math.min(size, r.end - offset) })).filter((w) => w.end > w.start)
    : [{ start: 0, end: size }];
  const fd = openInput(path);
  try {
    let done = 0;
    for (const w of windows) {
      let pos = Math.max(done, Math.floor(w.start / blockSize) * blockSize);
      const stop = Math.min(size, Math.ceil(w.end / blockSize) * blockSize);
      while (pos < stop) {
        const want = Math.min(chunk.length, stop - pos);
        let got = 0;
        while (got < want) {
          const n = readInput(fd, path, chunk, got, want - got, offset + pos + got);
          if (n === 0) throw new DiskwrightError('E_INPUT_CHANGED', `input file ${path} is shorter than its ${size} bytes`, { value: path });
          got += n;
        }
        // Holes read back as zeros: test the whole chunk first, then its blocks.
        if (want === chunk.length && chunk.equals(zeroChunk)) { pos += want; continue; }
        for (let at = 0; at < want; at += blockSize) {
          const end = Math.min(at + blockSize, want);
          const isZero = end - at === blockSize ? chunk.subarray(at, end).equals(zero) : chunk.subarray(at, end).equals(zero.subarray(0, end - at));
          if (isZero) continue;
          const lblk = (pos + at) / blockSize;
          const top = ranges[ranges.length - 1];
          if (top && top.end === lblk) top.end++; else ranges.push({ start: lblk, end: lblk + 1 });
        }
        pos += want;
      }
      done = Math.max(done, stop);
    }
  } finally {
    closeSync(fd);
  }
  return ranges;
}

function synthLostFound(time: number): TreeNode {
  const t = { sec: time, nsec: 0 };
  return { name: Buffer.from('lost+found'), kind: 'dir', mode: 0o700, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], size: 0, children: [] };
}

const NONE: XattrRecord[] = [];
const NO_RANGES: readonly Range[] = Object.freeze([]);
/** The ranges of files without holes, shared by size (read-only after preparing): one list per block count below 64. */
const WHOLE: (readonly Range[])[] = [];
function wholeFile(blocks: number): readonly Range[] {
  if (blocks >= 64) return [{ start: 0, end: blocks }];
  return (WHOLE[blocks] ??= Object.freeze([Object.freeze({ start: 0, end: blocks })]));
}

/** The path of `node` in `tree`, for an error message (a walk: errors only). */
function pathOf(tree: Tree, node: TreeNode): string {
  let found = node.name.toString();
  walkTree(tree, (n, p) => { if (n === node) found = p.toString(); });
  return found;
}

/** Number inodes in tree order and encode everything that does not depend on the layout. */
export function prepare(tree: Tree, s: Ext4Settings): Prepared {
  const B = s.blockSize;
  const seedW = seedWords(s.hashSeed);
  const recs: Rec[] = [];
  const byLink = new Map<number, Rec>();
  let next = FIRST_INO + 1;
  const newRec = (ino: number, node: TreeNode): Rec => {
    const rec: Rec = { ino, node, links: 1, ibody: NONE, xblock: NONE, extents: NO_EXTENTS, treeBlocks: NO_BLOCKS, xattrBlock: -1 };
    recs[ino] = rec;
    return rec;
  };

  const rootKids = tree.root.children ?? [];
  const lpfNode = rootKids.find((c) => c.name.equals(Buffer.from('lost+found')));
  if (lpfNode && lpfNode.kind !== 'dir') {
    throw new DiskwrightError('E_EXT4_LOST_FOUND', '/lost+found must be a directory on ext4', { path: s.specPath, value: lpfNode.kind });
  }

  // Pass 1: inode numbers, pre-order (root 2, lost+found 11, the rest from 12): a directory's
  // children are numbered when it is reached, then its subdirectories are entered in order. An
  // explicit stack (a deep tree cannot exhaust the call stack); per inode number, the parent
  // directory's and a directory's entries (plain arrays indexed by inode number, not maps).
  const parentIno: number[] = [];
  const entriesOf: DirChild[][] = [];
  const root = newRec(ROOT_INO, tree.root);
  parentIno[ROOT_INO] = ROOT_INO;
  if (!lpfNode) { newRec(LPF_INO, synthLostFound(s.fsTime)); parentIno[LPF_INO] = ROOT_INO; }
  const pending: Rec[] = [root];
  while (pending.length) {
    const rec = pending.pop()!;
    const entries: DirChild[] = [];
    const subdirs: Rec[] = [];
    if (rec.ino === ROOT_INO && !lpfNode) entries.push({ name: recs[LPF_INO]!.node.name, ino: LPF_INO, fileType: FT.dir });
    for (const child of rec.node.children ?? []) {
      let crec: Rec;
      if (rec.ino === ROOT_INO && child === lpfNode) crec = newRec(LPF_INO, child);
      else if (child.linkId !== undefined && byLink.has(child.linkId)) { crec = byLink.get(child.linkId)!; crec.links++; }
      else {
        crec = newRec(next++, child);
        if (child.linkId !== undefined) byLink.set(child.linkId, crec);
      }
      entries.push({ name: child.name, ino: crec.ino, fileType: FILE_TYPE[child.kind] });
      if (child.kind === 'dir') { parentIno[crec.ino] = rec.ino; subdirs.push(crec); }
    }
    if (rec.ino === ROOT_INO && !lpfNode) entries.sort((a, b) => Buffer.compare(a.name, b.name));
    entriesOf[rec.ino] = entries;
    for (let i = subdirs.length - 1; i >= 0; i--) pending.push(subdirs[i]!);
  }
  const lastIno = next - 1;

  // Pass 2: contents.
  let contentBlocks = 0;
  const csumSeed = crc32cUpdate(0xffffffff, s.uuid);
  const slab = new BlockSlab();
  for (let ino = ROOT_INO; ino <= lastIno; ino++) {
    const rec = recs[ino];
    if (!rec) continue;
    const node = rec.node;
    const what = (): string => `${s.specPath}: ${pathOf(tree, node)} (inode ${ino})`;
    if (node.xattrs.length) {
      const placed = placeXattrs(node.xattrs.map((x) => toRecord(x, what)), B, what);
      rec.ibody = placed.ibody;
      rec.xblock = placed.block;
      if (rec.xblock.length) contentBlocks++;
    }
    const iseed = node.kind === 'dir' ? inodeCsumSeed(csumSeed, ino, 0) : 0;
    switch (node.kind) {
      case 'dir': {
        const entries = entriesOf[ino] ?? [];
        let subdirs = 0;
        for (const e of entries) if (e.fileType === FT.dir) subdirs++;
        const min = ino === LPF_INO ? lostFoundBlocks(B) : 1;
        let layout;
        try {
          layout = buildDirectory(ino, parentIno[ino] ?? ROOT_INO, entries, B, seedW, iseed, min, slab);
        } catch (e) {
          throw new DiskwrightError('E_EXT4_DIR_TOO_LARGE', `${what()}: ${(e as Error).message}`, { path: s.specPath, value: entries.length });
        }
        rec.dirBlocks = layout.blocks;
        rec.indexed = layout.indexed;
        rec.links = 2 + subdirs > MAX_LINKS ? 1 : 2 + subdirs;
        contentBlocks += layout.blocks.length;
        break;
      }
      case 'file': {
        const size = node.size;
        const nblocks = Math.ceil(size / B);
        if (size === 0) rec.dataRanges = NO_RANGES;
        else if (node.sparse && node.content?.kind === 'file') rec.dataRanges = scanDataRanges(node.content.path, node.content.offset, size, B);
        else if (node.content?.kind === 'volume') rec.dataRanges = blockRanges(knownDataRanges(node.content)!, B);
        else rec.dataRanges = wholeFile(nblocks);
        if (nblocks > 2 ** 32 - 1) throw new DiskwrightError('E_EXT4_FILE_TOO_LARGE', `${what()}: ${size} bytes exceed ext4's 2^32 blocks per file`, { path: s.specPath, value: size });
        for (const r of rec.dataRanges) contentBlocks += r.end - r.start;
        break;
      }
      case 'symlink': {
        const target = node.symlinkTarget ?? Buffer.alloc(0);
        if (target.length >= B) throw new DiskwrightError('E_EXT4_SYMLINK', `${what()}: symlink target of ${target.length} bytes does not fit a ${B}-byte block`, { path: s.specPath, value: target.length });
        if (target.length >= 60) contentBlocks++;
        break;
      }
      default:
        break;
    }
  }
  return { settings: s, recs, lastIno, contentBlocks };
}
