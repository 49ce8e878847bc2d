/**
 * The resize inode (inode 7, resize_inode feature; e2fsprogs lib/ext2fs/res_gdt.c). It owns the
 * reserved GDT blocks that let resize2fs and the kernel add groups: i_block[EXT2_DIND_BLOCK] points
 * to a block whose entry (gdtBlocks + i) % (blockSize / 4) is the i-th reserved GDT block of group
 * 0; that block in turn lists the same block's copy in every backup group. Block-mapped, no extents.
 */
import { groupStart, hasSuper, type Geometry } from './layout.js';

/** EXT2_DIND_BLOCK: index of the double-indirect pointer in i_block. */
export const DIND_BLOCK = 13;

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
  const backups: number[] = [];
  for (let g = 1; g < geo.groups; g++) if (hasSuper(g)) backups.push(g);
  const dind = new Uint8Array(B);
  const dindView = new DataView(dind.buffer);
  const blocks: { block: number; data: Uint8Array }[] = [{ block: dindBlock, data: dind }];
  for (let i = 0; i < geo.reservedGdtBlocks; i++) {
    const gdtBlk = geo.firstDataBlock + 1 + geo.gdtBlocks + i;
    dindView.setUint32(((geo.gdtBlocks + i) % apb) * 4, gdtBlk, true);
    const ind = new Uint8Array(B);
    const v = new DataView(ind.buffer);
    backups.forEach((g, j) => v.setUint32(j * 4, gdtBlk + groupStart(geo, g) - groupStart(geo, 0), true));
    blocks.push({ block: gdtBlk, data: ind });
  }
  const count = 1 + geo.reservedGdtBlocks * (1 + backups.length);
  return { blocks, sectors: count * (B / 512), size: (apb * apb + apb + 12) * B };
}
