/**
 * The two directory hierarchies an ISO holds, built from the Tree:
 * - the ECMA-119 one (with Rock Ridge on its records): interchange names, directories deeper
 *   than ECMA-119 6.8.2.1 allows (8 levels, the root being level 1) relocated into `/rr_moved`
 *   as xorriso does with `-rr_reloc_dir rr_moved` (RRIP 4.1.5: a CL placeholder where the
 *   directory was, RE on the moved directory and on rr_moved itself so Rock Ridge readers hide
 *   them, PL in the moved directory's ".."), records in ECMA-119 9.3 order;
 * - the Joliet one: the original tree's files and directories with UCS-2 names, no relocation.
 * Both share one `Inode` per file (hard links: one inode, one data extent; its serial number is
 * the PX serial number), numbered in tree order.
 *
 * @example
 * const h = buildHierarchy(tree, { joliet: true });
 * h.isoDirs[0]; // the root, then every directory in path table order (level, parent, name)
 */
import type { Tree, TreeNode } from '../../tree/model.js';
import { compareIsoIds, compareUnits, isoDirId, isoFileId, isoVariant, jolietUnits, jolietVariant, ucs2, uniqueNames } from './names.js';

const EMPTY = new Uint8Array(0);

/** One file of the image (all names of a hard link share it). */
export interface Inode {
  node: TreeNode;
  /** PX serial number (RRIP 1.12 4.1.1), from 1 in tree order. */
  serial: number;
  nlink: number;
  /** Set by the layout: where the file's bytes are and how many (compressed, for zisofs). */
  data?: FileData;
}

/** Where a regular file's bytes go (decided by the layout). */
export interface FileData {
  lba: number;
  /** Bytes recorded (the data length of its records; the compressed size with zisofs). */
  stored: number;
  /** zisofs: the uncompressed size, for the ZF entry. */
  zisofs?: number;
}

export type EntryKind = 'file' | 'dir' | 'placeholder';

/** A name in an ECMA-119 directory. */
export interface IsoEntry {
  kind: EntryKind;
  /** Rock Ridge name: the raw bytes. */
  name: Buffer;
  /** ECMA-119 identifier, without the `;1` of files. */
  id: string;
  /** The identifier as recorded (files with `;1`), set with the names. */
  idBytes: Uint8Array;
  inode: Inode;
  /** The directory (kind dir), or the relocated one a placeholder stands for (RRIP CL). */
  dir?: IsoDir;
}

export interface IsoDir {
  node: TreeNode;
  inode: Inode;
  /** Its entry in the ECMA-119 parent; undefined for the root. */
  entry?: IsoEntry;
  /** ECMA-119 parent (rr_moved for a relocated directory; itself for the root). */
  parent: IsoDir;
  /** The parent Rock Ridge readers see (RRIP PL), differing from `parent` when relocated. */
  realParent: IsoDir;
  relocated: boolean;
  /** The relocation directory itself (hidden by RE). */
  isRelocDir: boolean;
  /** 0 for the root. */
  depth: number;
  children: IsoEntry[];
  /** Path table number (1 for the root); set with the order. */
  number: number;
  lba: number;
  size: number;
  /** Bytes its records use (the rest of its sectors are zeros). */
  used: number;
}

export interface JolietEntry {
  kind: 'file' | 'dir';
  units: number[];
  /** The name as recorded: UCS-2 big-endian. */
  idBytes: Uint8Array;
  inode: Inode;
  dir?: JolietDir;
}

export interface JolietDir {
  node: TreeNode;
  inode: Inode;
  entry?: JolietEntry;
  parent: JolietDir;
  children: JolietEntry[];
  number: number;
  lba: number;
  size: number;
  used: number;
}

export interface Hierarchy {
  inodes: Inode[];
  inodeOf: Map<TreeNode, Inode>;
  /** ECMA-119 directories in path table order (ECMA-119 9.4: by level, parent number, identifier). */
  isoDirs: IsoDir[];
  jolietDirs: JolietDir[];
}

/** ECMA-119 6.8.2.1: at most 8 levels; a directory with 8 ancestors (the root included) moves. */
const MAX_DEPTH = 8;

function assignInodes(tree: Tree): { inodes: Inode[]; inodeOf: Map<TreeNode, Inode> } {
  const inodes: Inode[] = [];
  const inodeOf = new Map<TreeNode, Inode>();
  const byLink = new Map<number, Inode>();
  // Pre-order (tree order) with an explicit stack: a deep tree cannot overflow the call stack.
  const stack: TreeNode[] = [tree.root];
  while (stack.length) {
    const node = stack.pop()!;
    let ino = node.linkId !== undefined ? byLink.get(node.linkId) : undefined;
    if (ino) ino.nlink++;
    else {
      let subdirs = 0;
      for (const c of node.children ?? []) if (c.kind === 'dir') subdirs++;
      ino = { node, serial: inodes.length + 1, nlink: node.kind === 'dir' ? 2 + subdirs : 1 };
      inodes.push(ino);
      if (node.linkId !== undefined) byLink.set(node.linkId, ino);
    }
    inodeOf.set(node, ino);
    const kids = node.children ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
  return { inodes, inodeOf };
}

function newIsoDir(node: TreeNode, inode: Inode, depth: number, parent?: IsoDir, realParent?: IsoDir): IsoDir {
  const d = { node, inode, depth, children: [], relocated: false, isRelocDir: false, number: 0, lba: 0, size: 0, used: 0 } as unknown as IsoDir;
  d.parent = parent ?? d;
  d.realParent = realParent ?? d;
  return d;
}

/** The relocation directory's name: `rr_moved`, or `rr_moved_N` when the root has that name already. */
function relocName(root: TreeNode): Buffer {
  const names = new Set((root.children ?? []).map((c) => c.name.toString('latin1')));
  let name = 'rr_moved';
  for (let i = 1; names.has(name); i++) name = `rr_moved_${i}`;
  return Buffer.from(name);
}

/**
 * Build both hierarchies. `epoch` times the relocation directory. Directories are relocated only
 * with Rock Ridge (`relocate`), which hides the move from its readers; without it readers would see
 * /rr_moved instead of the tree, so deep directories stay in place (as xorriso's default
 * "deep_paths": Linux, Windows and libisofs read them).
 */
export function buildHierarchy(tree: Tree, opts: { joliet: boolean; epoch: number; relocate: boolean }): Hierarchy {
  const { inodes, inodeOf } = assignInodes(tree);
  const root = newIsoDir(tree.root, inodeOf.get(tree.root)!, 0);
  let reloc: IsoDir | undefined;
  const relocDir = (): IsoDir => {
    if (reloc) return reloc;
    const t = { sec: opts.epoch, nsec: 0 };
    const node: TreeNode = { name: relocName(tree.root), kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], size: 0, children: [] };
    const inode: Inode = { node, serial: inodes.length + 1, nlink: 2 };
    inodes.push(inode);
    reloc = newIsoDir(node, inode, 1, root, root);
    reloc.isRelocDir = true;
    reloc.entry = { kind: 'dir', name: node.name, id: '', idBytes: EMPTY, inode, dir: reloc };
    root.children.push(reloc.entry);
    return reloc;
  };

  // Iterative, so a deep tree cannot overflow the stack.
  const stack: IsoDir[] = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    for (const child of dir.node.children ?? []) {
      const inode = inodeOf.get(child)!;
      if (child.kind !== 'dir') {
        dir.children.push({ kind: 'file', name: child.name, id: '', idBytes: EMPTY, inode });
        continue;
      }
      let sub: IsoDir;
      if (opts.relocate && dir.depth + 1 >= MAX_DEPTH) {
        const r = relocDir();
        sub = newIsoDir(child, inode, r.depth + 1, r, dir);
        sub.relocated = true;
        sub.entry = { kind: 'dir', name: child.name, id: '', idBytes: EMPTY, inode, dir: sub };
        r.children.push(sub.entry);
        r.inode.nlink++;
        dir.children.push({ kind: 'placeholder', name: child.name, id: '', idBytes: EMPTY, inode, dir: sub });
      } else {
        sub = newIsoDir(child, inode, dir.depth + 1, dir, dir);
        sub.entry = { kind: 'dir', name: child.name, id: '', idBytes: EMPTY, inode, dir: sub };
        dir.children.push(sub.entry);
      }
      stack.push(sub);
    }
  }

  const isoDirs = orderIso(root);
  return { inodes, inodeOf, isoDirs, jolietDirs: opts.joliet ? buildJoliet(tree, inodeOf) : [] };
}

/** Names in every directory, records sorted (9.3), and the directories in path table order. */
function orderIso(root: IsoDir): IsoDir[] {
  const out: IsoDir[] = [];
  const queue: IsoDir[] = [root];
  for (let qi = 0; qi < queue.length; qi++) {
    const dir = queue[qi]!;
    dir.number = out.length + 1;
    out.push(dir);
    const wanted = dir.children.map((e) => (e.kind === 'file' ? isoFileId(e.name) : isoDirId(e.name)));
    // A raw name that is its own identifier (README.TXT, BOOT) keeps it when others map to it too.
    const ids = uniqueNames(wanted, isoVariant, wanted.map((w, i) => dir.children[i]!.name.toString('latin1') === (w.endsWith('.') ? w.slice(0, -1) : w)));
    dir.children.forEach((e, i) => {
      e.id = ids[i]!;
      // Files carry the version (ECMA-119 7.5.1); a placeholder is a file record without one, as libisofs writes it.
      e.idBytes = Buffer.from(e.kind === 'file' ? `${e.id};1` : e.id, 'latin1');
    });
    dir.children.sort((a, b) => compareIsoIds(a.id, b.id));
    for (const e of dir.children) if (e.kind === 'dir') queue.push(e.dir!);
  }
  return out;
}

function buildJoliet(tree: Tree, inodeOf: Map<TreeNode, Inode>): JolietDir[] {
  const mk = (node: TreeNode, parent?: JolietDir): JolietDir => {
    const d = { node, inode: inodeOf.get(node)!, children: [], number: 0, lba: 0, size: 0, used: 0 } as unknown as JolietDir;
    d.parent = parent ?? d;
    return d;
  };
  const root = mk(tree.root);
  const out: JolietDir[] = [];
  const queue: JolietDir[] = [root];
  for (let qi = 0; qi < queue.length; qi++) {
    const dir = queue[qi]!;
    dir.number = out.length + 1;
    out.push(dir);
    // Joliet holds files and directories only: symlinks, devices, FIFOs and sockets have no meaning
    // there (libisofs leaves them out of its Joliet tree too).
    const kids = (dir.node.children ?? []).filter((k) => k.kind === 'file' || k.kind === 'dir');
    const wanted = kids.map((k) => jolietUnits(k.name, k.kind === 'dir'));
    // A name Joliet holds as it is keeps it when another one is changed into it.
    const units = uniqueNames(wanted, jolietVariant, wanted.map((w, i) => String.fromCharCode(...w) === kids[i]!.name.toString('utf8')));
    dir.children = kids.map((k, i) => {
      const e: JolietEntry = { kind: k.kind === 'dir' ? 'dir' : 'file', units: units[i]!, idBytes: ucs2(units[i]!), inode: inodeOf.get(k)! };
      if (k.kind === 'dir') { e.dir = mk(k, dir); e.dir.entry = e; }
      return e;
    });
    dir.children.sort((a, b) => compareUnits(a.units, b.units));
    for (const e of dir.children) if (e.dir) queue.push(e.dir);
  }
  return out;
}
