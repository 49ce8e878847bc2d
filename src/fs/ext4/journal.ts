/**
 * The internal jbd2 journal (ext4 docs journal.rst; e2fsprogs lib/ext2fs/mkjournal.c, kernel
 * include/linux/jbd2.h). Inode 8 maps a contiguous run of blocks whose first block holds the
 * journal superblock (big-endian, v2); the rest are never written (an empty, clean journal: s_start 0).
 */
import type { VolumeBuilder } from '../../extent/extent.js';
import type { Timestamp } from '../../tree/model.js';
import { defineStruct } from '../../util/struct.js';
import type { Allocation } from './allocate.js';
import { encodeExtentTree } from './extent.js';
import { EXT4_EXTENTS_FL, I_BLOCK, Inode, inodeCsumSeed } from './inode.js';
import type { InodeTables } from './inode-table.js';
import { JOURNAL_INO } from './prepare.js';

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

/**
 * Write the journal: inode 8 (a regular 0600 file, extent-mapped), its extent tree blocks and the
 * journal superblock. Returns the superblock's s_jnl_blocks backup of the inode (super.rst: i_block in
 * the first 15 words, then i_size_high and i_size, as mkjournal.c ext2fs_add_journal_inode3 copies
 * them), so that e2fsck can rebuild a damaged journal inode.
 */
export function writeJournal(vb: VolumeBuilder, tables: InodeTables, a: Allocation, blockSize: number, fsUuid: Uint8Array, csumSeed: number, fsTime: Timestamp): number[] {
  const B = blockSize;
  const iseed = inodeCsumSeed(csumSeed, JOURNAL_INO, 0);
  vb.addBytes(a.journalExtents[0]!.pblk * B, encodeJournalSuperblock(B, a.journalBlocks, fsUuid));
  tables.write(JOURNAL_INO, {
    mode: 0o100600, uid: 0, gid: 0, size: a.journalBlocks * B, links: 1,
    sectors: (a.journalBlocks + a.journalTree.length) * (B / 512), flags: EXT4_EXTENTS_FL, fileAcl: 0,
    atime: fsTime, mtime: fsTime, ctime: fsTime,
  }, (buf, at) => {
    const blocks = encodeExtentTree(a.journalExtents, a.journalTree, B, iseed, buf, at + I_BLOCK);
    blocks.forEach((blk, i) => vb.addBytes(a.journalTree[i]! * B, blk));
  });
  const buf = tables.bufferOf(JOURNAL_INO), at = tables.offsetOf(JOURNAL_INO);
  return [
    ...(Inode.decodeField(buf, 'i_block', at) as number[]),
    Inode.decodeField(buf, 'i_size_high', at) as number,
    Inode.decodeField(buf, 'i_size_lo', at) as number,
  ];
}
