/**
 * Block group descriptors and bitmaps (ext4 docs §4.4 Block Group Descriptors, §4.3 Bitmaps;
 * ext2_fs.h `struct ext4_group_desc`). 64-byte descriptors (64bit feature). With metadata_csum,
 * bg_checksum = low 16 bits of crc32c(seed, le32 group, descriptor with bg_checksum zeroed), and the
 * bitmap checksums are crc32c(seed, bitmap) split into _lo/_hi halves.
 */
import { defineStruct } from '../../util/struct.js';
import { crc32cU32, crc32cUpdate } from './checksum.js';

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
]);

export const BG_INODE_UNINIT = 0x1;
export const BG_ITABLE_ZEROED = 0x4;

export interface GroupDescValues {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  freeBlocks: number;
  freeInodes: number;
  usedDirs: number;
  flags: number;
  blockBitmapCsum: number;
  inodeBitmapCsum: number;
  itableUnused: number;
}

const lo32 = (v: number): number => v % 0x1_0000_0000;
const hi32 = (v: number): number => Math.floor(v / 0x1_0000_0000);

/** Encode group `group`'s descriptor at `buf[offset]` and seal its checksum. */
export function encodeGroupDesc(buf: Uint8Array, offset: number, group: number, v: GroupDescValues, csumSeed: number): void {
  GroupDesc.encode({
    bg_block_bitmap_lo: lo32(v.blockBitmap), bg_block_bitmap_hi: hi32(v.blockBitmap),
    bg_inode_bitmap_lo: lo32(v.inodeBitmap), bg_inode_bitmap_hi: hi32(v.inodeBitmap),
    bg_inode_table_lo: lo32(v.inodeTable), bg_inode_table_hi: hi32(v.inodeTable),
    bg_free_blocks_count_lo: v.freeBlocks & 0xffff, bg_free_blocks_count_hi: v.freeBlocks >>> 16,
    bg_free_inodes_count_lo: v.freeInodes & 0xffff, bg_free_inodes_count_hi: v.freeInodes >>> 16,
    bg_used_dirs_count_lo: v.usedDirs & 0xffff, bg_used_dirs_count_hi: v.usedDirs >>> 16,
    bg_flags: v.flags,
    bg_block_bitmap_csum_lo: v.blockBitmapCsum & 0xffff, bg_block_bitmap_csum_hi: v.blockBitmapCsum >>> 16,
    bg_inode_bitmap_csum_lo: v.inodeBitmapCsum & 0xffff, bg_inode_bitmap_csum_hi: v.inodeBitmapCsum >>> 16,
    bg_itable_unused_lo: v.itableUnused & 0xffff, bg_itable_unused_hi: v.itableUnused >>> 16,
  }, buf, offset);
  let c = crc32cU32(csumSeed, group);
  c = crc32cUpdate(c, buf, offset, offset + GroupDesc.size);
  new DataView(buf.buffer, buf.byteOffset + offset + GroupDesc.offsetOf('bg_checksum'), 2).setUint16(0, c & 0xffff, true);
}

/** Set bits [from, to) of a bitmap (bit i is byte i>>3, bit i&7). */
export function setBits(bitmap: Uint8Array, from: number, to: number): void {
  let i = from;
  while (i < to && (i & 7) !== 0) { bitmap[i >> 3]! |= 1 << (i & 7); i++; }
  const fullEnd = to & ~7;
  if (i < fullEnd) { bitmap.fill(0xff, i >> 3, fullEnd >> 3); i = fullEnd; }
  while (i < to) { bitmap[i >> 3]! |= 1 << (i & 7); i++; }
}

/** crc32c(seed, bitmap[0, bytes)): the checksum stored for a block or inode bitmap. */
export function bitmapCsum(csumSeed: number, bitmap: Uint8Array, bytes: number): number {
  return crc32cUpdate(csumSeed, bitmap, 0, bytes);
}
