/**
 * Extended attributes (ext4 docs §4.7 Extended Attributes; e2fsprogs lib/ext2fs/ext_attr.c).
 * Attributes go in the inode body after i_extra_isize while they fit, the rest in one xattr block.
 * POSIX ACLs are stored in the ext4 on-disk ACL format (ext4 acl.h), not the xattr API format.
 */
import { DiskwrightError } from '../../errors.js';
import type { Xattr } from '../../tree/model.js';
import { defineStruct } from '../../util/struct.js';
import { crc32cU64, crc32cUpdate } from './checksum.js';
import { IBODY_XATTR_OFFSET, INODE_SIZE } from './inode.js';

export const XattrHeader = defineStruct('ext2_ext_attr_header', 32, [
  { name: 'h_magic', offset: 0x0, kind: 'u32le' },
  { name: 'h_refcount', offset: 0x4, kind: 'u32le' },
  { name: 'h_blocks', offset: 0x8, kind: 'u32le' },
  { name: 'h_hash', offset: 0xc, kind: 'u32le' },
  { name: 'h_checksum', offset: 0x10, kind: 'u32le' },
]);

export const XattrEntry = defineStruct('ext2_ext_attr_entry', 16, [
  { name: 'e_name_len', offset: 0x0, kind: 'u8' },
  { name: 'e_name_index', offset: 0x1, kind: 'u8' },
  { name: 'e_value_offs', offset: 0x2, kind: 'u16le' },
  { name: 'e_value_inum', offset: 0x4, kind: 'u32le' },
  { name: 'e_value_size', offset: 0x8, kind: 'u32le' },
  { name: 'e_hash', offset: 0xc, kind: 'u32le' },
]);

export const XATTR_MAGIC = 0xea020000;

/** Name prefixes and their e_name_index (ext_attr.c ea_names), longest first. */
const PREFIXES: readonly [string, number][] = [
  ['system.posix_acl_access', 2],
  ['system.posix_acl_default', 3],
  ['system.richacl', 8],
  ['security.', 6],
  ['trusted.', 4],
  ['system.', 7],
  ['user.', 1],
];

export interface XattrRecord {
  index: number;
  name: Buffer;
  value: Uint8Array;
}

const pad4 = (n: number): number => (n + 3) & ~3;
const entryLen = (nameLen: number): number => pad4(16 + nameLen);

// posix_acl_xattr (xattr API, version 2) and ext4_acl (on disk, version 1) tags.
const ACL_USER = 2;
const ACL_GROUP = 8;

/** Convert a POSIX ACL from the xattr API format to ext4's on-disk format (fs/ext4/acl.c). */
export function aclToDisk(value: Uint8Array, what: () => string): Uint8Array {
  const src = Buffer.from(value);
  if (src.length < 4 || (src.length - 4) % 8 !== 0 || src.readUInt32LE(0) !== 2) {
    throw new DiskwrightError('E_XATTR', `${what()}: not a POSIX ACL in xattr format (version 2 header, 8-byte entries)`, { value: src.toString('hex') });
  }
  const n = (src.length - 4) / 8;
  const out: number[] = [];
  const put16 = (v: number): void => { out.push(v & 0xff, v >>> 8); };
  const put32 = (v: number): void => { put16(v & 0xffff); put16(v >>> 16); };
  put32(1);
  for (let i = 0; i < n; i++) {
    const tag = src.readUInt16LE(4 + i * 8), perm = src.readUInt16LE(6 + i * 8), id = src.readUInt32LE(8 + i * 8);
    put16(tag); put16(perm);
    if (tag === ACL_USER || tag === ACL_GROUP) put32(id);
  }
  return Uint8Array.from(out);
}

/**
 * Split a tree xattr into its index and stored name/value; unknown namespaces are an error. `what`
 * names the file for errors; it is called only then (spelling out a path walks the tree).
 */
export function toRecord(x: Xattr, what: () => string): XattrRecord {
  for (const [prefix, index] of PREFIXES) {
    if (x.name.startsWith(prefix)) {
      const name = Buffer.from(x.name.slice(prefix.length), 'utf8');
      if (name.length > 255) throw new DiskwrightError('E_XATTR', `${what()}: xattr name ${x.name} is longer than 255 bytes`, { value: x.name });
      const value = index === 2 || index === 3 ? aclToDisk(x.value, () => `${what()}: ${x.name}`) : x.value;
      return { index, name, value };
    }
  }
  throw new DiskwrightError('E_XATTR', `${what()}: xattr ${x.name} has a namespace ext4 cannot store (user., trusted., security., system.)`, { value: x.name });
}

/** ext2fs_ext_attr_hash_entry (unsigned name bytes). */
export function entryHash(r: XattrRecord): number {
  let h = 0;
  for (const b of r.name) h = ((h << 5) ^ (h >>> 27) ^ b) >>> 0;
  if (r.value.length) {
    const v = new Uint8Array(pad4(r.value.length));
    v.set(r.value);
    const dv = new DataView(v.buffer);
    for (let i = 0; i < v.length; i += 4) h = ((h << 16) ^ (h >>> 16) ^ dv.getUint32(i, true)) >>> 0;
  }
  return h;
}

/** Space entries and values take in a region (the 4-byte end marker not included). */
const recordSpace = (r: XattrRecord): number => entryLen(r.name.length) + pad4(r.value.length);

/** In-inode room: the inode after i_extra_isize, minus the magic word and the end marker. */
export const IBODY_ROOM = INODE_SIZE - IBODY_XATTR_OFFSET - 4 - 4;

/** Decide which records live in the inode (in order, while they fit) and which in the block. */
export function placeXattrs(records: readonly XattrRecord[], blockSize: number, what: () => string): { ibody: XattrRecord[]; block: XattrRecord[] } {
  const ibody: XattrRecord[] = [];
  const block: XattrRecord[] = [];
  let used = 0;
  for (const r of records) {
    if (block.length === 0 && used + recordSpace(r) <= IBODY_ROOM) { ibody.push(r); used += recordSpace(r); } else block.push(r);
  }
  // ext4 keeps block entries sorted by (index, name length, name) (fs/ext4/xattr.c).
  block.sort((a, b) => (a.index - b.index) || (a.name.length - b.name.length) || Buffer.compare(a.name, b.name));
  let blockUsed = 32 + 4;
  for (const r of block) blockUsed += recordSpace(r);
  if (blockUsed > blockSize) {
    throw new DiskwrightError('E_XATTR', `${what()}: extended attributes need ${blockUsed} bytes, more than one ${blockSize}-byte block`, { value: blockUsed });
  }
  return { ibody, block };
}

/**
 * Write entries from `entriesAt` and values down from `end`; value offsets count from `base`.
 * Returns each entry's hash.
 */
function writeRegion(buf: Uint8Array, entriesAt: number, end: number, base: number, records: readonly XattrRecord[]): number[] {
  let at = entriesAt;
  let valueAt = end;
  const hashes: number[] = [];
  for (const r of records) {
    valueAt -= pad4(r.value.length);
    const h = entryHash(r);
    hashes.push(h);
    XattrEntry.encode({ e_name_len: r.name.length, e_name_index: r.index, e_value_offs: r.value.length ? valueAt - base : 0, e_value_inum: 0, e_value_size: r.value.length, e_hash: h }, buf, at);
    buf.set(r.name, at + 16);
    buf.set(r.value, valueAt);
    at += entryLen(r.name.length);
  }
  return hashes;
}

/** Fill the in-inode xattr area of an encoded inode at buf[inodeAt]. */
export function writeIbodyXattrs(buf: Uint8Array, inodeAt: number, records: readonly XattrRecord[]): void {
  if (records.length === 0) return;
  const start = inodeAt + IBODY_XATTR_OFFSET;
  new DataView(buf.buffer, buf.byteOffset + start, 4).setUint32(0, XATTR_MAGIC, true);
  writeRegion(buf, start + 4, inodeAt + INODE_SIZE, start + 4, records);
}

/** Encode an xattr block at block number `blockNr`, sealed with crc32c(seed, le64 blockNr, block). */
export function encodeXattrBlock(records: readonly XattrRecord[], blockSize: number, blockNr: number, csumSeed: number): Uint8Array {
  const buf = new Uint8Array(blockSize);
  const hashes = writeRegion(buf, 32, blockSize, 0, records);
  let h = 0;
  for (const eh of hashes) h = ((h << 16) ^ (h >>> 16) ^ eh) >>> 0;
  XattrHeader.encode({ h_magic: XATTR_MAGIC, h_refcount: 1, h_blocks: 1, h_hash: h, h_checksum: 0 }, buf, 0);
  const c = crc32cUpdate(crc32cU64(csumSeed, blockNr), buf);
  XattrHeader.encode({ h_checksum: c }, buf, 0);
  return buf;
}
