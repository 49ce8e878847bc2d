/**
 * Inode numbers, the inode table and the directory table (squashfs.rst "Inodes", "Directory
 * table").
 *
 * Numbers (docs/ARCHITECTURE.md §4, a defined order): as mksquashfs 4.5 numbers them (dir_scan6),
 * pre-order with children in byte order, a directory before its contents, the root last; a hard
 * link group takes its number where it is first met. Regular files' data is stored in that order.
 *
 * Inodes are written as mksquashfs writes them (dir_scan8): post-order, a directory's entries
 * first (a subdirectory with all its contents), then its listing in the directory table, then its
 * own inode, so every reference points backwards and is known when written. An inode is extended
 * (squashfs_l*_inode) only when it must be: xattrs; for files also hard links, holes, 4 GiB of
 * size or of start position; for directories an index or a listing past what the basic inode holds.
 *
 * @example
 * const numbered = numberInodes(tree);
 * const { root, refs } = await writeInodes(tree, numbered, tables);
 */
import { DiskwrightError } from '../../errors.js';
import type { Tree, TreeNode } from '../../tree/model.js';
import type { StoredData } from './data.js';
import { buildListing, type ListingEntry } from './dir.js';
import {
  DevInode, DirEntry, DirIndex, DirInode, EXTENDED, InodeType, INVALID_XATTR, inodeRef, IpcInode, LDevInode, LDirInode, LIpcInode, LRegInode, NAME_LEN, RegInode, SymlinkInode,
} from './format.js';
import type { MetadataTable } from './metadata.js';
import type { XattrTable } from './xattr.js';

export interface InodeInfo {
  /** The first node of the inode (a hard link group's others share it). */
  node: TreeNode;
  number: number;
  nlink: number;
  /** Basic type (what directory entries store). */
  type: number;
  /** Where it was written: its block's start in the inode table, its offset in the block. */
  ref?: { block: number; offset: number };
}

export interface Numbered {
  /** Every node's inode. */
  infos: Map<TreeNode, InodeInfo>;
  /** Regular-file inodes in data order. */
  files: TreeNode[];
  count: number;
}

const BASIC_TYPE: Record<TreeNode['kind'], number> = {
  dir: InodeType.DIR, file: InodeType.REG, symlink: InodeType.SYMLINK, block: InodeType.BLKDEV,
  char: InodeType.CHRDEV, fifo: InodeType.FIFO, socket: InodeType.SOCKET,
};

/** Number every inode (see the module comment) and count links. */
export function numberInodes(tree: Tree): Numbered {
  const infos = new Map<TreeNode, InodeInfo>();
  const byLink = new Map<number, InodeInfo>();
  const files: TreeNode[] = [];
  let next = 1;
  const visit = (dir: TreeNode): void => {
    let subdirs = 0;
    for (const child of dir.children ?? []) {
      let info = child.linkId !== undefined ? byLink.get(child.linkId) : undefined;
      if (info) info.nlink++;
      else {
        info = { node: child, number: next++, nlink: 1, type: BASIC_TYPE[child.kind] };
        if (child.linkId !== undefined) byLink.set(child.linkId, info);
        if (child.kind === 'file') files.push(child);
      }
      infos.set(child, info);
      if (child.kind === 'dir') { subdirs++; visit(child); }
    }
    infos.get(dir)!.nlink = 2 + subdirs;
  };
  infos.set(tree.root, { node: tree.root, number: 0, nlink: 2, type: InodeType.DIR });
  visit(tree.root);
  infos.get(tree.root)!.number = next;
  return { infos, files, count: next };
}

/** The id table (squashfs.rst "Id table"): distinct uids and gids, in order of first use; inodes store indexes. */
export class IdTable {
  readonly ids: number[] = [];
  private readonly index = new Map<number, number>();
  constructor(private readonly specPath: string) {}
  indexOf(id: number): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      // Inodes hold a 16-bit index, and the superblock's no_ids is 16 bits too.
      if (i >= 0xffff) throw new DiskwrightError('E_SQUASHFS_IDS', `the tree has more than 65535 distinct uids and gids; squashfs stores at most 65535`, { path: `${this.specPath}.contents` });
      this.ids.push(id);
      this.index.set(id, i);
    }
    return i;
  }
}

export interface InodeTables {
  inodes: MetadataTable;
  dirs: MetadataTable;
  xattrs: XattrTable;
  ids: IdTable;
  stored: Map<TreeNode, StoredData>;
  specPath: string;
  onWarning?: (message: string) => void;
}

const U32 = 2 ** 32;

/** A node's place in the tree; its path is spelled out only for messages (errors and warnings name it). */
interface Place { parent: Place | undefined; name: Buffer }

function pathOf(p: Place): Buffer {
  const names: Buffer[] = [];
  for (let q: Place | undefined = p; q?.parent; q = q.parent) names.push(q.name);
  if (names.length === 0) return Buffer.from('/');
  const parts: Buffer[] = [];
  for (let i = names.length - 1; i >= 0; i--) parts.push(Buffer.from('/'), names[i]!);
  return Buffer.concat(parts);
}

const BASE = {
  type: RegInode.offsetOf('inode_type'), mode: RegInode.offsetOf('mode'), uid: RegInode.offsetOf('uid'), guid: RegInode.offsetOf('guid'),
  mtime: RegInode.offsetOf('mtime'), number: RegInode.offsetOf('inode_number'),
};
const REG = { start: RegInode.offsetOf('start_block'), fragment: RegInode.offsetOf('fragment'), offset: RegInode.offsetOf('offset'), size: RegInode.offsetOf('file_size') };

/** Write every inode and listing; returns the root inode's reference and each inode's by number. */
export async function writeInodes(tree: Tree, numbered: Numbered, t: InodeTables): Promise<{ root: bigint; refs: bigint[] }> {
  const refs: bigint[] = new Array<bigint>(numbered.count).fill(0n);
  let clampedTime = false;
  const put = (info: InodeInfo, bytes: Uint8Array): Promise<void> | undefined => {
    info.ref = t.inodes.ref();
    refs[info.number - 1] = inodeRef(info.ref.block, info.ref.offset);
    return t.inodes.append(bytes);
  };
  const mtimeOf = (n: TreeNode, place: Place): number => {
    let mtime = n.mtime.sec;
    if (mtime < 0 || mtime >= U32) {
      mtime = Math.min(Math.max(mtime, 0), U32 - 1);
      if (!clampedTime) {
        clampedTime = true;
        t.onWarning?.(`squashfs stores times from 1970 to 2106 only: ${pathOf(place).toString()} and any others outside are clamped to that range`);
      }
    }
    return mtime;
  };
  const base = (info: InodeInfo, type: number, place: Place) => {
    const n = info.node;
    // Permission bits only (SQUASHFS_MODE): the kernel ORs in the type from inode_type.
    return { inode_type: type, mode: n.mode & 0o7777, uid: t.ids.indexOf(n.uid), guid: t.ids.indexOf(n.gid), mtime: mtimeOf(n, place), inode_number: info.number };
  };
  /** An inode's xattr id: most nodes have none (no table look-up, nothing to wait for). */
  const xattrOf = (n: TreeNode, place: Place): number | Promise<number> => (n.xattrs.length === 0 ? INVALID_XATTR : t.xattrs.idOf(n.xattrs, pathOf(place).toString()));

  const writeLeaf = (info: InodeInfo, place: Place): Promise<void> | undefined => {
    const x = xattrOf(info.node, place);
    return typeof x === 'number' ? leaf(info, place, x) : x.then((xattr) => leaf(info, place, xattr));
  };
  const leaf = (info: InodeInfo, place: Place, xattr: number): Promise<void> | undefined => {
    const n = info.node;
    const ext = xattr !== INVALID_XATTR;
    switch (n.kind) {
      case 'file': {
        const d = t.stored.get(n)!;
        let sparse = n.sparse ? d.sparseBytes : 0;
        // mksquashfs keeps it below the size (the kernel computes i_blocks from size - sparse).
        if (sparse > 0 && sparse >= n.size) sparse = n.size - 1;
        const long = ext || info.nlink > 1 || sparse > 0 || n.size >= U32 || d.start >= U32;
        const S = long ? LRegInode : RegInode;
        const bytes = new Uint8Array(S.size + 4 * d.blocks.length);
        const dv = new DataView(bytes.buffer);
        if (long) LRegInode.encode({ ...base(info, InodeType.LREG, place), start_block: d.start, fragment: d.fragment, offset: d.fragmentOffset, file_size: n.size, sparse, nlink: info.nlink, xattr }, bytes);
        else {
          // The common inode (most of a tree's), written at RegInode's offsets without the generic encoder.
          if (d.fragment > 0xffffffff || d.fragmentOffset > 0xffffffff) throw new RangeError(`squashfs_reg_inode: fragment ${d.fragment} offset ${d.fragmentOffset} do not fit`);
          dv.setUint16(BASE.type, InodeType.REG, true);
          dv.setUint16(BASE.mode, n.mode & 0o7777, true);
          dv.setUint16(BASE.uid, t.ids.indexOf(n.uid), true);
          dv.setUint16(BASE.guid, t.ids.indexOf(n.gid), true);
          dv.setUint32(BASE.mtime, mtimeOf(n, place), true);
          dv.setUint32(BASE.number, info.number, true);
          dv.setUint32(REG.start, d.start, true);
          dv.setUint32(REG.fragment, d.fragment, true);
          dv.setUint32(REG.offset, d.fragmentOffset, true);
          dv.setUint32(REG.size, n.size, true);
        }
        for (let i = 0; i < d.blocks.length; i++) dv.setUint32(S.size + 4 * i, d.blocks[i]!, true);
        return put(info, bytes);
      }
      case 'symlink': {
        const target = n.symlinkTarget ?? Buffer.alloc(0);
        const bytes = new Uint8Array(SymlinkInode.size + target.length + (ext ? 4 : 0));
        SymlinkInode.encode({ ...base(info, ext ? InodeType.SYMLINK + EXTENDED : InodeType.SYMLINK, place), nlink: info.nlink, symlink_size: target.length }, bytes);
        bytes.set(target, SymlinkInode.size);
        if (ext) new DataView(bytes.buffer).setUint32(SymlinkInode.size + target.length, xattr, true);
        return put(info, bytes);
      }
      case 'char': case 'block': {
        const { major, minor } = n.rdev ?? { major: 0, minor: 0 };
        // squashfs_dev_inode.rdev keeps the old 32-bit encoding: 12 bits of major, 20 of minor.
        if (major > 0xfff || minor > 0xfffff) {
          const path = pathOf(place).toString();
          throw new DiskwrightError('E_SQUASHFS_DEVICE', `device ${path} is ${major}:${minor}; squashfs stores majors up to 4095 and minors up to 1048575`, { path: `${t.specPath}.contents`, value: path });
        }
        const rdev = ((major << 8) | (minor & 0xff) | ((minor & ~0xff) << 12)) >>> 0;
        const type = info.type + (ext ? EXTENDED : 0);
        const S = ext ? LDevInode : DevInode;
        const bytes = new Uint8Array(S.size);
        if (ext) LDevInode.encode({ ...base(info, type, place), nlink: info.nlink, rdev, xattr }, bytes);
        else DevInode.encode({ ...base(info, type, place), nlink: info.nlink, rdev }, bytes);
        return put(info, bytes);
      }
      case 'fifo': case 'socket': {
        const type = info.type + (ext ? EXTENDED : 0);
        const bytes = new Uint8Array(ext ? LIpcInode.size : IpcInode.size);
        if (ext) LIpcInode.encode({ ...base(info, type, place), nlink: info.nlink, xattr }, bytes);
        else IpcInode.encode({ ...base(info, type, place), nlink: info.nlink }, bytes);
        return put(info, bytes);
      }
      case 'dir': throw new Error('unreachable: directories are written by writeDir');
    }
  };

  const writeDir = async (dir: TreeNode, place: Place, parentNumber: number): Promise<void> => {
    const info = numbered.infos.get(dir)!;
    const entries: ListingEntry[] = [];
    let nameBytes = 0;
    for (const child of dir.children ?? []) {
      const c = numbered.infos.get(child)!;
      const childPlace: Place = { parent: place, name: child.name };
      if (child.name.length > NAME_LEN) {
        const path = pathOf(childPlace).toString();
        throw new DiskwrightError('E_SQUASHFS_NAME', `${path}: a name of ${child.name.length} bytes; squashfs names hold at most ${NAME_LEN}`, { path: `${t.specPath}.contents`, value: path });
      }
      if (child.kind === 'dir') await writeDir(child, childPlace, info.number);
      else if (!c.ref) {
        const pending = writeLeaf(c, childPlace);
        if (pending) await pending;
      }
      entries.push({ name: child.name, block: c.ref!.block, offset: c.ref!.offset, inodeNumber: c.number, type: c.type });
      nameBytes += child.name.length + DirEntry.size;
    }
    const listing = buildListing(entries);
    const at = t.dirs.ref();
    const position = t.dirs.position;
    await t.dirs.append(listing.bytes);
    const xattr = await xattrOf(dir, place);
    const fileSize = listing.bytes.length + 3;
    // mksquashfs (dir_scan6) makes a directory extended from 257 entries or 8 KiB of names on.
    const long = xattr !== INVALID_XATTR || listing.index.length > 0 || fileSize > 0xffff || entries.length >= 257 || nameBytes >= 8192;
    const common = { ...base(info, long ? InodeType.LDIR : InodeType.DIR, place), start_block: at.block, offset: at.offset, nlink: info.nlink, file_size: fileSize, parent_inode: parentNumber };
    if (!long) {
      const bytes = new Uint8Array(DirInode.size);
      DirInode.encode(common, bytes);
      return put(info, bytes);
    }
    let size = LDirInode.size;
    for (const x of listing.index) size += DirIndex.size + x.name.length;
    const bytes = new Uint8Array(size);
    LDirInode.encode({ ...common, i_count: listing.index.length, xattr }, bytes);
    let p = LDirInode.size;
    for (const x of listing.index) {
      DirIndex.encode({ index: x.offset, start_block: t.dirs.blockStartAt(position + x.offset), size: x.name.length - 1 }, bytes, p);
      bytes.set(x.name, p + DirIndex.size);
      p += DirIndex.size + x.name.length;
    }
    return put(info, bytes);
  };

  // The root's parent is one past the last inode number (mksquashfs get_parent_no).
  await writeDir(tree.root, { parent: undefined, name: Buffer.alloc(0) }, numbered.count + 1);
  const root = numbered.infos.get(tree.root)!.ref!;
  return { root: inodeRef(root.block, root.offset), refs };
}
