import type { Volume } from '../extent/extent.js';

/**
 * The Tree (docs/ARCHITECTURE.md §2.1): an in-memory model of the hierarchy that goes into one filesystem.
 * Names are raw bytes (Linux names need not be UTF-8); children are sorted byte-wise. No file data
 * is read while building a tree; regular files point at where their bytes come from.
 */

export type NodeKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** Seconds since the Unix epoch plus nanoseconds. `sec` may be negative (before 1970). */
export interface Timestamp {
  sec: number;
  nsec: number;
}

export interface Xattr {
  /** Full name with namespace prefix: `user.foo`, `trusted.x`, `security.selinux`, `system.posix_acl_access`. */
  name: string;
  value: Uint8Array;
}

/** Where a regular file's bytes come from. */
export type FileContent =
  /**
   * `size` bytes of the input file at `path` from `offset`. `fileSize` is the whole input file's
   * size at plan time (a tar archive's, for a member), which emission checks to catch changes.
   */
  | { kind: 'file'; path: string | Buffer; offset: number; size: number; fileSize: number }
  | { kind: 'bytes'; data: Uint8Array }
  /**
   * A filesystem built by the same run (a `filesystem:` contents entry: an ESP image inside an
   * ISO, a squashfs inside an ISO or ext4): its planned Volume, streamed into its parent without a
   * temporary file. The file's bytes are the volume's bytes `[0, volume.size)`.
   */
  | { kind: 'volume'; volume: Volume };

export interface FatAttributes {
  readonly?: boolean;
  hidden?: boolean;
  system?: boolean;
}

export interface TreeNode {
  name: Buffer;
  kind: NodeKind;
  /** Permission bits including setuid/setgid/sticky (07777); the type lives in `kind`. */
  mode: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
  atime: Timestamp;
  ctime: Timestamp;
  /** Sorted by name. */
  xattrs: Xattr[];
  /** Regular file: content bytes. Others: 0. */
  size: number;
  content?: FileContent;
  /** Symlink target bytes. */
  symlinkTarget?: Buffer;
  /** Device numbers for char and block nodes. */
  rdev?: { major: number; minor: number };
  /** Directory entries, sorted byte-wise by name. */
  children?: TreeNode[];
  /**
   * Hard-link group: nodes sharing a `linkId` are one inode (first in tree order holds the data).
   * Numbered from 1 in tree order by `finalizeTree`.
   */
  linkId?: number;
  /** The source file occupies fewer blocks than its size: it has holes worth finding. */
  sparse?: boolean;
  /** FAT attribute bits set from the spec. */
  fat?: FatAttributes;
}

export interface Tree {
  root: TreeNode;
}

export function compareNames(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

/** Visit every node in tree order (pre-order, children byte-sorted). `path` is '/'-joined bytes. */
export function walkTree(tree: Tree, visit: (node: TreeNode, path: Buffer, parent: TreeNode | undefined, depth: number) => void): void {
  const rec = (node: TreeNode, path: Buffer, parent: TreeNode | undefined, depth: number): void => {
    visit(node, path, parent, depth);
    if (node.children) {
      for (const c of node.children) {
        rec(c, path.length === 1 ? Buffer.concat([path, c.name]) : Buffer.concat([path, Buffer.from('/'), c.name]), node, depth + 1);
      }
    }
  };
  rec(tree.root, Buffer.from('/'), undefined, 0);
}

/** Counts used by sizing: nodes by kind, unique inodes (hard links counted once), file bytes. */
export function treeStats(tree: Tree): { nodes: number; inodes: number; dirs: number; files: number; fileBytes: number } {
  let nodes = 0, dirs = 0, files = 0, fileBytes = 0;
  const seen = new Set<number>();
  let inodes = 0;
  walkTree(tree, (n) => {
    nodes++;
    if (n.kind === 'dir') dirs++;
    if (n.linkId !== undefined) {
      if (seen.has(n.linkId)) return;
      seen.add(n.linkId);
    }
    inodes++;
    if (n.kind === 'file') { files++; fileBytes += n.size; }
  });
  return { nodes, inodes, dirs, files, fileBytes };
}

export const S_IFMT = 0o170000;
export const MODE_BITS: Record<NodeKind, number> = {
  socket: 0o140000, symlink: 0o120000, file: 0o100000, block: 0o060000, dir: 0o040000, char: 0o020000, fifo: 0o010000,
};

/** Full st_mode (type | permissions) of a node, as ext4 i_mode and Rock Ridge PX store it. */
export function fullMode(node: TreeNode): number {
  return MODE_BITS[node.kind] | (node.mode & 0o7777);
}

export function newDir(name: Buffer, time: Timestamp, mode = 0o755): TreeNode {
  return { name, kind: 'dir', mode, uid: 0, gid: 0, mtime: time, atime: time, ctime: time, xattrs: [], size: 0, children: [] };
}

/** Binary search; returns index, or -(insertion point) - 1. */
export function findChild(kids: TreeNode[], name: Buffer): number {
  let lo = 0, hi = kids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareNames(kids[mid]!.name, name);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1; else hi = mid - 1;
  }
  return -lo - 1;
}

