/**
 * Block group descriptors (ext4 docs group_descr.rst; ext2_fs.h `struct
 * ext4_group_desc`). 64-byte descriptors (64bit feature), one per group, packed into the group
 * descriptor table that follows the superblock and each of its backups (blockgroup.rst "Layout"). With
 * metadata_csum, bg_checksum = low 16 bits of crc32c(seed, le32 group, descriptor with bg_checksum
 * zeroed), and the bitmap checksums are crc32c(seed, bitmap) (bitmaps.rst, checksums.rst).
 */
import { defineStruct } from '../../util/struct.js';
import type { GroupBitmaps } from './bitmaps.js';
import { crc32cU32, crc32cUpdate } from './checksum.js';
import type { Geometry } from './layout.js';

export const GroupDesc = defineStruct('ext4_group_desc', 64, [
  { name: 'bg_block_bitmap_lo', offset: 0x0, kind: 'u32le' },
  { name: 'bg_inode_bitmap_lo', offset: 0x4, kind: 'u32le' },
  { name: 'bg_inode_table_lo', offset: 0x8, kind: 'u32le' },
  { name: 'bg_free_blocks_count_lo', offset: 0xc, kind: 'u16le' },
  { name: 'bg_free_inodes_count_lo', offset: 0xe, kind: 'u16le' },
  { name: 'bg_used_dirs_count_lo', offset: 0x10, kind: 'u16le' },
  { name: 'bg_flags', offset: 0x12, kind: 'u16le' },
  { name: 'bg_exclude_bitmap_lo', offset: 0x14, kind: 'u32le' },
  { name: 'bg_block_bitmap_csum_lo', offset: 0x18, kind: 'u16le' },
  { name: 'bg_inode_bitmap_csum_lo', offset: 0x1a, kind: 'u16le' },
  { name: 'bg_itable_unused_lo', offset: 0x1c, kind: 'u16le' },
  { name: 'bg_checksum', offset: 0x1e, kind: 'u16le' },
  { name: 'bg_block_bitmap_hi', offset: 0x20, kind: 'u32le' },
  { name: 'bg_inode_bitmap_hi', offset: 0x24, kind: 'u32le' },
  { name: 'bg_inode_table_hi', offset: 0x28, kind: 'u32le' },
  { name: 'bg_free_blocks_count_hi', offset: 0x2c, kind: 'u16le' },
  { name: 'bg_free_inodes_count_hi', offset: 0x2e, kind: 'u16le' },
  { name: 'bg_used_dirs_count_hi', offset: 0x30, kind: 'u16le' },
  { name: 'bg_itable_unused_hi', offset: 0x32, kind: 'u16le' },
  { name: 'bg_exclude_bitmap_hi', offset: 0x34, kind: 'u32le' },
  { name: 'bg_block_bitmap_csum_hi', offset: 0x38, kind: 'u16le' },
  { name: 'bg_inode_bitmap_csum_hi', offset: 0x3a, kind: 'u16le' },
  { name: 'bg_reserved', offset: 0x3c, kind: 'u32le' },
], {
  // 64bit feature (desc_size 64): each count and block number continues in the second 32 bytes.
  bg_block_bitmap: ['bg_block_bitmap_lo', 'bg_block_bitmap_hi'],
  bg_inode_bitmap: ['bg_inode_bitmap_lo', 'bg_inode_bitmap_hi'],
  bg_inode_table: ['bg_inode_table_lo', 'bg_inode_table_hi'],
  bg_free_blocks_count: ['bg_free_blocks_count_lo', 'bg_free_blocks_count_hi'],
  bg_free_inodes_count: ['bg_free_inodes_count_lo', 'bg_free_inodes_count_hi'],
  bg_used_dirs_count: ['bg_used_dirs_count_lo', 'bg_used_dirs_count_hi'],
  bg_exclude_bitmap: ['bg_exclude_bitmap_lo', 'bg_exclude_bitmap_hi'],
  bg_block_bitmap_csum: ['bg_block_bitmap_csum_lo', 'bg_block_bitmap_csum_hi'],
  bg_inode_bitmap_csum: ['bg_inode_bitmap_csum_lo', 'bg_inode_bitmap_csum_hi'],
  bg_itable_unused: ['bg_itable_unused_lo', 'bg_itable_unused_hi'],
});

export const BG_INODE_UNINIT = 0x1;
export const BG_ITABLE_ZEROED = 0x4;

/** Seal group `group`'s descriptor at `buf[offset]` (bg_checksum zero while it is summed). */
export function sealGroupDesc(buf: Uint8Array, offset: number, group: number, csumSeed: number): void {
  GroupDesc.encode({ bg_checksum: 0 }, buf, offset);
  let c = crc32cU32(csumSeed, group);
  c = crc32cUpdate(c, buf, offset, offset + GroupDesc.size);
  GroupDesc.encode({ bg_checksum: c & 0xffff }, buf, offset);
}

/**
 * The group descriptor table (gdtBlocks blocks): every group's bitmaps and inode table, its free
 * counts from the bitmaps, and BG_INODE_UNINIT on groups with no inode in use (their inode bitmap
 * is never read; the kernel initialises it on first use). BG_ITABLE_ZEROED: every inode table
 * block reads as zeros, written or not (group_descr.rst bg_flags).
 */
export function encodeGroupDescs(geo: Geometry, bitmaps: GroupBitmaps, usedDirs: readonly number[], csumSeed: number): Uint8Array {
  const gdt = new Uint8Array(geo.gdtBlocks * geo.blockSize);
  const ipg = geo.inodesPerGroup;
  for (let gi = 0; gi < geo.groups; gi++) {
    const g = bitmaps.groups[gi]!;
    const at = gi * GroupDesc.size;
    GroupDesc.encode({
      bg_block_bitmap: geo.blockBitmap[gi]!, bg_inode_bitmap: geo.inodeBitmap[gi]!, bg_inode_table: geo.inodeTable[gi]!,
      bg_free_blocks_count: g.freeBlocks, bg_free_inodes_count: ipg - g.usedInodes, bg_used_dirs_count: usedDirs[gi]!,
      bg_flags: g.usedInodes > 0 ? BG_ITABLE_ZEROED : BG_ITABLE_ZEROED | BG_INODE_UNINIT,
      bg_block_bitmap_csum: g.blockBitmapCsum, bg_inode_bitmap_csum: g.inodeBitmapCsum, bg_itable_unused: ipg - g.usedInodes,
    }, gdt, at);
    sealGroupDesc(gdt, at, gi, csumSeed);
  }
  return gdt;
}
