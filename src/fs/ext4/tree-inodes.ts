/**
 * The tree's inodes (2, 11, 12...) and the blocks each one owns, placed where allocate() put them:
 * directory blocks (ext4 docs directory.rst), file data referenced from its source, a long
 * symlink's target block, extent tree blocks (ifork.rst "Extent Tree") and the xattr block
 * (attributes.rst). i_block holds, by inode type (ifork.rst "The Contents of inode.i_block"): an
 * extent tree for directories, files and long symlinks; the target of a symlink shorter than 60
 * bytes; a device number for device nodes; nothing for FIFOs and sockets.
 *
 * This loop runs once per inode (tens of thousands): the inode's fields go through
 * writeInodeValues' direct path (no generic encoder, no BigInt); only the rare i_block contents
 * (fast symlinks, devices) use the generic encoder.
 */
import type { VolumeBuilder } from '../../extent/extent.js';
import { fullMode } from '../../tree/model.js';
import { addContent } from '../../extent/content.js';
import type { Allocation } from './allocate.js';
import { encodeExtentTree } from './extent.js';
import { deviceIblock, EXT4_EXTENTS_FL, EXT4_INDEX_FL, I_BLOCK, I_BLOCK_SIZE, Inode, inodeCsumSeed } from './inode.js';
import type { IblockWriter, InodeTables } from './inode-table.js';
import { ROOT_INO, type Prepared, type Rec } from './prepare.js';
import { encodeXattrBlock } from './xattr.js';

/** Add a file's data extents: bytes from the tree, or ranges of its source file. */
function addFileData(vb: VolumeBuilder, rec: Rec, B: number): void {
  const node = rec.node;
  const c = node.content;
  for (const e of rec.extents) {
    const from = e.lblk * B;
    const len = Math.min(e.len * B, node.size - from);
    if (len <= 0) continue;
    if (!c) throw new Error(`ext4: file inode ${rec.ino} has no content`);
    // The size the source file had when the tree was read: emission checks it is unchanged.
    if (c.kind === 'file') vb.addFile(e.pblk * B, c.path, c.offset + from, len, c.fileSize);
    else addContent(vb, e.pblk * B, c, from, len);
  }
}

/**
 * Write every tree inode into `tables` and its blocks into `vb`. Returns the directories per group
 * (bg_used_dirs_count).
 */
export function writeTreeInodes(vb: VolumeBuilder, tables: InodeTables, p: Prepared, a: Allocation, csumSeed: number): number[] {
  const B = p.settings.blockSize;
  const ipg = a.geo.inodesPerGroup;
  const usedDirs = new Array<number>(a.geo.groups).fill(0);
  for (let ino = ROOT_INO; ino <= p.lastIno; ino++) {
    const rec = p.recs[ino];
    if (!rec) continue;
    const node = rec.node;
    let iblock: IblockWriter | undefined;
    let flags = 0;
    let size = node.size;
    let dataBlocks = 0;
    if (rec.xattrBlock >= 0) vb.addBytes(rec.xattrBlock * B, encodeXattrBlock(rec.xblock, B, rec.xattrBlock, csumSeed));
    const mapped = node.kind === 'dir' || node.kind === 'file' || (node.kind === 'symlink' && (node.symlinkTarget?.length ?? 0) >= I_BLOCK_SIZE);
    if (mapped) {
      const iseed = inodeCsumSeed(csumSeed, ino, 0);
      iblock = (buf, at) => {
        const blocks = encodeExtentTree(rec.extents, rec.treeBlocks, B, iseed, buf, at + I_BLOCK);
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
      case 'file':
        addFileData(vb, rec, B);
        break;
      case 'symlink': {
        const target = node.symlinkTarget ?? Buffer.alloc(0);
        size = target.length;
        if (target.length >= I_BLOCK_SIZE) vb.addBytes(rec.extents[0]!.pblk * B, target);
        else iblock = (buf, at) => Inode.encode({ i_block: target }, buf, at);
        break;
      }
      case 'char': case 'block': {
        const { major, minor } = node.rdev ?? { major: 0, minor: 0 };
        iblock = (buf, at) => Inode.encode({ i_block: deviceIblock(major, minor) }, buf, at);
        size = 0;
        break;
      }
      default:
        size = 0;
        break;
    }
    const sectors = (dataBlocks + rec.treeBlocks.length + (rec.xattrBlock >= 0 ? 1 : 0)) * (B / 512);
    tables.write(ino, {
      mode: fullMode(node), uid: node.uid, gid: node.gid, size, links: rec.links, sectors, flags,
      atime: node.atime, mtime: node.mtime, ctime: node.ctime, fileAcl: Math.max(rec.xattrBlock, 0),
    }, iblock, rec.ibody);
  }
  return usedDirs;
}
