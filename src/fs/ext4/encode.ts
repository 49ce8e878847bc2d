/**
 * ext4 planning, phase 3: from an allocation to the Volume. Each structure is written by the
 * module that declares it, in the order the layout's dependencies need (ext4 docs blockgroup.rst
 * "Layout"): the inode tables first (reserved inodes, journal, resize inode, the tree's inodes with
 * their blocks), then the bitmaps of what ended up in use, the group descriptors that sum them up,
 * and the superblock with its backups last. File data is referenced, never copied.
 */
import { VolumeBuilder, type Volume } from '../../extent/extent.js';
import type { Allocation } from './allocate.js';
import { writeBitmaps } from './bitmaps.js';
import { crc32cUpdate } from './checksum.js';
import { encodeGroupDescs } from './group.js';
import { InodeTables } from './inode-table.js';
import { writeJournal } from './journal.js';
import type { Prepared } from './prepare.js';
import { writeResizeInode } from './resize.js';
import { superblockValues, writeSuperblocks } from './superblock.js';
import { writeTreeInodes } from './tree-inodes.js';

/** Build the volume: metadata buffers and data extents. */
export function encode(p: Prepared, a: Allocation, volumeSize: number): Volume {
  const s = p.settings;
  const geo = a.geo;
  const vb = new VolumeBuilder();
  // metadata_csum: every checksum starts from crc32c(~0, uuid) (checksums.rst).
  const csumSeed = crc32cUpdate(0xffffffff, s.uuid);
  const fsTime = { sec: s.fsTime, nsec: 0 };

  const tables = new InodeTables(geo, p.lastIno, csumSeed);
  tables.writeReserved();
  const jnlBlocks = a.journalBlocks ? writeJournal(vb, tables, a, s.blockSize, s.uuid, csumSeed, fsTime) : undefined;
  if (geo.reservedGdtBlocks > 0) writeResizeInode(vb, tables, geo, a.dindBlock, fsTime);
  const usedDirs = writeTreeInodes(vb, tables, p, a, csumSeed);
  tables.place(vb);

  const bitmaps = writeBitmaps(vb, geo, a.alloc.runs, p.lastIno, csumSeed);
  const gdt = encodeGroupDescs(geo, bitmaps, usedDirs, csumSeed);
  writeSuperblocks(vb, geo, superblockValues({ settings: s, geo, bitmaps, journalBlocks: a.journalBlocks, jnlBlocks }), gdt);
  return vb.finish(volumeSize, `${s.specPath} (ext4)`);
}
