/**
 * The file commands' view of an image: which partition (`PART:` a number, a GPT name or a
 * filesystem label; or the only one that holds the path), its filesystem reader (ext2/3/4, FAT, ISO 9660
 * and squashfs, beside their writers), paths resolved inside the image (symlinks followed within it, `..` never
 * above its root), and a bounded walk (a directory met twice is a loop).
 */
import { DiskwrightError } from '../errors.js';
import { Ext4Reader } from '../fs/ext4/read.js';
import { FatReader } from '../fs/fat/read.js';
import { IsoReader } from '../fs/iso9660/read.js';
import { SquashfsReader } from '../fs/squashfs/read.js';
import type { FsNode, FsReader } from './fsread.js';
import { probeFilesystem, type FoundFilesystem } from './probe.js';
import { subSource, type ImageSource } from './source.js';
import { readTable, type FoundPartition } from './table.js';

export interface FsVolume {
  /** 'partition 2 (root)', or 'the image' for a bare filesystem. */
  readonly what: string;
  readonly partition: FoundPartition | undefined;
  readonly fs: FoundFilesystem;
  /** The filesystem's offset in the disk. */
  readonly offset: number;
  readonly source: ImageSource;
}

/** Every filesystem of an image: each partition's, or the whole image's when it has no table. */
export function volumes(src: ImageSource): FsVolume[] {
  const t = readTable(src);
  if (t.table === 'none') return [{ what: 'the image', partition: undefined, fs: probeFilesystem(src), offset: 0, source: src }];
  return t.partitions.map((p) => {
    const source = subSource(src, p.offset, Math.max(0, Math.min(p.size, src.size - p.offset)));
    return { what: `partition ${p.number}${p.name ? ` (${p.name})` : ''}`, partition: p, fs: probeFilesystem(source), offset: p.offset, source };
  });
}

/** A reader for the volume's filesystem, or E_FS_UNREADABLE naming what it is. */
export function openFs(v: FsVolume, image: string): FsReader {
  const place = { image, base: v.offset };
  switch (v.fs.type) {
    case 'ext2': case 'ext3': case 'ext4': return new Ext4Reader(v.source, place);
    case 'vfat': return new FatReader(v.source, place);
    case 'iso9660': return new IsoReader(v.source, place);
    case 'squashfs': return new SquashfsReader(v.source, place);
    default: throw new DiskwrightError('E_FS_UNREADABLE', `${image}: ${v.what} holds ${v.fs.type === 'unknown' ? 'no filesystem diskwright recognises' : `a ${v.fs.type} filesystem, which diskwright cannot read yet`}`, { value: image });
  }
}

/** Filesystem types `openFs` has a reader for. */
export const READABLE: readonly string[] = ['ext2', 'ext3', 'ext4', 'vfat', 'iso9660', 'squashfs'];

/** `[PART:]PATH` split: PART before the first ':' when what follows starts with '/'. */
export function splitTarget(arg: string): { part: string | undefined; path: string } {
  const i = arg.indexOf(':');
  if (i > 0 && arg[i + 1] === '/' && !arg.slice(0, i).includes('/')) return { part: arg.slice(0, i), path: arg.slice(i + 1) };
  return { part: undefined, path: arg === '' ? '/' : arg };
}

const describe = (vs: FsVolume[]): string => vs.map((v) => `${v.partition?.number ?? ''}${v.partition?.name ? ` (${v.partition.name})` : ''}: ${v.fs.type}${v.fs.label ? ` "${v.fs.label}"` : ''}`).join(', ');

/**
 * The volume `part` names (a partition number, GPT name or filesystem label); without one, the only
 * readable filesystem, or the only one in which `path` exists.
 */
export function pickVolume(src: ImageSource, image: string, part: string | undefined, path: string): { volume: FsVolume; reader: FsReader } {
  const all = volumes(src);
  if (part !== undefined) {
    const v = all.find((x) => String(x.partition?.number) === part) ?? all.find((x) => x.partition?.name === part) ?? all.find((x) => x.fs.label === part);
    if (!v) throw new DiskwrightError('E_NOT_FOUND', `${image} has no partition ${part} (partitions ${describe(all) || 'none'})`, { value: part });
    return { volume: v, reader: openFs(v, image) };
  }
  const readable = all.filter((v) => READABLE.includes(v.fs.type));
  if (readable.length === 0) throw new DiskwrightError('E_FS_UNREADABLE', `${image}: no filesystem diskwright can read (${describe(all) || 'no partitions'})`, { value: image });
  if (readable.length === 1) return { volume: readable[0]!, reader: openFs(readable[0]!, image) };
  const holding = readable.filter((v) => {
    try { return resolve(openFs(v, image), path, false, image) !== undefined; } catch { return false; }
  });
  if (holding.length === 1) return { volume: holding[0]!, reader: openFs(holding[0]!, image) };
  throw new DiskwrightError('E_USAGE', `${image}: ${holding.length ? 'several partitions hold' : 'no partition holds'} ${path}: name one as PART:${path} (partitions ${describe(readable)})`, { value: path });
}

/** Symlinks followed while resolving one path (Linux's MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

/**
 * The node at `path` inside the filesystem (components as bytes; `..` at the root stays at the
 * root; symlinks followed inside the image, never on the host: an absolute target starts from the
 * image's root; the last component only with `follow`), or undefined when a component does not
 * exist. `image` names the image in errors.
 */
export function resolve(fs: FsReader, path: string | Buffer, follow: boolean, image = 'the image'): FsNode | undefined {
  let links = 0;
  /** The directories from the root down to where `parts` lead from `start`, or undefined. */
  const walk = (start: FsNode[], parts: Buffer[], followLast: boolean): FsNode[] | undefined => {
    const stack = [...start];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.length === 0 || (p.length === 1 && p[0] === 0x2e)) continue;
      if (p.length === 2 && p[0] === 0x2e && p[1] === 0x2e) { if (stack.length > 1) stack.pop(); continue; }
      const dir = stack[stack.length - 1]!;
      if (dir.kind !== 'dir') return undefined;
      const hit = fs.list(dir).find((e) => e.name.equals(p));
      if (!hit) return undefined;
      if (hit.node.kind === 'symlink' && (i < parts.length - 1 || followLast)) {
        if (++links > MAX_SYMLINKS) throw new DiskwrightError('E_IMAGE_LOOP', `${image}: ${fs.where(hit.node)}: too many levels of symbolic links resolving ${String(path)}`, { value: String(path) });
        const target = fs.readlink(hit.node);
        const led = walk(target[0] === 0x2f ? [stack[0]!] : stack, split(target), true);
        if (!led) return undefined;
        stack.length = 0;
        stack.push(...led);
        continue;
      }
      stack.push(hit.node);
    }
    return stack;
  };
  const found = walk([fs.root()], split(typeof path === 'string' ? Buffer.from(path) : path), follow);
  return found?.[found.length - 1];
}

const split = (b: Buffer): Buffer[] => {
  const out: Buffer[] = [];
  let s = 0;
  for (let i = 0; i <= b.length; i++) if (i === b.length || b[i] === 0x2f) { out.push(b.subarray(s, i)); s = i + 1; }
  return out;
};

/** Directory depth a walk goes to at most (paths are at most 4096 bytes; each level takes 2). */
const MAX_DEPTH = 2048;

/**
 * Visit `node` and everything under it, depth first, children sorted by name (byte order). `fn`
 * gets the path relative to the start (empty for the start). A directory met twice (a loop, or a
 * directory hard-linked into two places), or holding two entries of one name, is E_IMAGE_CORRUPT.
 */
export function walk(fs: FsReader, node: FsNode, fn: (rel: Buffer, node: FsNode, depth: number) => void, image: string): void {
  const seen = new Set<number>();
  const stack: { rel: Buffer; node: FsNode; depth: number }[] = [{ rel: Buffer.alloc(0), node, depth: 0 }];
  while (stack.length) {
    const { rel, node: n, depth } = stack.pop()!;
    fn(rel, n, depth);
    if (n.kind !== 'dir') continue;
    const shown = rel.length ? '/' + rel.toString() : '/';
    if (seen.has(n.id)) throw new DiskwrightError('E_IMAGE_CORRUPT', `${image}: ${fs.where(n)}: directory ${shown} is reached twice (a directory loop)`, { value: image });
    seen.add(n.id);
    if (depth >= MAX_DEPTH) throw new DiskwrightError('E_IMAGE_CORRUPT', `${image}: ${fs.where(n)}: directory ${shown} is nested more than ${MAX_DEPTH} levels deep`, { value: image });
    const kids = fs.list(n).sort((a, b) => Buffer.compare(a.name, b.name));
    for (let i = kids.length - 1; i >= 0; i--) {
      const k = kids[i]!;
      // Two entries of one name: which one a path means is undefined, and extracting both would write through the first.
      if (i > 0 && kids[i - 1]!.name.equals(k.name)) throw new DiskwrightError('E_IMAGE_CORRUPT', `${image}: ${fs.where(n)}: directory ${shown} holds two entries named ${JSON.stringify(k.name.toString())}`, { value: image });
      stack.push({ rel: rel.length ? Buffer.concat([rel, Buffer.from('/'), k.name]) : k.name, node: k.node, depth: depth + 1 });
    }
  }
}
