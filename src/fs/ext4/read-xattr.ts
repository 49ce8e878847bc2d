/**
 * Extended attributes as the ext4 reader finds them (ext4 docs §4.7 "Extended Attributes";
 * e2fsprogs lib/ext2fs/ext_attr.c), decoded with the writer's XattrHeader/XattrEntry: in the inode
 * body after i_extra_isize (a magic word, then entries whose values are addressed from the first
 * entry) and in one xattr block (a header, then entries whose values are addressed from the block
 * start). Every entry, name and value is checked to lie inside its region. POSIX ACLs are turned
 * back from ext4's on-disk format (fs/ext4/acl.c) into the xattr API's, as getfattr shows them.
 */
import type { Xattr } from '../../tree/model.js';
import { XATTR_MAGIC, XattrEntry, XattrHeader } from './xattr.js';

/** e_name_index to prefix (ext_attr.c ea_names); 2 and 3 are the whole name. */
const PREFIX: Record<number, string> = {
  1: 'user.', 2: 'system.posix_acl_access', 3: 'system.posix_acl_default', 4: 'trusted.', 6: 'security.', 7: 'system.', 8: 'system.richacl',
};
/** XATTR_SIZE_MAX: the largest value the xattr API passes. */
export const XATTR_SIZE_MAX = 65536;
const ACL_USER = 2, ACL_GROUP = 8, ACL_UNDEFINED_ID = 0xffffffff;

export interface XattrRegion {
  /** The bytes: an inode body's xattr area (magic included) or a whole xattr block. */
  bytes: Uint8Array;
  /** Where `bytes` start in the filesystem, for messages. */
  at: number;
  /** 'ibody' (entries after the 4-byte magic, values from the first entry) or 'block'. */
  kind: 'ibody' | 'block';
}

export interface XattrContext {
  corrupt(structure: string, offset: number, what: string): Error;
  /** The value kept in inode `ino` (ea_inode feature), `size` bytes. */
  inodeValue(ino: number, size: number, at: number): Uint8Array;
}

/** The attributes of one region, in on-disk order (names with their prefix). */
export function regionXattrs(ctx: XattrContext, r: XattrRegion): Xattr[] {
  const b = r.bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const what = r.kind === 'ibody' ? 'ext4 in-inode xattrs' : 'ext4 xattr block';
  if (b.length < 4 || dv.getUint32(0, true) !== XATTR_MAGIC) {
    if (r.kind === 'ibody') return []; // no attributes in the inode
    throw ctx.corrupt(what, r.at, 'no xattr magic');
  }
  let first = 4;
  if (r.kind === 'block') {
    const h = XattrHeader.decode(b);
    if (h.h_blocks !== 1) throw ctx.corrupt(what, r.at, `h_blocks ${h.h_blocks} is not 1`);
    first = XattrHeader.size;
  }
  const valueBase = r.kind === 'ibody' ? first : 0;
  const out: Xattr[] = [];
  for (let at = first; ;) {
    if (at + 4 > b.length) throw ctx.corrupt(what, r.at + at, 'entries run past the end of the region');
    if (dv.getUint32(at, true) === 0) break; // the end marker
    if (at + XattrEntry.size > b.length) throw ctx.corrupt(what, r.at + at, 'an entry runs past the end of the region');
    const e = XattrEntry.decode(b, at);
    const nameLen = e.e_name_len as number, index = e.e_name_index as number;
    const nameAt = at + XattrEntry.size;
    if (nameAt + nameLen > b.length) throw ctx.corrupt(what, r.at + at, `a ${nameLen}-byte name runs past the end of the region`);
    const size = e.e_value_size as number, inum = e.e_value_inum as number;
    if (size > XATTR_SIZE_MAX) throw ctx.corrupt(what, r.at + at, `a value of ${size} bytes is larger than ${XATTR_SIZE_MAX}`);
    let value: Uint8Array;
    if (inum !== 0) value = ctx.inodeValue(inum, size, r.at + at);
    else {
      const vo = valueBase + (e.e_value_offs as number);
      if (vo + size > b.length) throw ctx.corrupt(what, r.at + at, `value at ${e.e_value_offs} of ${size} bytes runs past the end of the region`);
      value = b.slice(vo, vo + size);
    }
    const prefix = PREFIX[index];
    if (prefix !== undefined) {
      const name = prefix + Buffer.from(b.subarray(nameAt, nameAt + nameLen)).toString('utf8');
      out.push({ name, value: index === 2 || index === 3 ? aclFromDisk(ctx, value, what, r.at + at) : value });
    }
    at += (XattrEntry.size + nameLen + 3) & ~3;
  }
  return out;
}

/** ext4's on-disk ACL (version 1; short entries for tags without an id) to the xattr API format (version 2). */
function aclFromDisk(ctx: XattrContext, v: Uint8Array, what: string, at: number): Uint8Array {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  if (v.length < 4 || dv.getUint32(0, true) !== 1) throw ctx.corrupt(what, at, 'a POSIX ACL without its version 1 header');
  const out: number[] = [2, 0, 0, 0];
  const put32 = (x: number): void => { out.push(x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24); };
  for (let o = 4; o < v.length;) {
    if (o + 4 > v.length) throw ctx.corrupt(what, at, 'a POSIX ACL entry cut short');
    const tag = dv.getUint16(o, true), perm = dv.getUint16(o + 2, true);
    out.push(tag & 0xff, tag >>> 8, perm & 0xff, perm >>> 8);
    if (tag === ACL_USER || tag === ACL_GROUP) {
      if (o + 8 > v.length) throw ctx.corrupt(what, at, 'a POSIX ACL entry cut short');
      put32(dv.getUint32(o + 4, true));
      o += 8;
    } else {
      put32(ACL_UNDEFINED_ID);
      o += 4;
    }
  }
  return Uint8Array.from(out);
}
