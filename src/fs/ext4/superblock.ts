/**
 * The ext4 superblock (ext4 docs super.rst;
 * e2fsprogs lib/ext2fs/ext2_fs.h `struct ext2_super_block`). 1024 bytes at byte 1024 of the volume,
 * with backups at the start of sparse_super groups (s_block_group_nr names the copy).
 */
import type { VolumeBuilder } from '../../extent/extent.js';
import { defineStruct } from '../../util/struct.js';
import type { GroupBitmaps } from './bitmaps.js';
import { crc32cUpdate } from './checksum.js';
import { EXTRA_ISIZE, INODE_SIZE } from './inode.js';
import { DESC_SIZE, groupStart, hasSuper, LOG_FLEX_GROUPS, type Geometry } from './layout.js';
import { FIRST_INO, JOURNAL_INO, type Ext4Settings } from './prepare.js';

export const Superblock = defineStruct('ext2_super_block', 1024, [
  { name: 's_inodes_count', offset: 0x0, kind: 'u32le' },
  { name: 's_blocks_count_lo', offset: 0x4, kind: 'u32le' },
  { name: 's_r_blocks_count_lo', offset: 0x8, kind: 'u32le' },
  { name: 's_free_blocks_count_lo', offset: 0xc, kind: 'u32le' },
  { name: 's_free_inodes_count', offset: 0x10, kind: 'u32le' },
  { name: 's_first_data_block', offset: 0x14, kind: 'u32le' },
  { name: 's_log_block_size', offset: 0x18, kind: 'u32le' },
  { name: 's_log_cluster_size', offset: 0x1c, kind: 'u32le' },
  { name: 's_blocks_per_group', offset: 0x20, kind: 'u32le' },
  { name: 's_clusters_per_group', offset: 0x24, kind: 'u32le' },
  { name: 's_inodes_per_group', offset: 0x28, kind: 'u32le' },
  { name: 's_mtime', offset: 0x2c, kind: 'u32le' },
  { name: 's_wtime', offset: 0x30, kind: 'u32le' },
  { name: 's_mnt_count', offset: 0x34, kind: 'u16le' },
  { name: 's_max_mnt_count', offset: 0x36, kind: 'u16le' },
  { name: 's_magic', offset: 0x38, kind: 'u16le' },
  { name: 's_state', offset: 0x3a, kind: 'u16le' },
  { name: 's_errors', offset: 0x3c, kind: 'u16le' },
  { name: 's_minor_rev_level', offset: 0x3e, kind: 'u16le' },
  { name: 's_lastcheck', offset: 0x40, kind: 'u32le' },
  { name: 's_checkinterval', offset: 0x44, kind: 'u32le' },
  { name: 's_creator_os', offset: 0x48, kind: 'u32le' },
  { name: 's_rev_level', offset: 0x4c, kind: 'u32le' },
  { name: 's_def_resuid', offset: 0x50, kind: 'u16le' },
  { name: 's_def_resgid', offset: 0x52, kind: 'u16le' },
  { name: 's_first_ino', offset: 0x54, kind: 'u32le' },
  { name: 's_inode_size', offset: 0x58, kind: 'u16le' },
  { name: 's_block_group_nr', offset: 0x5a, kind: 'u16le' },
  { name: 's_feature_compat', offset: 0x5c, kind: 'u32le' },
  { name: 's_feature_incompat', offset: 0x60, kind: 'u32le' },
  { name: 's_feature_ro_compat', offset: 0x64, kind: 'u32le' },
  { name: 's_uuid', offset: 0x68, kind: { bytes: 16 } },
  { name: 's_volume_name', offset: 0x78, kind: { bytes: 16 } },
  { name: 's_last_mounted', offset: 0x88, kind: { bytes: 64 } },
  { name: 's_algorithm_usage_bitmap', offset: 0xc8, kind: 'u32le' },
  { name: 's_prealloc_blocks', offset: 0xcc, kind: 'u8' },
  { name: 's_prealloc_dir_blocks', offset: 0xcd, kind: 'u8' },
  { name: 's_reserved_gdt_blocks', offset: 0xce, kind: 'u16le' },
  { name: 's_journal_uuid', offset: 0xd0, kind: { bytes: 16 } },
  { name: 's_journal_inum', offset: 0xe0, kind: 'u32le' },
  { name: 's_journal_dev', offset: 0xe4, kind: 'u32le' },
  { name: 's_last_orphan', offset: 0xe8, kind: 'u32le' },
  { name: 's_hash_seed', offset: 0xec, kind: { array: 'u32le', count: 4 } },
  { name: 's_def_hash_version', offset: 0xfc, kind: 'u8' },
  { name: 's_jnl_backup_type', offset: 0xfd, kind: 'u8' },
  { name: 's_desc_size', offset: 0xfe, kind: 'u16le' },
  { name: 's_default_mount_opts', offset: 0x100, kind: 'u32le' },
  { name: 's_first_meta_bg', offset: 0x104, kind: 'u32le' },
  { name: 's_mkfs_time', offset: 0x108, kind: 'u32le' },
  /** The journal inode's i_block[15], i_size_high and i_size (see journalBackup). */
  { name: 's_jnl_blocks', offset: 0x10c, kind: { array: 'u32le', count: 17 } },
  { name: 's_blocks_count_hi', offset: 0x150, kind: 'u32le' },
  { name: 's_r_blocks_count_hi', offset: 0x154, kind: 'u32le' },
  { name: 's_free_blocks_count_hi', offset: 0x158, kind: 'u32le' },
  { name: 's_min_extra_isize', offset: 0x15c, kind: 'u16le' },
  { name: 's_want_extra_isize', offset: 0x15e, kind: 'u16le' },
  { name: 's_flags', offset: 0x160, kind: 'u32le' },
  { name: 's_raid_stride', offset: 0x164, kind: 'u16le' },
  { name: 's_mmp_interval', offset: 0x166, kind: 'u16le' },
  { name: 's_mmp_block', offset: 0x168, kind: 'u64le' },
  { name: 's_raid_stripe_width', offset: 0x170, kind: 'u32le' },
  { name: 's_log_groups_per_flex', offset: 0x174, kind: 'u8' },
  { name: 's_checksum_type', offset: 0x175, kind: 'u8' },
  { name: 's_kbytes_written', offset: 0x178, kind: 'u64le' },
  { name: 's_overhead_clusters', offset: 0x248, kind: 'u32le' },
  { name: 's_checksum_seed', offset: 0x270, kind: 'u32le' },
  { name: 's_wtime_hi', offset: 0x274, kind: 'u8' },
  { name: 's_mtime_hi', offset: 0x275, kind: 'u8' },
  { name: 's_mkfs_time_hi', offset: 0x276, kind: 'u8' },
  { name: 's_lastcheck_hi', offset: 0x277, kind: 'u8' },
  { name: 's_encoding', offset: 0x27c, kind: 'u16le' },
  { name: 's_checksum', offset: 0x3fc, kind: 'u32le' },
], {
  // 64bit feature: block counts are 64-bit, the high halves after the 32-bit superblock's fields.
  s_blocks_count: ['s_blocks_count_lo', 's_blocks_count_hi'],
  s_r_blocks_count: ['s_r_blocks_count_lo', 's_r_blocks_count_hi'],
  s_free_blocks_count: ['s_free_blocks_count_lo', 's_free_blocks_count_hi'],
  // Times carry 8 more bits of seconds in *_hi (no sign: 1970 to 2^40 s).
  s_mtime: ['s_mtime', 's_mtime_hi'],
  s_wtime: ['s_wtime', 's_wtime_hi'],
  s_mkfs_time: ['s_mkfs_time', 's_mkfs_time_hi'],
  s_lastcheck: ['s_lastcheck', 's_lastcheck_hi'],
});

export type SuperblockValues = Parameters<typeof Superblock.encode>[0];

export const EXT4_SUPER_MAGIC = 0xef53;

// Feature bits (ext2_fs.h EXT2_FEATURE_* / EXT4_FEATURE_*).
export const COMPAT_HAS_JOURNAL = 0x4;
export const COMPAT_EXT_ATTR = 0x8;
export const COMPAT_RESIZE_INODE = 0x10;
export const COMPAT_DIR_INDEX = 0x20;
export const INCOMPAT_FILETYPE = 0x2;
export const INCOMPAT_EXTENTS = 0x40;
export const INCOMPAT_64BIT = 0x80;
export const INCOMPAT_FLEX_BG = 0x200;
export const RO_COMPAT_SPARSE_SUPER = 0x1;
export const RO_COMPAT_LARGE_FILE = 0x2;
export const RO_COMPAT_HUGE_FILE = 0x8;
export const RO_COMPAT_DIR_NLINK = 0x20;
export const RO_COMPAT_EXTRA_ISIZE = 0x40;
export const RO_COMPAT_METADATA_CSUM = 0x400;

/** s_flags: directory hashes treat name bytes as unsigned char (EXT2_FLAGS_UNSIGNED_HASH). */
export const FLAGS_UNSIGNED_HASH = 0x2;
/** s_default_mount_opts EXT2_DEFM_XATTR_USER | EXT2_DEFM_ACL, as mke2fs.conf sets them. */
export const DEFM_XATTR_USER_ACL = 0x4 | 0x8;

/** Set s_checksum: crc32c(~0) over the superblock up to the checksum field. */
export function sealSuperblock(buf: Uint8Array, offset = 0): void {
  const c = crc32cUpdate(0xffffffff, buf, offset, offset + Superblock.offsetOf('s_checksum'));
  Superblock.encode({ s_checksum: c }, buf, offset);
}

export interface SuperblockInput {
  settings: Ext4Settings;
  geo: Geometry;
  bitmaps: GroupBitmaps;
  /** Journal length in blocks, 0 without one. */
  journalBlocks: number;
  /** The journal inode's backup (journal.ts writeJournal). */
  jnlBlocks?: number[] | undefined;
}

/**
 * The superblock's fields (all copies alike but s_block_group_nr), with the feature set, times and
 * defaults mke2fs 1.47 writes: a clean, never-mounted filesystem, errors=continue, half_md4
 * directory hashes over unsigned names, 32-byte extra inode fields, crc32c checksums.
 */
export function superblockValues(v: SuperblockInput): SuperblockValues {
  const { settings: s, geo } = v;
  const B = s.blockSize;
  const N = geo.blocksCount;
  const hasJournal = v.journalBlocks > 0;
  return {
    s_inodes_count: geo.inodesPerGroup * geo.groups,
    s_blocks_count: N,
    s_r_blocks_count: Math.floor((N * s.reservedPercent) / 100),
    s_free_blocks_count: v.bitmaps.freeBlocks,
    s_free_inodes_count: v.bitmaps.freeInodes,
    s_first_data_block: geo.firstDataBlock,
    s_log_block_size: Math.log2(B) - 10, s_log_cluster_size: Math.log2(B) - 10,
    s_blocks_per_group: geo.blocksPerGroup, s_clusters_per_group: geo.blocksPerGroup, s_inodes_per_group: geo.inodesPerGroup,
    s_mtime: 0, s_wtime: s.fsTime, s_mnt_count: 0, s_max_mnt_count: 0xffff,
    s_magic: EXT4_SUPER_MAGIC, s_state: 1, s_errors: 1, s_minor_rev_level: 0,
    s_lastcheck: s.fsTime, s_checkinterval: 0, s_creator_os: 0, s_rev_level: 1,
    s_def_resuid: 0, s_def_resgid: 0, s_first_ino: FIRST_INO, s_inode_size: INODE_SIZE,
    s_feature_compat: (hasJournal ? COMPAT_HAS_JOURNAL : 0) | COMPAT_EXT_ATTR | (geo.reservedGdtBlocks ? COMPAT_RESIZE_INODE : 0) | COMPAT_DIR_INDEX,
    s_feature_incompat: INCOMPAT_FILETYPE | INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG,
    s_feature_ro_compat: RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_HUGE_FILE | RO_COMPAT_DIR_NLINK | RO_COMPAT_EXTRA_ISIZE | RO_COMPAT_METADATA_CSUM,
    s_uuid: s.uuid, s_volume_name: s.label,
    s_reserved_gdt_blocks: geo.reservedGdtBlocks,
    s_journal_inum: hasJournal ? JOURNAL_INO : 0,
    s_hash_seed: s.hashSeed, s_def_hash_version: 1, s_jnl_backup_type: hasJournal ? 1 : 0, s_desc_size: DESC_SIZE,
    s_default_mount_opts: DEFM_XATTR_USER_ACL, s_mkfs_time: s.fsTime, s_jnl_blocks: v.jnlBlocks,
    s_min_extra_isize: EXTRA_ISIZE, s_want_extra_isize: EXTRA_ISIZE, s_flags: FLAGS_UNSIGNED_HASH,
    s_log_groups_per_flex: LOG_FLEX_GROUPS, s_checksum_type: 1,
  };
}

/**
 * Write the superblock at byte 1024 and its backups at the first block of every group sparse_super
 * keeps one in (0, 1 and powers of 3, 5 and 7: layout.ts hasSuper), each followed by the group
 * descriptor table `gdt` (ext4 docs blockgroup.rst "Layout", super.rst).
 */
export function writeSuperblocks(vb: VolumeBuilder, geo: Geometry, values: SuperblockValues, gdt: Uint8Array): void {
  const B = geo.blockSize;
  for (let gi = 0; gi < geo.groups; gi++) {
    if (!hasSuper(gi)) continue;
    const sb = new Uint8Array(Superblock.size);
    Superblock.encode({ ...values, s_block_group_nr: gi }, sb);
    sealSuperblock(sb);
    const gs = groupStart(geo, gi);
    vb.addBytes(gi === 0 ? 1024 : gs * B, sb);
    vb.addBytes((gs + 1) * B, gdt);
  }
}
