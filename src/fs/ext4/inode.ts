/**
 * The ext4 inode (ext4 docs inodes.rst; ext2_fs.h `struct ext2_inode_large`), 256 bytes with
 * i_extra_isize 32: nanosecond timestamps with two extra epoch bits (dates to 2446), crtime,
 * i_checksum_hi. Checksum: crc32c(seed, le32 ino, le32 generation, inode with both checksum fields
 * zeroed), low half in l_i_checksum_lo and high half in i_checksum_hi.
 */
import type { Timestamp } from '../../tree/model.js';
import { defineStruct } from '../../util/struct.js';
import { crc32cU32, crc32cUpdate } from './checksum.js';

export const INODE_SIZE = 256;
export const EXTRA_ISIZE = 32;

export const Inode = defineStruct('ext2_inode_large', INODE_SIZE, [
  { name: 'i_mode', offset: 0x0, kind: 'u16le' },
  { name: 'i_uid', offset: 0x2, kind: 'u16le' },
  { name: 'i_size_lo', offset: 0x4, kind: 'u32le' },
  { name: 'i_atime', offset: 0x8, kind: 'u32le' },
  { name: 'i_ctime', offset: 0xc, kind: 'u32le' },
  { name: 'i_mtime', offset: 0x10, kind: 'u32le' },
  { name: 'i_dtime', offset: 0x14, kind: 'u32le' },
  { name: 'i_gid', offset: 0x18, kind: 'u16le' },
  { name: 'i_links_count', offset: 0x1a, kind: 'u16le' },
  { name: 'i_blocks_lo', offset: 0x1c, kind: 'u32le' },
  { name: 'i_flags', offset: 0x20, kind: 'u32le' },
  { name: 'l_i_version', offset: 0x24, kind: 'u32le' },
  /** Block map, extent tree, device number or fast symlink text, by inode type (ifork.rst). */
  { name: 'i_block', offset: 0x28, kind: { array: 'u32le', count: 15 } },
  { name: 'i_generation', offset: 0x64, kind: 'u32le' },
  { name: 'i_file_acl_lo', offset: 0x68, kind: 'u32le' },
  { name: 'i_size_high', offset: 0x6c, kind: 'u32le' },
  { name: 'i_obso_faddr', offset: 0x70, kind: 'u32le' },
  { name: 'l_i_blocks_high', offset: 0x74, kind: 'u16le' },
  { name: 'l_i_file_acl_high', offset: 0x76, kind: 'u16le' },
  { name: 'l_i_uid_high', offset: 0x78, kind: 'u16le' },
  { name: 'l_i_gid_high', offset: 0x7a, kind: 'u16le' },
  { name: 'l_i_checksum_lo', offset: 0x7c, kind: 'u16le' },
  { name: 'l_i_reserved', offset: 0x7e, kind: 'u16le' },
  { name: 'i_extra_isize', offset: 0x80, kind: 'u16le' },
  { name: 'i_checksum_hi', offset: 0x82, kind: 'u16le' },
  { name: 'i_ctime_extra', offset: 0x84, kind: 'u32le' },
  { name: 'i_mtime_extra', offset: 0x88, kind: 'u32le' },
  { name: 'i_atime_extra', offset: 0x8c, kind: 'u32le' },
  { name: 'i_crtime', offset: 0x90, kind: 'u32le' },
  { name: 'i_crtime_extra', offset: 0x94, kind: 'u32le' },
  { name: 'i_version_hi', offset: 0x98, kind: 'u32le' },
  { name: 'i_projid', offset: 0x9c, kind: 'u32le' },
], {
  // inodes.rst: owners are 32-bit, the size 64-bit, i_blocks and the xattr block number 48-bit
  // (l_i_*_high in the Linux osd2 union), the checksum 32-bit (its _hi past the 128-byte base).
  i_uid: ['i_uid', 'l_i_uid_high'],
  i_gid: ['i_gid', 'l_i_gid_high'],
  i_size: ['i_size_lo', 'i_size_high'],
  i_blocks: ['i_blocks_lo', 'l_i_blocks_high'],
  i_file_acl: ['i_file_acl_lo', 'l_i_file_acl_high'],
  i_checksum: ['l_i_checksum_lo', 'i_checksum_hi'],
});

/** Byte offset of i_block in the inode (extent trees are encoded straight into it). */
export const I_BLOCK = Inode.offsetOf('i_block');
/** Bytes of i_block: symlinks shorter than this are stored in it (ifork.rst: "fast" symlinks). */
export const I_BLOCK_SIZE = Inode.sizeOf('i_block');

/** Where in-inode extended attributes start: after the 128-byte base and i_extra_isize. */
export const IBODY_XATTR_OFFSET = 128 + EXTRA_ISIZE;

// i_flags (ext2_fs.h).
export const EXT4_INDEX_FL = 0x1000;
export const EXT4_EXTENTS_FL = 0x80000;

/**
 * Encode seconds as ext4 does (ext4 docs inodes.rst "Inode Timestamps"): the low 32 bits as a signed
 * 32-bit value, plus two epoch bits in the extra field so that times up to 2446 survive.
 */
export function encodeTime(t: Timestamp): { base: number; extra: number } {
  const sec = Math.trunc(t.sec);
  const low = sec - Math.floor(sec / 0x1_0000_0000) * 0x1_0000_0000; // sec mod 2^32, in [0, 2^32)
  const signedLow = low >= 0x8000_0000 ? low - 0x1_0000_0000 : low;
  const epochBits = ((sec - signedLow) / 0x1_0000_0000) & 3;
  const nsec = Math.min(Math.max(Math.trunc(t.nsec), 0), 999_999_999);
  return { base: low, extra: ((nsec * 4) + epochBits) >>> 0 };
}

/**
 * i_block of a character or block device (fs/ext4/inode.c ext4_fill_raw_inode): old_encode_dev's
 * 16 bits in i_block[0] when major and minor fit a byte each, else new_encode_dev's 32 bits in
 * i_block[1] with i_block[0] zero.
 */
export function deviceIblock(major: number, minor: number): number[] {
  if (major < 256 && minor < 256) return [(major << 8) | minor];
  return [0, ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0];
}

/** Field offsets of the Inode table, for the per-inode fast path below. */
const OFF = Object.fromEntries(Inode.fields.map((f) => [f.name, f.offset])) as Record<(typeof Inode.fields)[number]['name'], number>;

/** The values of one inode as the planner has them (times already clamped). */
export interface InodeValues {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  links: number;
  /** i_blocks in 512-byte units. */
  sectors: number;
  flags: number;
  fileAcl: number;
  atime: Timestamp;
  mtime: Timestamp;
  ctime: Timestamp;
}

function checkRange(what: string, v: number, bits: number): void {
  if (!Number.isSafeInteger(v) || v < 0 || v >= 2 ** bits) throw new RangeError(`inode ${what} ${v} does not fit in ${bits} bits`);
}

const TWO32 = 0x1_0000_0000;
const UID = Inode.split('i_uid'), GID = Inode.split('i_gid'), SIZE = Inode.split('i_size');
const BLOCKS = Inode.split('i_blocks'), FILE_ACL = Inode.split('i_file_acl'), CHECKSUM = Inode.split('i_checksum');

/** A timestamp into its base and _extra fields (see encodeTime), without temporaries. */
function putTime(dv: DataView, at: number, base: number, extra: number, t: Timestamp): void {
  const sec = Math.trunc(t.sec);
  const low = sec - Math.floor(sec / TWO32) * TWO32;
  const signedLow = low >= 0x8000_0000 ? low - TWO32 : low;
  const nsec = Math.min(Math.max(Math.trunc(t.nsec), 0), 999_999_999);
  dv.setUint32(at + base, low, true);
  dv.setUint32(at + extra, ((nsec * 4) + (((sec - signedLow) / TWO32) & 3)) >>> 0, true);
}

/**
 * Write an inode's fields at `buf[at]` (the fields, offsets and splits of `Inode`, written directly:
 * this runs once per file, and the generic encoder costs several times more per call). Splits
 * check their range (RangeError).
 */
export function writeInodeValues(dv: DataView, at: number, v: InodeValues): void {
  checkRange('links', v.links, 16);
  dv.setUint16(at + OFF.i_mode, v.mode, true);
  UID.write(dv, at, v.uid);
  GID.write(dv, at, v.gid);
  SIZE.write(dv, at, v.size);
  putTime(dv, at, OFF.i_atime, OFF.i_atime_extra, v.atime);
  putTime(dv, at, OFF.i_mtime, OFF.i_mtime_extra, v.mtime);
  putTime(dv, at, OFF.i_ctime, OFF.i_ctime_extra, v.ctime);
  // No birth time in the tree: crtime is the change time, like mke2fs -d's copies.
  putTime(dv, at, OFF.i_crtime, OFF.i_crtime_extra, v.ctime);
  dv.setUint16(at + OFF.i_links_count, v.links, true);
  BLOCKS.write(dv, at, v.sectors);
  dv.setUint32(at + OFF.i_flags, v.flags, true);
  FILE_ACL.write(dv, at, v.fileAcl);
  dv.setUint16(at + OFF.i_extra_isize, EXTRA_ISIZE, true);
}

/** Seal the checksum of the inode at buf[offset, offset + INODE_SIZE) (`dv` views all of `buf`). */
export function sealInode(buf: Uint8Array, dv: DataView, offset: number, ino: number, generation: number, csumSeed: number): void {
  CHECKSUM.write(dv, offset, 0);
  let c = crc32cU32(csumSeed, ino);
  c = crc32cU32(c, generation);
  c = crc32cUpdate(c, buf, offset, offset + INODE_SIZE);
  CHECKSUM.write(dv, offset, c);
}

/** The per-inode checksum seed that directory, extent and htree blocks use. */
export function inodeCsumSeed(csumSeed: number, ino: number, generation: number): number {
  return crc32cU32(crc32cU32(csumSeed, ino), generation);
}
