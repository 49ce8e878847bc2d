/**
 * The resize inode (inode 7, resize_inode feature; e2fsprogs lib/ext2fs/res_gdt.c). It owns the
 * reserved GDT blocks that let resize2fs and the kernel add groups: i_block[EXT2_DIND_BLOCK] points
 * to a block whose entry (gdtBlocks + i) % (blockSize / 4) is the i-th reserved GDT block of group
 * 0; that block in turn lists the same block's copy in every backup group. Block-mapped, no extents
 * (ext4 docs blockmap.rst).
 */
import type { VolumeBuilder } from '../../extent/extent.js';
import type { Timestamp } from '../../tree/model.js';
import { defineStruct, type Struct } from '../../util/struct.js';
import { Inode } from './inode.js';
import type { InodeTables } from './inode-table.js';
import { groupStart, hasSuper, type Geometry } from './layout.js';
import { RESIZE_INO } from './prepare.js';

/** EXT2_DIND_BLOCK: index of the double-indirect pointer in i_block. */
export const DIND_BLOCK = 13;

const indirect = new Map<number, Struct<'blocks'>>();
/** An indirect block (blockmap.rst): blockSize / 4 little-endian block numbers. */
function IndirectBlock(blockSize: number): Struct<'blocks'> {
  let s = indirect.get(blockSize);
  if (!s) {
    s = defineStruct('indirect block', blockSize, [{ name: 'blocks', offset: 0x0, kind: { array: 'u32le', count: blockSize / 4 } }]);
    indirect.set(blockSize, s);
  }
  return s;
}

export interface ResizeInodeLayout {
  /** Blocks to write: the double-indirect block and the primary reserved GDT blocks. */
  blocks: { block: number; data: Uint8Array }[];
  /** i_blocks in 512-byte units. */
  sectors: number;
  /** i_size in bytes. */
  size: number;
}

export function resizeInodeLayout(geo: Geometry, dindBlock: number): ResizeInodeLayout {
  const B = geo.blockSize;
  const apb = B / 4;
  const Indirect = IndirectBlock(B);
  const backups: number[] = [];
  for (let g = 1; g < geo.groups; g++) if (hasSuper(g)) backups.push(g);
  const dindEntries = new Array<number>(apb).fill(0);
  const dind = new Uint8Array(B);
  const blocks: { block: number; data: Uint8Array }[] = [{ block: dindBlock, data: dind }];
  for (let i = 0; i < geo.reservedGdtBlocks; i++) {
    const gdtBlk = geo.firstDataBlock + 1 + geo.gdtBlocks + i;
    dindEntries[(geo.gdtBlocks + i) % apb] = gdtBlk;
    const ind = new Uint8Array(B);
    Indirect.encode({ blocks: backups.map((g) => gdtBlk + groupStart(geo, g) - groupStart(geo, 0)) }, ind);
    blocks.push({ block: gdtBlk, data: ind });
  }
  Indirect.encode({ blocks: dindEntries }, dind);
  const count = 1 + geo.reservedGdtBlocks * (1 + backups.length);
  return { blocks, sectors: count * (B / 512), size: (apb * apb + apb + 12) * B };
}

/** Write inode 7 and its blocks (a regular 0600 file, as mke2fs makes it). */
export function writeResizeInode(vb: VolumeBuilder, tables: InodeTables, geo: Geometry, dindBlock: number, fsTime: Timestamp): void {
  const r = resizeInodeLayout(geo, dindBlock);
  for (const b of r.blocks) vb.addBytes(b.block * geo.blockSize, b.data);
  const iblock = Array.from({ length: DIND_BLOCK + 1 }, (_, i) => (i === DIND_BLOCK ? dindBlock : 0));
  tables.write(RESIZE_INO, {
    mode: 0o100600, uid: 0, gid: 0, size: r.size, links: 1, sectors: r.sectors, flags: 0, fileAcl: 0, atime: fsTime, mtime: fsTime, ctime: fsTime,
  }, (buf, at) => Inode.encode({ i_block: iblock }, buf, at));
}
