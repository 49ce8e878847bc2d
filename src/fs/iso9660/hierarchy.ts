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
import { isoDirIdOf, isoFileIdOf, isoVariant, jolietNameOf, jolietNameVariant, nameText, uniqueNames, type NameVariant } from './names.js';

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
  /** The identifier as recorded (files with `;1`), set with the names: d-characters, one byte each. */
  recorded: string;
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
  /** The name as UCS-2 code units (a string of them: it sorts in code-unit order), recorded big-endian. */
  name: string;
  /** The name in the tree. */
  raw: Buffer;
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
  const d: IsoDir = { node, inode, entry: undefined, parent: undefined as unknown as IsoDir, realParent: undefined as unknown as IsoDir, relocated: false, isRelocDir: false, depth, children: [], number: 0, lba: 0, size: 0, used: 0 };
  d.parent = parent ?? d;
  d.realParent = realParent ?? d;
  return d;
}

/** An entry of an ECMA-119 directory with the identifier it wants (orderIso makes them unique). All of one shape. */
function isoEntry(kind: EntryKind, name: Buffer, id: string, inode: Inode, dir: IsoDir | undefined): IsoEntry {
  return { kind, name, id, recorded: '', inode, dir };
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
 * "deep_paths": Linux, Windows and libisofs read them). One walk of the tree makes the entries of
 * both (each name decoded once); their order and numbering follow (orderIso, orderJoliet).
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
    reloc.entry = isoEntry('dir', node.name, isoDirIdOf(nameText(node.name)), inode, reloc);
    root.children.push(reloc.entry);
    return reloc;
  };
  const jolietRoot = opts.joliet ? newJolietDir(tree.root, inodeOf.get(tree.root)!) : undefined;

  // Iterative, so a deep tree cannot overflow the stack; each tree directory is met once, with
  // its ECMA-119 directory and its Joliet one.
  const stack: IsoDir[] = [root];
  const jolietStack: (JolietDir | undefined)[] = [jolietRoot];
  while (stack.length) {
    const dir = stack.pop()!;
    const jdir = jolietStack.pop();
    for (const child of dir.node.children ?? []) {
      const inode = inodeOf.get(child)!;
      const text = nameText(child.name);
      // Joliet holds files and directories only: symlinks, devices, FIFOs and sockets have no
      // meaning there (libisofs leaves them out of its Joliet tree too).
      let jsub: JolietDir | undefined;
      if (jdir && (child.kind === 'file' || child.kind === 'dir')) {
        const e: JolietEntry = { kind: child.kind, name: jolietNameOf(text, child.kind === 'dir'), raw: child.name, inode, dir: undefined };
        if (child.kind === 'dir') { jsub = e.dir = newJolietDir(child, inode, jdir); jsub.entry = e; }
        jdir.children.push(e);
      }
      if (child.kind !== 'dir') {
        dir.children.push(isoEntry('file', child.name, isoFileIdOf(text), inode, undefined));
        continue;
      }
      const id = isoDirIdOf(text);
      let sub: IsoDir;
      if (opts.relocate && dir.depth + 1 >= MAX_DEPTH) {
        const r = relocDir();
        sub = newIsoDir(child, inode, r.depth + 1, r, dir);
        sub.relocated = true;
        sub.entry = isoEntry('dir', child.name, id, inode, sub);
        r.children.push(sub.entry);
        r.inode.nlink++;
        dir.children.push(isoEntry('placeholder', child.name, id, inode, sub));
      } else {
        sub = newIsoDir(child, inode, dir.depth + 1, dir, dir);
        sub.entry = isoEntry('dir', child.name, id, inode, sub);
        dir.children.push(sub.entry);
      }
      stack.push(sub);
      jolietStack.push(jsub);
    }
  }

  const isoDirs = orderIso(root);
  return { inodes, inodeOf, isoDirs, jolietDirs: jolietRoot ? orderJoliet(jolietRoot) : [] };
}

function newJolietDir(node: TreeNode, inode: Inode, parent?: JolietDir): JolietDir {
  const d: JolietDir = { node, inode, entry: undefined, parent: undefined as unknown as JolietDir, children: [], number: 0, lba: 0, size: 0, used: 0 };
  d.parent = parent ?? d;
  return d;
}

/** Whether a raw name is the identifier itself (README.TXT, BOOT), a file identifier's closing dot aside. */
function isOwnId(raw: Uint8Array, id: string): boolean {
  const n = id.endsWith('.') ? id.length - 1 : id.length;
  if (raw.length !== n) return false;
  for (let i = 0; i < n; i++) if (raw[i] !== id.charCodeAt(i)) return false;
  return true;
}

/**
 * ECMA-119 9.3 order (compareIsoIds) of identifiers made of d-characters and at most one dot, by
 * JavaScript's own string comparison: every d-character sorts after the dot, so comparing the whole
 * identifiers compares names first, a shorter name (a prefix) first, then extensions. The one pair
 * it would tell apart that 9.3 does not is a name without extension against the same name with an
 * empty one (`A` and `A.`): equal, as compareIsoIds has them.
 */
function byId(a: IsoEntry, b: IsoEntry): number {
  const x = a.id, y = b.id;
  if (x.length === y.length + 1 ? x.endsWith('.') && x.startsWith(y) : y.length === x.length + 1 && y.endsWith('.') && y.startsWith(x)) return 0;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** How one hierarchy names, orders and descends its entries (ECMA-119 and Joliet differ only in these). */
interface Naming<D, E> {
  get(e: E): string;
  set(e: E, name: string): void;
  compare(a: E, b: E): number;
  variant: NameVariant<string>;
  /** Whether the entry's raw name is its recorded name as it is (it keeps it when others map to it too). */
  exact(e: E, wanted: string): boolean;
  /** Called on each entry once its directory's names are final; returns the directory to descend into. */
  settle(e: E): D | undefined;
}

/**
 * Names unique in every directory, records sorted, and the directories in path table order
 * (breadth first, ECMA-119 9.4 / 6.9.1). Names that came out alike sit side by side once sorted;
 * nearly every directory has none, and only then are they numbered, in the tree's order.
 */
function orderHierarchy<D extends { number: number; children: E[] }, E>(root: D, naming: Naming<D, E>): D[] {
  const out: D[] = [];
  const queue: D[] = [root];
  for (let qi = 0; qi < queue.length; qi++) {
    const dir = queue[qi]!;
    dir.number = out.length + 1;
    out.push(dir);
    const kids = dir.children;
    const treeOrder = kids.slice();
    kids.sort(naming.compare);
    let alike = false;
    for (let i = 1; i < kids.length && !alike; i++) alike = naming.get(kids[i]!) === naming.get(kids[i - 1]!);
    if (alike) {
      const wanted = treeOrder.map(naming.get);
      const names = uniqueNames(wanted, naming.variant, treeOrder.map((e, i) => naming.exact(e, wanted[i]!)));
      treeOrder.forEach((e, i) => naming.set(e, names[i]!));
      kids.sort(naming.compare);
    }
    for (const e of kids) {
      const sub = naming.settle(e);
      if (sub) queue.push(sub);
    }
  }
  return out;
}

/** ECMA-119: d-character identifiers in 9.3 order. */
function orderIso(root: IsoDir): IsoDir[] {
  return orderHierarchy<IsoDir, IsoEntry>(root, {
    get: (e) => e.id,
    set: (e, id) => { e.id = id; },
    compare: byId,
    variant: isoVariant,
    exact: (e, wanted) => isOwnId(e.name, wanted),
    // Files carry the version (ECMA-119 7.5.1); a placeholder is a file record without one, as libisofs writes it.
    settle: (e) => {
      e.recorded = e.kind === 'file' ? `${e.id};1` : e.id;
      return e.kind === 'dir' ? e.dir! : undefined;
    },
  });
}

/** Joliet: UCS-2 names in code-unit order, as libisofs sorts them; a name Joliet holds as it is keeps it. */
function orderJoliet(root: JolietDir): JolietDir[] {
  return orderHierarchy<JolietDir, JolietEntry>(root, {
    get: (e) => e.name,
    set: (e, name) => { e.name = name; },
    compare: (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    variant: jolietNameVariant,
    exact: (e, wanted) => wanted === nameText(e.raw),
    settle: (e) => e.dir,
  });
}
