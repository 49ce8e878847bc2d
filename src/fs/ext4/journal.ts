/**
 * The internal jbd2 journal (ext4 docs §3.6 Journal; e2fsprogs lib/ext2fs/mkjournal.c, kernel
 * include/linux/jbd2.h). Inode 8 maps a contiguous run of blocks whose first block holds the
 * journal superblock (big-endian, v2); the rest are never written (an empty, clean journal: s_start 0).
 */
import { defineStruct } from '../../util/struct.js';

export const JournalSuperblock = defineStruct('journal_superblock_s', 1024, [
  { name: 'h_magic', offset: 0x0, kind: 'u32be' },
  { name: 'h_blocktype', offset: 0x4, kind: 'u32be' },
  { name: 'h_sequence', offset: 0x8, kind: 'u32be' },
  { name: 's_blocksize', offset: 0xc, kind: 'u32be' },
  { name: 's_maxlen', offset: 0x10, kind: 'u32be' },
  { name: 's_first', offset: 0x14, kind: 'u32be' },
  { name: 's_sequence', offset: 0x18, kind: 'u32be' },
  { name: 's_start', offset: 0x1c, kind: 'u32be' },
  { name: 's_errno', offset: 0x20, kind: 'u32be' },
  { name: 's_feature_compat', offset: 0x24, kind: 'u32be' },
  { name: 's_feature_incompat', offset: 0x28, kind: 'u32be' },
  { name: 's_feature_ro_compat', offset: 0x2c, kind: 'u32be' },
  { name: 's_uuid', offset: 0x30, kind: { bytes: 16 } },
  { name: 's_nr_users', offset: 0x40, kind: 'u32be' },
  { name: 's_dynsuper', offset: 0x44, kind: 'u32be' },
  { name: 's_max_transaction', offset: 0x48, kind: 'u32be' },
  { name: 's_max_trans_data', offset: 0x4c, kind: 'u32be' },
  { name: 's_checksum_type', offset: 0x50, kind: 'u8' },
  { name: 's_num_fc_blks', offset: 0x54, kind: 'u32be' },
  { name: 's_checksum', offset: 0xfc, kind: 'u32be' },
  { name: 's_users', offset: 0x100, kind: { bytes: 768 } },
]);

export const JBD2_MAGIC = 0xc03b3998;
const JBD2_SUPERBLOCK_V2 = 4;

/**
 * Journal length in blocks for a filesystem of `blocks` blocks, as e2fsprogs 1.47
 * ext2fs_default_journal_size chooses it; 0 below 2048 blocks (too small for a journal).
 */
export function defaultJournalBlocks(blocks: number): number {
  if (blocks < 2048) return 0;
  if (blocks < 32768) return 1024;
  if (blocks < 256 * 1024) return 4096;
  if (blocks < 512 * 1024) return 8192;
  if (blocks < 4096 * 1024) return 16384;
  if (blocks < 8192 * 1024) return 32768;
  if (blocks < 16384 * 1024) return 65536;
  if (blocks < 32768 * 1024) return 131072;
  return 262144;
}

/** The first journal block: a clean v2 journal superblock (mkjournal.c ext2fs_create_journal_superblock2). */
export function encodeJournalSuperblock(blockSize: number, journalBlocks: number, fsUuid: Uint8Array): Uint8Array {
  const buf = new Uint8Array(JournalSuperblock.size);
  JournalSuperblock.encode({
    h_magic: JBD2_MAGIC, h_blocktype: JBD2_SUPERBLOCK_V2, h_sequence: 0,
    s_blocksize: blockSize, s_maxlen: journalBlocks, s_first: 1, s_sequence: 1, s_start: 0,
    // An internal journal carries the filesystem's uuid and one user (s_users left zero), as mke2fs writes it.
    s_uuid: fsUuid, s_nr_users: 1,
  }, buf);
  return buf;
}
