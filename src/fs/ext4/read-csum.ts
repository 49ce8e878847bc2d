/**
 * metadata_csum checks of the ext4 reader (ext4 docs checksums.rst), done where they are cheap:
 * the superblock, each group descriptor (once), each inode read, each extent tree block and each
 * directory leaf block with a checksum tail. Each checksum is computed by the writer's own code on
 * a copy (sealSuperblock, sealGroupDesc, sealInode) or from its seed rule (inodeCsumSeed), and a
 * mismatch is E_IMAGE_CORRUPT naming the structure and its offset.
 */
import { crc32cUpdate } from './checksum.js';
import { DirEntryTail } from './dir.js';
import { ExtentHeader, ExtentLeaf, ExtentTail } from './extent.js';
import { GroupDesc, sealGroupDesc } from './group.js';
import { INODE_SIZE, Inode, inodeCsumSeed, sealInode } from './inode.js';
import { RO_COMPAT_METADATA_CSUM, sealSuperblock, Superblock } from './superblock.js';

const INCOMPAT_CSUM_SEED = 0x2000;
const DIR_TAIL_FT = 0xde;

export class Ext4Checksums {
  private readonly seed: number;
  private readonly groupsChecked = new Set<number>();

  /** The checks for a filesystem whose superblock is `sb` (raw bytes), or undefined without metadata_csum. */
  static of(sb: Uint8Array, corrupt: (structure: string, offset: number, what: string) => Error): Ext4Checksums | undefined {
    const v = Superblock.decode(sb);
    if (!((v.s_feature_ro_compat as number) & RO_COMPAT_METADATA_CSUM)) return undefined;
    const copy = sb.slice();
    sealSuperblock(copy);
    const want = Superblock.decodeField(copy, 's_checksum') as number, have = v.s_checksum as number;
    if (want !== have) throw corrupt('ext4 superblock', 1024, `s_checksum 0x${have.toString(16)} where 0x${want.toString(16)} belongs`);
    const seed = (v.s_feature_incompat as number) & INCOMPAT_CSUM_SEED ? (v.s_checksum_seed as number) : crc32cUpdate(0xffffffff, v.s_uuid as Uint8Array);
    return new Ext4Checksums(seed, corrupt);
  }

  private constructor(seed: number, private readonly corrupt: (structure: string, offset: number, what: string) => Error) {
    this.seed = seed;
  }

  /** Group `g`'s descriptor (`desc`, `descSize` bytes read at `at`), once per group; only the 64-byte form the writer seals. */
  groupDesc(g: number, desc: Uint8Array, descSize: number, at: number): void {
    if (this.groupsChecked.has(g) || descSize !== GroupDesc.size) return;
    const copy = desc.slice(0, GroupDesc.size);
    sealGroupDesc(copy, 0, g, this.seed);
    const want = GroupDesc.decodeField(copy, 'bg_checksum') as number, have = GroupDesc.decodeField(desc, 'bg_checksum') as number;
    if (want !== have) throw this.corrupt('ext4 group descriptor', at, `group ${g}: bg_checksum 0x${have.toString(16)} where 0x${want.toString(16)} belongs`);
    this.groupsChecked.add(g);
  }

  /** Inode `ino` (`raw`, `inodeSize` bytes at `at`); only inodes of the writer's size, with i_checksum_hi inside i_extra_isize. */
  inode(ino: number, raw: Uint8Array, inodeSize: number, extra: number, at: number): void {
    if (inodeSize !== INODE_SIZE || 128 + extra < Inode.offsetOf('i_checksum_hi') + 2) return;
    const copy = raw.slice(0, INODE_SIZE);
    sealInode(copy, new DataView(copy.buffer), 0, ino, Inode.decodeField(raw, 'i_generation') as number, this.seed);
    const want = Inode.decodeField(copy, 'i_checksum'), have = Inode.decodeField(raw, 'i_checksum');
    if (want !== have) throw this.corrupt(`ext4 inode ${ino}`, at, `i_checksum 0x${have.toString(16)} where 0x${want.toString(16)} belongs`);
  }

  /** The seed of inode `ino`'s directory, extent and htree blocks. */
  inodeSeed(ino: number, raw: Uint8Array): number {
    return inodeCsumSeed(this.seed, ino, Inode.decodeField(raw, 'i_generation') as number);
  }

  /** An extent tree block: ext4_extent_tail after eh_max entries holds crc32c(inode seed, the block up to it). */
  extentBlock(block: Uint8Array, at: number, inodeSeed: number): void {
    const tail = ExtentHeader.size + (ExtentHeader.decodeField(block, 'eh_max') as number) * ExtentLeaf.size;
    if (tail + ExtentTail.size > block.length) return; // eh_max is checked by the walk
    const want = crc32cUpdate(inodeSeed, block, 0, tail), have = ExtentTail.decodeField(block, 'et_checksum', tail) as number;
    if (want !== have) throw this.corrupt('ext4 extent block', at, `et_checksum 0x${have.toString(16)} where 0x${want.toString(16)} belongs`);
  }

  /** A directory block ending with ext4_dir_entry_tail: det_checksum = crc32c(inode seed, the block up to the tail). */
  dirBlock(block: Uint8Array, at: number, inodeSeed: number): void {
    const t = block.length - DirEntryTail.size;
    const tail = DirEntryTail.decode(block, t);
    if (tail.det_reserved_zero1 !== 0 || tail.det_rec_len !== DirEntryTail.size || tail.det_reserved_ft !== DIR_TAIL_FT) return; // an htree node, or no tail
    const want = crc32cUpdate(inodeSeed, block, 0, t), have = tail.det_checksum as number;
    if (want !== have) throw this.corrupt('ext4 directory block', at, `det_checksum 0x${have.toString(16)} where 0x${want.toString(16)} belongs`);
  }
}
