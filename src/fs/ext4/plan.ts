/**
 * The ext4 planner: from a Tree to every block of the filesystem, as a Volume (DESIGN.md §2).
 * Three phases: `prepare` numbers inodes in tree order and encodes directories and xattrs (work
 * that does not depend on the size), `allocate` lays the filesystem out for a block count (run
 * repeatedly by the sizer), and `encode` builds the metadata buffers and data extents.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DiskwrightError } from '../../errors.js';
import { VolumeBuilder, type Volume } from '../../extent/extent.js';
import { fullMode, type Tree, type TreeNode } from '../../tree/model.js';
import { crc32cUpdate } from './checksum.js';
import { buildDirectory, FT, type DirChild } from './dir.js';
import { encodeExtentTree, extentTreeBlocks, MAX_EXTENT_LEN, type MappedExtent } from './extent.js';
import { BG_INODE_UNINIT, BG_ITABLE_ZEROED, bitmapCsum, encodeGroupDesc, setBits } from './group.js';
import { seedWords } from './htree.js';
import {
  encodeTime, EXT4_EXTENTS_FL, I_BLOCK, writeInodeValues, EXT4_INDEX_FL, EXTRA_ISIZE, Inode, INODE_SIZE, inodeCsumSeed, sealInode,
} from './inode.js';
import { defaultJournalBlocks, encodeJournalSuperblock } from './journal.js';
import {
  adjustBlocks, BlockAllocator, computeGeometry, DESC_SIZE, groupStart, hasSuper, LOG_FLEX_GROUPS, mergeRanges,
  type Geometry, type Range,
} from './layout.js';
import { DIND_BLOCK, resizeInodeLayout } from './resize.js';
import { BlockSlab } from './slab.js';
import {
  COMPAT_DIR_INDEX, COMPAT_EXT_ATTR, COMPAT_HAS_JOURNAL, COMPAT_RESIZE_INODE, DEFM_XATTR_USER_ACL, EXT4_SUPER_MAGIC,
  FLAGS_UNSIGNED_HASH, INCOMPAT_64BIT, INCOMPAT_EXTENTS, INCOMPAT_FILETYPE, INCOMPAT_FLEX_BG, RO_COMPAT_DIR_NLINK,
  RO_COMPAT_EXTRA_ISIZE, RO_COMPAT_HUGE_FILE, RO_COMPAT_LARGE_FILE, RO_COMPAT_METADATA_CSUM, RO_COMPAT_SPARSE_SUPER,
  sealSuperblock, Superblock,
} from './superblock.js';
import { encodeXattrBlock, placeXattrs, toRecord, writeIbodyXattrs, type XattrRecord } from './xattr.js';

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

const ROOT_INO = 2;
const RESIZE_INO = 7;
const JOURNAL_INO = 8;
const LPF_INO = 11;
const FIRST_INO = 11;
const MAX_LINKS = 65000;

/** One inode to write. */
interface Rec {
  ino: number;
  node: TreeNode;
  links: number;
  /** Directories: encoded blocks in logical order. */
  dirBlocks?: Uint8Array[];
  indexed?: boolean;
  /** Regular files: logical block ranges holding data (holes between them). */
  dataRanges?: Range[];
  ibody: XattrRecord[];
  xblock: XattrRecord[];
  // Filled by allocate():
  extents: MappedExtent[];
  treeBlocks: number[];
  xattrBlock: number;
}

export interface Prepared {
  settings: Ext4Settings;
  /** Records by inode number (root, lost+found, then 12...). */
  recs: Rec[];
  lastIno: number;
  /** Blocks the contents need before extent-tree blocks (for the first size estimate). */
  contentBlocks: number;
  fileSizes: Map<string, number>;
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

const pathText = (p: string | Buffer): string => (typeof p === 'string' ? p : p.toString());

/** Logical block ranges of a sparse file that hold non-zero data (reading holes is cheap). */
function scanDataRanges(path: string, offset: number, size: number, blockSize: number): Range[] {
  const ranges: Range[] = [];
  const chunk = Buffer.alloc(1 << 20);
  const zero = Buffer.alloc(blockSize);
  const zeroChunk = Buffer.alloc(chunk.length);
  const fd = openSync(path, 'r');
  try {
    let pos = 0;
    while (pos < size) {
      const want = Math.min(chunk.length, size - pos);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, chunk, got, want - got, offset + pos + got);
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
  } finally {
    closeSync(fd);
  }
  return ranges;
}

function synthLostFound(time: number): TreeNode {
  const t = { sec: time, nsec: 0 };
  return { name: Buffer.from('lost+found'), kind: 'dir', mode: 0o700, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], size: 0, children: [] };
}

/** Number inodes in tree order and encode everything that does not depend on the layout. */
export function prepare(tree: Tree, s: Ext4Settings): Prepared {
  const B = s.blockSize;
  const seedW = seedWords(s.hashSeed);
  const recs: Rec[] = [];
  const byLink = new Map<number, Rec>();
  let next = FIRST_INO + 1;
  const newRec = (ino: number, node: TreeNode): Rec => {
    const rec: Rec = { ino, node, links: 1, ibody: [], xblock: [], extents: [], treeBlocks: [], xattrBlock: -1 };
    recs[ino] = rec;
    return rec;
  };

  const rootKids = tree.root.children ?? [];
  const lpfNode = rootKids.find((c) => c.name.equals(Buffer.from('lost+found')));
  if (lpfNode && lpfNode.kind !== 'dir') {
    throw new DiskwrightError('E_EXT4_LOST_FOUND', '/lost+found must be a directory on ext4', { path: s.specPath, value: lpfNode.kind });
  }

  // Pass 1: inode numbers, pre-order (root 2, lost+found 11, the rest from 12).
  const parentOf = new Map<Rec, Rec>();
  const childRecs = new Map<Rec, { node: TreeNode; rec: Rec }[]>();
  const visit = (node: TreeNode, rec: Rec): void => {
    const kids: { node: TreeNode; rec: Rec }[] = [];
    if (rec.ino === ROOT_INO && !lpfNode) kids.push({ node: recs[LPF_INO]!.node, rec: recs[LPF_INO]! });
    for (const child of node.children ?? []) {
      let crec: Rec;
      if (rec.ino === ROOT_INO && child === lpfNode) crec = newRec(LPF_INO, child);
      else if (child.linkId !== undefined && byLink.has(child.linkId)) { crec = byLink.get(child.linkId)!; crec.links++; }
      else {
        crec = newRec(next++, child);
        if (child.linkId !== undefined) byLink.set(child.linkId, crec);
      }
      kids.push({ node: child, rec: crec });
    }
    if (rec.ino === ROOT_INO && !lpfNode) kids.sort((a, b) => Buffer.compare(a.node.name, b.node.name));
    childRecs.set(rec, kids);
    for (const k of kids) {
      if (k.node.kind !== 'dir' || (k.rec.ino === LPF_INO && !lpfNode)) continue;
      parentOf.set(k.rec, rec);
      visit(k.node, k.rec);
    }
  };
  const root = newRec(ROOT_INO, tree.root);
  if (!lpfNode) { newRec(LPF_INO, synthLostFound(s.fsTime)); parentOf.set(recs[LPF_INO]!, root); }
  parentOf.set(root, root);
  visit(tree.root, root);
  const lastIno = next - 1;

  // Pass 2: contents.
  let contentBlocks = 0;
  const csumSeed = crc32cUpdate(0xffffffff, s.uuid);
  const slab = new BlockSlab();
  const fileSizes = new Map<string, number>();
  for (let ino = ROOT_INO; ino <= lastIno; ino++) {
    const rec = recs[ino];
    if (!rec) continue;
    const node = rec.node;
    const what = (): string => `${s.specPath}: inode ${ino} (${node.name.toString()})`;
    if (node.xattrs.length) {
      const placed = placeXattrs(node.xattrs.map((x) => toRecord(x, what())), B, what());
      rec.ibody = placed.ibody;
      rec.xblock = placed.block;
      if (rec.xblock.length) contentBlocks++;
    }
    const iseed = node.kind === 'dir' ? inodeCsumSeed(csumSeed, ino, 0) : 0;
    switch (node.kind) {
      case 'dir': {
        const kids = childRecs.get(rec) ?? [];
        let subdirs = 0;
        const entries: DirChild[] = kids.map((k) => {
          if (k.node.kind === 'dir') subdirs++;
          return { name: k.node.name, ino: k.rec.ino, fileType: FILE_TYPE[k.node.kind] };
        });
        const min = ino === LPF_INO ? lostFoundBlocks(B) : 1;
        const parent = parentOf.get(rec) ?? root;
        let layout;
        try {
          layout = buildDirectory(ino, parent.ino, entries, B, seedW, iseed, min, slab);
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
        if (size === 0) rec.dataRanges = [];
        else if (node.sparse && node.content?.kind === 'file') rec.dataRanges = scanDataRanges(pathText(node.content.path), node.content.offset, size, B);
        else rec.dataRanges = [{ start: 0, end: nblocks }];
        if (nblocks > 2 ** 32 - 1) throw new DiskwrightError('E_EXT4_FILE_TOO_LARGE', `${what()}: ${size} bytes exceed ext4's 2^32 blocks per file`, { path: s.specPath, value: size });
        for (const r of rec.dataRanges) contentBlocks += r.end - r.start;
        if (node.content?.kind === 'file') {
          const p = pathText(node.content.path);
          if (!fileSizes.has(p)) fileSizes.set(p, node.content.offset === 0 ? node.content.size : statSize(p));
        }
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
  return { settings: s, recs, lastIno, contentBlocks, fileSizes };
}

function statSize(path: string): number {
  const fd = openSync(path, 'r');
  try { return fstatSync(fd).size; } finally { closeSync(fd); }
}

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

/** Map `n` logical blocks starting at `lblk` onto runs, appending (and merging) extents. */
function mapRuns(extents: MappedExtent[], runs: readonly Range[], lblk: number): void {
  let l = lblk;
  for (const r of runs) {
    let p = r.start;
    let left = r.end - r.start;
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

/** Extents a list of runs becomes (each run split at MAX_EXTENT_LEN; runs never touch). */
function extentCount(runs: readonly Range[]): number {
  let n = 0;
  for (const r of runs) n += Math.ceil((r.end - r.start) / MAX_EXTENT_LEN);
  return n;
}

/**
 * Lay out the prepared tree on `blocksCount` blocks. A `dry` run (the sizer's) only counts blocks
 * and leaves the records alone.
 */
export function allocate(p: Prepared, blocksCount: number, freeWanted: number, dry = false): Allocation | { inodesShort: number } {
  const s = p.settings;
  const B = s.blockSize;
  const inodes = s.inodeCount ?? Math.max(Math.floor((blocksCount * B) / s.bytesPerInode), p.lastIno);
  const g = computeGeometry({ blockSize: B, blocksCount, inodes: Math.max(inodes, p.lastIno), resizeInode: s.resizeInode, inodeSize: INODE_SIZE });
  if (!g.ok) {
    if (g.reason === 'inodes') return { inodesShort: Math.max(inodes, p.lastIno) };
    return { inodesShort: 0 };
  }
  const geo = g.geo;
  const alloc = new BlockAllocator(geo.metadata, geo.firstDataBlock, blocksCount);
  const journalBlocks = s.journal ? (s.journalBlocks ?? defaultJournalBlocks(blocksCount)) : 0;
  const journalExtents: MappedExtent[] = [];
  if (journalBlocks) mapRuns(journalExtents, alloc.alloc(journalBlocks), 0);
  const journalTree = journalBlocks ? alloc.alloc(extentTreeBlocks(journalExtents.length, B)).flatMap(expand) : [];
  const dindBlock = geo.reservedGdtBlocks > 0 ? alloc.alloc(1)[0]!.start : -1;

  for (let ino = ROOT_INO; ino <= p.lastIno; ino++) {
    const rec = p.recs[ino];
    if (!rec) continue;
    const node = rec.node;
    if (dry) {
      let extents = 0;
      if (node.kind === 'dir') extents = extentCount(alloc.alloc(rec.dirBlocks!.length));
      else if (node.kind === 'file') for (const r of rec.dataRanges!) extents += extentCount(alloc.alloc(r.end - r.start));
      else if (node.kind === 'symlink' && (node.symlinkTarget?.length ?? 0) >= 60) extents = extentCount(alloc.alloc(1));
      if (extents > 4) alloc.alloc(extentTreeBlocks(extents, B));
      if (rec.xblock.length) alloc.alloc(1);
      continue;
    }
    rec.extents = [];
    rec.treeBlocks = [];
    rec.xattrBlock = -1;
    if (node.kind === 'dir') mapRuns(rec.extents, alloc.alloc(rec.dirBlocks!.length), 0);
    else if (node.kind === 'file') for (const r of rec.dataRanges!) mapRuns(rec.extents, alloc.alloc(r.end - r.start), r.start);
    else if (node.kind === 'symlink' && (node.symlinkTarget?.length ?? 0) >= 60) mapRuns(rec.extents, alloc.alloc(1), 0);
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

/** Build the volume: metadata buffers and data extents. */
export function encode(p: Prepared, a: Allocation, volumeSize: number): Volume {
  const s = p.settings;
  const B = s.blockSize;
  const geo = a.geo;
  const vb = new VolumeBuilder();
  const csumSeed = crc32cUpdate(0xffffffff, s.uuid);
  const ipg = geo.inodesPerGroup;

  // Inode tables: only the blocks holding used inodes (1..lastIno) are materialised.
  const tables: Uint8Array[] = [];
  for (let gi = 0; gi < geo.groups; gi++) {
    const used = Math.min(Math.max(p.lastIno - gi * ipg, 0), ipg);
    if (used === 0) break;
    tables.push(new Uint8Array(Math.ceil((used * INODE_SIZE) / B) * B));
  }
  const slot = (ino: number): { buf: Uint8Array; at: number } => {
    const idx = ino - 1;
    return { buf: tables[Math.floor(idx / ipg)]!, at: (idx % ipg) * INODE_SIZE };
  };
  const ft = s.fsTime;
  const fsT = { sec: ft, nsec: 0 };

  const views = tables.map((t) => new DataView(t.buffer, t.byteOffset, t.byteLength));
  const writeInode = (ino: number, f: {
    mode: number; uid: number; gid: number; size: number; links: number; sectors: number; flags: number; iblock?: Uint8Array;
    atime: { sec: number; nsec: number }; mtime: { sec: number; nsec: number }; ctime: { sec: number; nsec: number };
    xattrBlock?: number; ibody?: XattrRecord[];
  }, fillBlock?: (buf: Uint8Array, at: number) => void): void => {
    const { buf, at } = slot(ino);
    writeInodeValues(views[Math.floor((ino - 1) / ipg)]!, at, { ...f, fileAcl: f.xattrBlock !== undefined && f.xattrBlock >= 0 ? f.xattrBlock : 0 });
    if (f.iblock) buf.set(f.iblock, at + I_BLOCK);
    fillBlock?.(buf, at + I_BLOCK);
    if (f.ibody?.length) writeIbodyXattrs(buf, at, f.ibody);
    sealInode(buf, at, ino, 0, csumSeed);
  };

  // Reserved inodes 1..10 exist as mke2fs writes them: zeroed with i_extra_isize and a checksum.
  for (let ino = 1; ino < FIRST_INO; ino++) {
    const { buf, at } = slot(ino);
    Inode.encode({ i_extra_isize: EXTRA_ISIZE }, buf, at);
    sealInode(buf, at, ino, 0, csumSeed);
  }

  // Journal (inode 8).
  let jnlIblock: Uint8Array | undefined;
  if (a.journalBlocks) {
    const iseed = inodeCsumSeed(csumSeed, JOURNAL_INO, 0);
    jnlIblock = new Uint8Array(60);
    const blocks = encodeExtentTree(a.journalExtents, a.journalTree, B, iseed, jnlIblock, 0);
    blocks.forEach((blk, i) => vb.addBytes(a.journalTree[i]! * B, blk));
    vb.addBytes(a.journalExtents[0]!.pblk * B, encodeJournalSuperblock(B, a.journalBlocks, s.uuid));
    writeInode(JOURNAL_INO, {
      mode: 0o100600, uid: 0, gid: 0, size: a.journalBlocks * B, links: 1,
      sectors: (a.journalBlocks + a.journalTree.length) * (B / 512), flags: EXT4_EXTENTS_FL, iblock: jnlIblock,
      atime: fsT, mtime: fsT, ctime: fsT,
    });
  }

  // Resize inode (inode 7).
  if (geo.reservedGdtBlocks > 0) {
    const r = resizeInodeLayout(geo, a.dindBlock);
    for (const b of r.blocks) vb.addBytes(b.block * B, b.data);
    const iblock = new Uint8Array(60);
    new DataView(iblock.buffer).setUint32(DIND_BLOCK * 4, a.dindBlock, true);
    writeInode(RESIZE_INO, { mode: 0o100600, uid: 0, gid: 0, size: r.size, links: 1, sectors: r.sectors, flags: 0, iblock, atime: fsT, mtime: fsT, ctime: fsT });
  }

  // The tree's inodes.
  const usedDirs = new Array<number>(geo.groups).fill(0);
  for (let ino = ROOT_INO; ino <= p.lastIno; ino++) {
    const rec = p.recs[ino];
    if (!rec) continue;
    const node = rec.node;
    const iseed = inodeCsumSeed(csumSeed, ino, 0);
    let fill: ((buf: Uint8Array, at: number) => void) | undefined;
    let flags = 0;
    let size = node.size;
    let dataBlocks = 0;
    if (rec.xattrBlock >= 0) vb.addBytes(rec.xattrBlock * B, encodeXattrBlock(rec.xblock, B, rec.xattrBlock, csumSeed));
    const mapped = node.kind === 'dir' || node.kind === 'file' || (node.kind === 'symlink' && (node.symlinkTarget?.length ?? 0) >= 60);
    if (mapped) {
      fill = (buf, at) => {
        const blocks = encodeExtentTree(rec.extents, rec.treeBlocks, B, iseed, buf, at);
        blocks.forEach((blk, i) => vb.addBytes(rec.treeBlocks[i]! * B, blk));
      };
      flags |= EXT4_EXTENTS_FL;
      for (const e of rec.extents) dataBlocks += e.len;
    }
    switch (node.kind) {
      case 'dir': {
        usedDirs[Math.floor((ino - 1) / ipg)]!++;
        const blocks = rec.dirBlocks!;
        for (const e of rec.extents) for (let i = 0; i < e.len; i++) vb.addBytes((e.pblk + i) * B, blocks[e.lblk + i]!);
        size = blocks.length * B;
        if (rec.indexed) flags |= EXT4_INDEX_FL;
        break;
      }
      case 'file': {
        const c = node.content;
        for (const e of rec.extents) {
          const from = e.lblk * B;
          const len = Math.min(e.len * B, node.size - from);
          if (len <= 0) continue;
          if (!c) throw new Error(`ext4: file inode ${ino} has no content`);
          if (c.kind === 'bytes') vb.addBytes(e.pblk * B, c.data.subarray(from, from + len));
          else {
            const path = pathText(c.path);
            vb.addFile(e.pblk * B, path, c.offset + from, len, p.fileSizes.get(path)!);
          }
        }
        break;
      }
      case 'symlink': {
        const target = node.symlinkTarget ?? Buffer.alloc(0);
        size = target.length;
        if (target.length >= 60) vb.addBytes(rec.extents[0]!.pblk * B, target);
        else fill = (buf, at) => buf.set(target, at);
        break;
      }
      case 'char': case 'block': {
        const { major, minor } = node.rdev ?? { major: 0, minor: 0 };
        fill = (buf, at) => {
          const dv = new DataView(buf.buffer, buf.byteOffset + at, 8);
          // fs/ext4/inode.c: old 16-bit encoding in i_block[0] when it fits, else the new one in i_block[1].
          if (major < 256 && minor < 256) dv.setUint32(0, (major << 8) | minor, true);
          else dv.setUint32(4, ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0, true);
        };
        size = 0;
        break;
      }
      default:
        size = 0;
        break;
    }
    const sectors = (dataBlocks + rec.treeBlocks.length + (rec.xattrBlock >= 0 ? 1 : 0)) * (B / 512);
    writeInode(ino, {
      mode: fullMode(node), uid: node.uid, gid: node.gid, size, links: rec.links, sectors, flags,
      atime: node.atime, mtime: node.mtime, ctime: node.ctime, xattrBlock: rec.xattrBlock, ibody: rec.ibody,
    }, fill);
  }
  tables.forEach((t, gi) => vb.addBytes(geo.inodeTable[gi]! * B, t));

  // Block bitmaps from every used range; padding past the end of the filesystem is set.
  const usedRanges = mergeRanges([...geo.metadata, ...a.alloc.runs]);
  const bbm = new Map<number, Uint8Array>();
  const usedInGroup = new Array<number>(geo.groups).fill(0);
  const bpg = geo.blocksPerGroup;
  for (const r of usedRanges) {
    let b = r.start;
    while (b < r.end) {
      const gi = Math.floor((b - geo.firstDataBlock) / bpg);
      const gs = groupStart(geo, gi);
      const e = Math.min(r.end, gs + bpg);
      let bm = bbm.get(gi);
      if (!bm) { bm = new Uint8Array(B); bbm.set(gi, bm); }
      setBits(bm, b - gs, e - gs);
      usedInGroup[gi]! += e - b;
      b = e;
    }
  }
  const lastG = geo.groups - 1;
  const lastLen = geo.blocksCount - groupStart(geo, lastG);
  if (lastLen < bpg) {
    let bm = bbm.get(lastG);
    if (!bm) { bm = new Uint8Array(B); bbm.set(lastG, bm); }
    setBits(bm, lastLen, bpg);
  }
  const zeroBitmapCsum = bitmapCsum(csumSeed, new Uint8Array(B), B);

  // Inode bitmaps: used inodes are the prefix 1..lastIno; bits past inodes_per_group are padding.
  const gdt = new Uint8Array(geo.gdtBlocks * B);
  let freeBlocksTotal = 0;
  let freeInodesTotal = 0;
  for (let gi = 0; gi < geo.groups; gi++) {
    const bm = bbm.get(gi);
    if (bm) vb.addBytes(geo.blockBitmap[gi]! * B, bm);
    const blocksInGroup = gi === lastG ? lastLen : bpg;
    const freeBlocks = blocksInGroup - usedInGroup[gi]!;
    const usedInodes = Math.min(Math.max(p.lastIno - gi * ipg, 0), ipg);
    let inodeCsum = 0;
    let flags = BG_ITABLE_ZEROED;
    if (usedInodes > 0) {
      const ibm = new Uint8Array(B);
      setBits(ibm, 0, usedInodes);
      setBits(ibm, ipg, 8 * B);
      vb.addBytes(geo.inodeBitmap[gi]! * B, ibm);
      inodeCsum = bitmapCsum(csumSeed, ibm, ipg / 8);
    } else {
      flags |= BG_INODE_UNINIT;
    }
    freeBlocksTotal += freeBlocks;
    freeInodesTotal += ipg - usedInodes;
    encodeGroupDesc(gdt, gi * DESC_SIZE, gi, {
      blockBitmap: geo.blockBitmap[gi]!, inodeBitmap: geo.inodeBitmap[gi]!, inodeTable: geo.inodeTable[gi]!,
      freeBlocks, freeInodes: ipg - usedInodes, usedDirs: usedDirs[gi]!, flags,
      blockBitmapCsum: bm ? bitmapCsum(csumSeed, bm, B) : zeroBitmapCsum, inodeBitmapCsum: inodeCsum, itableUnused: ipg - usedInodes,
    }, csumSeed);
  }

  // Superblock and its backups.
  const jnlBlocks = new Uint8Array(68);
  if (jnlIblock) {
    jnlBlocks.set(jnlIblock, 0);
    const dv = new DataView(jnlBlocks.buffer);
    const jsize = a.journalBlocks * B;
    dv.setUint32(60, Math.floor(jsize / 0x1_0000_0000), true);
    dv.setUint32(64, jsize % 0x1_0000_0000, true);
  }
  const N = geo.blocksCount;
  const rBlocks = Math.floor((N * s.reservedPercent) / 100);
  const ftBase = encodeTime(fsT);
  const ftHi = Math.floor(ft / 0x1_0000_0000) & 0xff;
  const sbValues = {
    s_inodes_count: ipg * geo.groups,
    s_blocks_count_lo: N % 0x1_0000_0000, s_blocks_count_hi: Math.floor(N / 0x1_0000_0000),
    s_r_blocks_count_lo: rBlocks % 0x1_0000_0000, s_r_blocks_count_hi: Math.floor(rBlocks / 0x1_0000_0000),
    s_free_blocks_count_lo: freeBlocksTotal % 0x1_0000_0000, s_free_blocks_count_hi: Math.floor(freeBlocksTotal / 0x1_0000_0000),
    s_free_inodes_count: freeInodesTotal,
    s_first_data_block: geo.firstDataBlock,
    s_log_block_size: Math.log2(B) - 10, s_log_cluster_size: Math.log2(B) - 10,
    s_blocks_per_group: bpg, s_clusters_per_group: bpg, s_inodes_per_group: ipg,
    s_mtime: 0, s_wtime: ftBase.base, s_wtime_hi: ftHi, s_mnt_count: 0, s_max_mnt_count: 0xffff,
    s_magic: EXT4_SUPER_MAGIC, s_state: 1, s_errors: 1, s_minor_rev_level: 0,
    s_lastcheck: ftBase.base, s_lastcheck_hi: ftHi, s_checkinterval: 0, s_creator_os: 0, s_rev_level: 1,
    s_def_resuid: 0, s_def_resgid: 0, s_first_ino: FIRST_INO, s_inode_size: INODE_SIZE,
    s_feature_compat: (a.journalBlocks ? COMPAT_HAS_JOURNAL : 0) | COMPAT_EXT_ATTR | (geo.reservedGdtBlocks ? COMPAT_RESIZE_INODE : 0) | COMPAT_DIR_INDEX,
    s_feature_incompat: INCOMPAT_FILETYPE | INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG,
    s_feature_ro_compat: RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_HUGE_FILE | RO_COMPAT_DIR_NLINK | RO_COMPAT_EXTRA_ISIZE | RO_COMPAT_METADATA_CSUM,
    s_uuid: s.uuid, s_volume_name: s.label,
    s_reserved_gdt_blocks: geo.reservedGdtBlocks,
    s_journal_inum: a.journalBlocks ? JOURNAL_INO : 0,
    s_hash_seed: s.hashSeed, s_def_hash_version: 1, s_jnl_backup_type: a.journalBlocks ? 1 : 0, s_desc_size: DESC_SIZE,
    s_default_mount_opts: DEFM_XATTR_USER_ACL, s_mkfs_time: ftBase.base, s_mkfs_time_hi: ftHi, s_jnl_blocks: jnlBlocks,
    s_min_extra_isize: EXTRA_ISIZE, s_want_extra_isize: EXTRA_ISIZE, s_flags: FLAGS_UNSIGNED_HASH,
    s_log_groups_per_flex: LOG_FLEX_GROUPS, s_checksum_type: 1,
  };
  for (let gi = 0; gi < geo.groups; gi++) {
    if (!hasSuper(gi)) continue;
    const sb = new Uint8Array(1024);
    Superblock.encode({ ...sbValues, s_block_group_nr: gi }, sb);
    sealSuperblock(sb);
    const gs = groupStart(geo, gi);
    vb.addBytes(gi === 0 ? 1024 : gs * B, sb);
    vb.addBytes((gs + 1) * B, gdt);
  }
  return vb.finish(volumeSize, `${s.specPath} (ext4)`);
}
