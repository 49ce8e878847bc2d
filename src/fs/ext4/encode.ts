/**
 * ext4 planning, phase 3: from an allocation to the Volume — inode tables, extent tree blocks,
 * directory and xattr blocks, journal superblock, resize inode, bitmaps, group descriptors and the
 * superblock with its backups. File data is referenced, never copied.
 */
import { VolumeBuilder, type Volume } from '../../extent/extent.js';
import { fullMode } from '../../tree/model.js';
import { crc32cUpdate } from './checksum.js';
import { encodeExtentTree } from './extent.js';
import { BG_INODE_UNINIT, BG_ITABLE_ZEROED, bitmapCsum, encodeGroupDesc, setBits } from './group.js';
import {
  encodeTime, EXT4_EXTENTS_FL, EXT4_INDEX_FL, EXTRA_ISIZE, I_BLOCK, Inode, INODE_SIZE, inodeCsumSeed, sealInode, writeInodeValues,
} from './inode.js';
import { encodeJournalSuperblock } from './journal.js';
import { DESC_SIZE, groupStart, hasSuper, LOG_FLEX_GROUPS, mergeRanges } from './layout.js';
import { DIND_BLOCK, resizeInodeLayout } from './resize.js';
import {
  COMPAT_DIR_INDEX, COMPAT_EXT_ATTR, COMPAT_HAS_JOURNAL, COMPAT_RESIZE_INODE, DEFM_XATTR_USER_ACL, EXT4_SUPER_MAGIC, FLAGS_UNSIGNED_HASH,
  INCOMPAT_64BIT, INCOMPAT_EXTENTS, INCOMPAT_FILETYPE, INCOMPAT_FLEX_BG, RO_COMPAT_DIR_NLINK, RO_COMPAT_EXTRA_ISIZE, RO_COMPAT_HUGE_FILE,
  RO_COMPAT_LARGE_FILE, RO_COMPAT_METADATA_CSUM, RO_COMPAT_SPARSE_SUPER, sealSuperblock, Superblock,
} from './superblock.js';
import { encodeXattrBlock, writeIbodyXattrs, type XattrRecord } from './xattr.js';
import type { Allocation } from './allocate.js';
import { FIRST_INO, JOURNAL_INO, pathText, RESIZE_INO, ROOT_INO, type Prepared } from './prepare.js';

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
    fileAcl: number; ibody?: XattrRecord[];
  }, fillBlock?: (buf: Uint8Array, at: number) => void): void => {
    const group = Math.floor((ino - 1) / ipg);
    const buf = tables[group]!;
    const at = ((ino - 1) % ipg) * INODE_SIZE;
    writeInodeValues(views[group]!, at, f);
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
      sectors: (a.journalBlocks + a.journalTree.length) * (B / 512), flags: EXT4_EXTENTS_FL, iblock: jnlIblock, fileAcl: 0,
      atime: fsT, mtime: fsT, ctime: fsT,
    });
  }

  // Resize inode (inode 7).
  if (geo.reservedGdtBlocks > 0) {
    const r = resizeInodeLayout(geo, a.dindBlock);
    for (const b of r.blocks) vb.addBytes(b.block * B, b.data);
    const iblock = new Uint8Array(60);
    new DataView(iblock.buffer).setUint32(DIND_BLOCK * 4, a.dindBlock, true);
    writeInode(RESIZE_INO, { mode: 0o100600, uid: 0, gid: 0, size: r.size, links: 1, sectors: r.sectors, flags: 0, iblock, fileAcl: 0, atime: fsT, mtime: fsT, ctime: fsT });
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
      atime: node.atime, mtime: node.mtime, ctime: node.ctime, fileAcl: Math.max(rec.xattrBlock, 0), ibody: rec.ibody,
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
