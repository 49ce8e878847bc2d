/**
 * Directory blocks (ext4 docs directory.rst). Entries are `ext4_dir_entry_2` (filetype
 * feature); every leaf block ends with the 12-byte `ext4_dir_entry_tail` holding crc32c(inode
 * seed, block up to the tail). A directory that fits one block is linear; a larger one is an htree:
 * block 0 is the dx_root, leaves hold entries sorted by hash (directory.rst "Hash Tree Directories").
 */
import { defineStruct } from '../../util/struct.js';
import { crc32cUpdate } from './checksum.js';
import type { BlockSlab } from './slab.js';
import {
  DX_HASH_HALF_MD4, DX_NODE_COUNT_OFFSET, DX_ROOT_COUNT_OFFSET, DX_ROOT_INFO_OFFSET, DxRootInfo, dxNodeLimit, dxRootLimit, halfMd4Hash,
  writeDxEntries, type DxRef,
} from './htree.js';

export const DirEntry = defineStruct('ext4_dir_entry_2', 8, [
  { name: 'inode', offset: 0x0, kind: 'u32le' },
  { name: 'rec_len', offset: 0x4, kind: 'u16le' },
  { name: 'name_len', offset: 0x6, kind: 'u8' },
  { name: 'file_type', offset: 0x7, kind: 'u8' },
]);

export const DirEntryTail = defineStruct('ext4_dir_entry_tail', 12, [
  { name: 'det_reserved_zero1', offset: 0x0, kind: 'u32le' },
  { name: 'det_rec_len', offset: 0x4, kind: 'u16le' },
  { name: 'det_reserved_zero2', offset: 0x6, kind: 'u8' },
  { name: 'det_reserved_ft', offset: 0x7, kind: 'u8' },
  { name: 'det_checksum', offset: 0x8, kind: 'u32le' },
]);

const TAIL = DirEntryTail.size;
const DIR_TAIL_FT = 0xde;

/** ext4_dir_entry_2 file_type codes. */
export const FT = { file: 1, dir: 2, char: 3, block: 4, fifo: 5, socket: 6, symlink: 7 } as const;

export interface DirChild {
  name: Buffer;
  ino: number;
  fileType: number;
}

/** Bytes an entry with an n-byte name occupies (8-byte header, then the name, padded to 4). */
export const entrySize = (nameLen: number): number => (8 + nameLen + 3) & ~3;

const D_INODE = DirEntry.offsetOf('inode'), D_REC_LEN = DirEntry.offsetOf('rec_len');
const D_NAME_LEN = DirEntry.offsetOf('name_len'), D_FILE_TYPE = DirEntry.offsetOf('file_type');

/** One ext4_dir_entry_2 (fields of `DirEntry`, written directly: this runs once per name). */
function putEntry(block: Uint8Array, at: number, ino: number, recLen: number, name: Uint8Array, fileType: number): void {
  if (name.length > 255 || recLen > 0xffff) throw new RangeError(`directory entry of ${name.length} bytes, rec_len ${recLen}`);
  block[at + D_INODE] = ino & 0xff; block[at + D_INODE + 1] = (ino >>> 8) & 0xff;
  block[at + D_INODE + 2] = (ino >>> 16) & 0xff; block[at + D_INODE + 3] = ino >>> 24;
  block[at + D_REC_LEN] = recLen & 0xff; block[at + D_REC_LEN + 1] = recLen >>> 8;
  block[at + D_NAME_LEN] = name.length;
  block[at + D_FILE_TYPE] = fileType;
  block.set(name, at + DirEntry.size);
}

const T_REC_LEN = DirEntryTail.offsetOf('det_rec_len'), T_FT = DirEntryTail.offsetOf('det_reserved_ft');
const T_CHECKSUM = DirEntryTail.offsetOf('det_checksum');

/**
 * The tail of a leaf block (fields of `DirEntryTail`, written directly: once per leaf). The
 * reserved fields stay zero: leaf blocks are fresh, zeroed buffers.
 */
function sealLeaf(block: Uint8Array, inodeSeed: number): void {
  const at = block.length - TAIL;
  block[at + T_REC_LEN] = TAIL; block[at + T_REC_LEN + 1] = 0;
  block[at + T_FT] = DIR_TAIL_FT;
  const c = crc32cUpdate(inodeSeed, block, 0, at);
  block[at + T_CHECKSUM] = c & 0xff; block[at + T_CHECKSUM + 1] = (c >>> 8) & 0xff;
  block[at + T_CHECKSUM + 2] = (c >>> 16) & 0xff; block[at + T_CHECKSUM + 3] = c >>> 24;
}

/** An empty leaf block (lost+found's spare blocks): one unused entry spanning the block. */
export function emptyDirBlock(blockSize: number, inodeSeed: number, slab?: BlockSlab): Uint8Array {
  const block = slab ? slab.take(blockSize) : new Uint8Array(blockSize);
  DirEntry.encode({ inode: 0, rec_len: blockSize - TAIL, name_len: 0, file_type: 0 }, block, 0);
  sealLeaf(block, inodeSeed);
  return block;
}

function encodeLeaf(entries: readonly DirChild[], blockSize: number, inodeSeed: number, slab: BlockSlab | undefined, first?: { self: number; parent: number }): Uint8Array {
  const block = slab ? slab.take(blockSize) : new Uint8Array(blockSize);
  const end = blockSize - TAIL;
  let at = 0;
  if (first) {
    putEntry(block, 0, first.self, 12, DOT, FT.dir);
    putEntry(block, 12, first.parent, entries.length ? 12 : end - 12, DOTDOT, FT.dir);
    at = 24;
  }
  entries.forEach((c, i) => {
    const size = i === entries.length - 1 ? end - at : entrySize(c.name.length);
    putEntry(block, at, c.ino, size, c.name, c.fileType);
    at += size;
  });
  if (!first && entries.length === 0) DirEntry.encode({ inode: 0, rec_len: end, name_len: 0, file_type: 0 }, block, 0);
  sealLeaf(block, inodeSeed);
  return block;
}

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

/** Bytes the entries of a linear first block take, "." and ".." included. */
function linearBytes(children: readonly DirChild[]): number {
  let n = 24;
  for (const c of children) n += entrySize(c.name.length);
  return n;
}

export interface DirectoryLayout {
  /** Logical blocks 0..n-1. */
  blocks: Uint8Array[];
  indexed: boolean;
}

/**
 * Encode a directory: linear when everything fits one block, else an htree (one or two index
 * levels). `children` are in tree order; `minBlocks` pads with empty leaves (lost+found).
 */
export function buildDirectory(self: number, parent: number, children: readonly DirChild[], blockSize: number, hashSeed: Uint32Array, inodeSeed: number, minBlocks = 1, slab?: BlockSlab): DirectoryLayout {
  if (linearBytes(children) <= blockSize - TAIL) {
    const blocks = [encodeLeaf(children, blockSize, inodeSeed, slab, { self, parent })];
    while (blocks.length < minBlocks) blocks.push(emptyDirBlock(blockSize, inodeSeed, slab));
    return { blocks, indexed: false };
  }
  const hashed = children.map((c) => ({ c, h: halfMd4Hash(c.name, hashSeed) }));
  hashed.sort((a, b) => (a.h - b.h) || Buffer.compare(a.c.name, b.c.name));
  // Greedy leaves; a leaf that starts inside a run of equal hashes carries the continuation bit.
  const room = blockSize - TAIL;
  const leaves: { entries: DirChild[]; hash: number }[] = [];
  let cur: DirChild[] = [];
  let curHash = 0;
  let used = 0;
  let prevHash = -1;
  for (const { c, h } of hashed) {
    const size = entrySize(c.name.length);
    if (used + size > room) {
      leaves.push({ entries: cur, hash: curHash });
      cur = []; used = 0;
      curHash = h === prevHash ? (h | 1) >>> 0 : h;
    }
    cur.push(c); used += size; prevHash = h;
  }
  leaves.push({ entries: cur, hash: leaves.length === 0 ? 0 : curHash });

  const rootLimit = dxRootLimit(blockSize);
  const nodeLimit = dxNodeLimit(blockSize);
  const levels = leaves.length <= rootLimit ? 0 : 1;
  const nodeCount = levels === 0 ? 0 : Math.ceil(leaves.length / nodeLimit);
  if (nodeCount > rootLimit) throw new RangeError(`directory with ${children.length} entries needs more than two htree levels`);
  const firstLeaf = 1 + nodeCount;
  const blocks: Uint8Array[] = [];
  const root = new Uint8Array(blockSize);
  putEntry(root, 0, self, 12, DOT, FT.dir);
  putEntry(root, 12, parent, blockSize - 12, DOTDOT, FT.dir);
  DxRootInfo.encode({ reserved_zero: 0, hash_version: DX_HASH_HALF_MD4, info_length: 8, indirect_levels: levels, unused_flags: 0 }, root, DX_ROOT_INFO_OFFSET);
  blocks.push(root);
  const leafRefs: DxRef[] = leaves.map((l, i) => ({ hash: l.hash, block: firstLeaf + i }));
  if (levels === 0) {
    writeDxEntries(root, DX_ROOT_COUNT_OFFSET, leafRefs, rootLimit, inodeSeed);
  } else {
    const nodeRefs: DxRef[] = [];
    for (let n = 0; n < nodeCount; n++) {
      const refs = leafRefs.slice(n * nodeLimit, (n + 1) * nodeLimit);
      const node = new Uint8Array(blockSize);
      DirEntry.encode({ inode: 0, rec_len: blockSize, name_len: 0, file_type: 0 }, node, 0);
      writeDxEntries(node, DX_NODE_COUNT_OFFSET, refs, nodeLimit, inodeSeed);
      blocks.push(node);
      nodeRefs.push({ hash: refs[0]!.hash, block: 1 + n });
    }
    writeDxEntries(root, DX_ROOT_COUNT_OFFSET, nodeRefs, rootLimit, inodeSeed);
  }
  for (const l of leaves) blocks.push(encodeLeaf(l.entries, blockSize, inodeSeed, slab));
  return { blocks, indexed: true };
}
