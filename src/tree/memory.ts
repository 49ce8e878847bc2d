/**
 * A tree from entries held in memory (docs/ARCHITECTURE.md §2.1, step 2): the tree source of the
 * browser build (files dropped into the page, src/web/sources.ts) and of any caller that has its
 * files as bytes. The host directory walk (dirwalk.ts) and tar input (tarinput.ts) are the other
 * sources; all of them produce the same Tree: byte-sorted children, times clamped to the epoch,
 * owners root, file bytes as FileContent `bytes` (extent reading needs no file system for them).
 */
import { DiskwrightError, show } from '../errors.js';
import { findChild, newDir, type Timestamp, type Tree, type TreeNode } from './model.js';
import { isFileName } from './names.js';

/** One file, directory or symlink of a memory tree. */
export interface MemoryEntry {
  /** Path inside the filesystem, '/'-separated (`docs/a.txt`, `/docs/a.txt`). Parents are created. */
  path: string;
  /** Default: `file` (with `data`). */
  kind?: 'file' | 'dir' | 'symlink';
  data?: Uint8Array;
  /** Symlink target. */
  target?: string;
  /** Permission bits (default 0644 for files, 0755 for directories, 0777 for symlinks). */
  mode?: number;
  /** Modification time, seconds since the epoch (fractions kept as nanoseconds). */
  mtime?: number;
}

/** Where entries come from: an in-memory list, files dropped into a page, a directory handle… */
export type TreeSource = Iterable<MemoryEntry> | AsyncIterable<MemoryEntry>;

export interface MemoryTreeOptions {
  /** sourceDateEpoch: every time is `min(time, epoch)` (docs/ARCHITECTURE.md §4); directories made here get it. */
  epoch?: number | undefined;
  /** Spec path errors name (default `contents`). */
  specPath?: string;
}

const utf8 = new TextEncoder();

/**
 * @example
 * const tree = await memoryTree([{ path: 'EFI/BOOT/BOOTX64.EFI', data: efi }, { path: 'readme', data: text }], { epoch: 1 });
 */
export async function memoryTree(source: TreeSource, opts: MemoryTreeOptions = {}): Promise<Tree> {
  const epoch = opts.epoch;
  const specPath = opts.specPath ?? 'contents';
  const dirTime: Timestamp = { sec: epoch ?? 0, nsec: 0 };
  const root = newDir(Buffer.alloc(0), dirTime);
  const given = new Set<TreeNode>();
  for await (const e of source) {
    const parts = e.path.split('/').filter((p) => p !== '' && p !== '.').map((p) => Buffer.from(utf8.encode(p)));
    for (const p of parts) {
      if (!isFileName(p)) throw new DiskwrightError('E_NAME', `${show(e.path)}: ${show(p.toString())} is not a file name (1 to 255 bytes, no NUL, not "..")`, { path: specPath, value: e.path });
    }
    const kind = e.kind ?? 'file';
    if (parts.length === 0) {
      if (kind !== 'dir') throw new DiskwrightError('E_TARGET', `${show(e.path)}: only a directory can be the root "/"`, { path: specPath, value: e.path });
      setMeta(root, e, epoch, 0o755);
      continue;
    }
    let dir = root;
    for (const p of parts.slice(0, -1)) dir = subdir(dir, p, e.path, specPath, dirTime);
    const name = parts[parts.length - 1]!;
    const kids = dir.children!;
    const at = findChild(kids, name);
    if (at >= 0) {
      const old = kids[at]!;
      // A directory named after its files were added (a folder listed after its contents) just gets its metadata.
      if (kind === 'dir' && old.kind === 'dir' && !given.has(old)) { setMeta(old, e, epoch, 0o755); given.add(old); continue; }
      throw new DiskwrightError('E_DUPLICATE_TARGET', `${show(e.path)} is given twice; name each path once`, { path: specPath, value: e.path });
    }
    const node = makeNode(name, e, epoch, dirTime, specPath);
    given.add(node);
    kids.splice(-at - 1, 0, node);
  }
  return { root };
}

function subdir(dir: TreeNode, name: Buffer, path: string, specPath: string, time: Timestamp): TreeNode {
  const kids = dir.children!;
  const at = findChild(kids, name);
  if (at >= 0) {
    const d = kids[at]!;
    if (d.kind !== 'dir') throw new DiskwrightError('E_TARGET', `${show(path)}: ${show(name.toString())} is a ${d.kind}, not a directory`, { path: specPath, value: path });
    return d;
  }
  const d = newDir(name, time);
  kids.splice(-at - 1, 0, d);
  return d;
}

function makeNode(name: Buffer, e: MemoryEntry, epoch: number | undefined, dirTime: Timestamp, specPath: string): TreeNode {
  switch (e.kind ?? 'file') {
    case 'dir': {
      const d = newDir(name, dirTime);
      setMeta(d, e, epoch, 0o755);
      return d;
    }
    case 'symlink': {
      if (e.target === undefined || e.target === '' || e.target.includes('\0')) throw new DiskwrightError('E_NUL', `${show(e.path)}: a symlink needs a target without NUL bytes`, { path: specPath, value: e.path });
      const target = Buffer.from(utf8.encode(e.target));
      const n: TreeNode = { ...newDir(name, dirTime), kind: 'symlink', size: target.length, symlinkTarget: target };
      delete n.children;
      setMeta(n, e, epoch, 0o777);
      return n;
    }
    case 'file': {
      const data = e.data ?? new Uint8Array(0);
      const n: TreeNode = { ...newDir(name, dirTime), kind: 'file', size: data.length, content: { kind: 'bytes', data } };
      delete n.children;
      setMeta(n, e, epoch, 0o644);
      return n;
    }
  }
}

function setMeta(n: TreeNode, e: MemoryEntry, epoch: number | undefined, mode: number): void {
  n.mode = (e.mode ?? mode) & 0o7777;
  if (e.mtime !== undefined) {
    const sec = Math.floor(e.mtime);
    let t: Timestamp = { sec, nsec: Math.round((e.mtime - sec) * 1e9) % 1e9 };
    // Times are clamped to the epoch (docs/ARCHITECTURE.md §4); atime and ctime are the mtime.
    if (epoch !== undefined && t.sec >= epoch) t = t.sec > epoch || t.nsec > 0 ? { sec: epoch, nsec: 0 } : t;
    n.mtime = t; n.atime = t; n.ctime = t;
  }
}
