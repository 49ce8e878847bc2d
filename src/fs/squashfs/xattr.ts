/**
 * Extended attributes (squashfs.rst "Xattr table"): each distinct set of an inode's name/value
 * pairs is stored once in the xattr metadata table (squashfs_xattr_entry with the name's prefix
 * as a type id and the rest of the name, then squashfs_xattr_val with the value, inline), and
 * gets an id (squashfs_xattr_id: where the pairs are, how many, their total size) that inodes
 * store. Inodes with the same set share an id, as mksquashfs does; values are not shared between
 * sets (mksquashfs's out-of-line values are optional in the format).
 *
 * The format has type ids for `user.`, `trusted.` and `security.` only: POSIX ACLs
 * (`system.posix_acl_*`) and other namespaces have none, in the kernel and in squashfs-tools
 * alike, and are left out with a warning.
 *
 * @example
 * const xattrs = new XattrTable(compress, onWarning);
 * const id = await xattrs.idOf(node.xattrs, '/etc/passwd'); // INVALID_XATTR when none
 */
import type { Xattr } from '../../tree/model.js';
import { INVALID_XATTR, inodeRef, XATTR_PREFIXES, XattrEntry, XattrId, XattrVal } from './format.js';
import { MetadataTable, type CompressBlock } from './metadata.js';

export class XattrTable {
  /** The name/value lists (xattr_table_start points at its first block). */
  readonly pairs: MetadataTable;
  private readonly ids = new Map<string, number>();
  /** squashfs_xattr_id entries, in id order. */
  private readonly entries: Uint8Array[] = [];
  private readonly dropped = new Set<string>();

  constructor(compress: CompressBlock, private readonly onWarning?: (message: string) => void) {
    this.pairs = new MetadataTable(compress);
  }

  get count(): number { return this.entries.length; }

  /** The id of an inode's xattrs (stored now if new), or INVALID_XATTR when it has none squashfs can hold. */
  async idOf(xattrs: readonly Xattr[], path: string): Promise<number> {
    const kept: { type: number; name: Buffer; value: Uint8Array; full: number }[] = [];
    for (const x of xattrs) {
      const prefix = XATTR_PREFIXES.find(([p]) => x.name.startsWith(p));
      if (!prefix || x.name.length === prefix[0].length) {
        const ns = x.name.includes('.') ? x.name.slice(0, x.name.indexOf('.') + 1) : x.name;
        if (!this.dropped.has(ns)) {
          this.dropped.add(ns);
          this.onWarning?.(`squashfs has no xattr namespace ${ns}* (only user., trusted. and security.): ${x.name} of ${path} and any others like it are left out`);
        }
        continue;
      }
      const name = Buffer.from(x.name.slice(prefix[0].length), 'utf8');
      kept.push({ type: prefix[1], name, value: x.value, full: Buffer.byteLength(x.name, 'utf8') });
    }
    if (kept.length === 0) return INVALID_XATTR;
    const key = kept.map((k) => `${k.type}:${k.name.toString('hex')}=${Buffer.from(k.value).toString('hex')}`).join(',');
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    const ref = this.pairs.ref();
    let total = 0;
    for (const k of kept) {
      const bytes = new Uint8Array(XattrEntry.size + k.name.length + XattrVal.size + k.value.length);
      XattrEntry.encode({ type: k.type, size: k.name.length }, bytes, 0);
      bytes.set(k.name, XattrEntry.size);
      XattrVal.encode({ vsize: k.value.length }, bytes, XattrEntry.size + k.name.length);
      bytes.set(k.value, XattrEntry.size + k.name.length + XattrVal.size);
      await this.pairs.append(bytes);
      // The size listxattr and getxattr see: full name, its NUL, the value (squashfs-tools get_xattr_id).
      total += k.full + 1 + k.value.length;
    }
    const entry = new Uint8Array(XattrId.size);
    XattrId.encode({ xattr: inodeRef(ref.block, ref.offset), count: kept.length, size: total }, entry);
    const id = this.entries.length;
    this.entries.push(entry);
    this.ids.set(key, id);
    return id;
  }

  /** The squashfs_xattr_id entries, concatenated. */
  idEntries(): Uint8Array {
    return Buffer.concat(this.entries);
  }
}
