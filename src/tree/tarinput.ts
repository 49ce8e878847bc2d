import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { DiskwrightError, show } from '../errors.js';
import { decompressFile, sniffCompression, SNIFF_BYTES, type Range, type StreamCodec } from '../codec/index.js';
import { clampTime } from './dirwalk.js';
import { findChild, newDir, type Timestamp, type TreeNode } from './model.js';
import { readTar, type TarMember } from './tar.js';

/** Temporary directories of this process (decompressed tar inputs): removed at exit, whatever the exit. */
const live = new Set<string>();
function removeLive(): void {
  for (const d of live) rmSync(d, { recursive: true, force: true });
  live.clear();
}
process.once('exit', removeLive);

function sniff(path: string, specPath: string): StreamCodec | 'tar' {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    if (!statSync(path).isFile()) throw new DiskwrightError('E_TAR', `tar archive ${path} is not a regular file`, { path: specPath, value: path });
    const b = Buffer.alloc(SNIFF_BYTES);
    const n = readSync(fd, b, 0, SNIFF_BYTES, 0);
    return sniffCompression(b.subarray(0, n)) ?? 'tar';
  } catch (e) {
    if (e instanceof DiskwrightError) throw e;
    throw new DiskwrightError('E_SOURCE', `cannot read tar archive ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: specPath, value: path });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Where a spec's `tar:` value points (as buildTree resolves it). */
export function tarPath(tar: string, baseDir: string): string {
  return isAbsolute(tar) ? tar : resolve(baseDir, tar);
}

/**
 * Compressed tar inputs, decompressed once each into a private temporary file, so their members are
 * byte ranges like any other input file. Decompression streams (bounded memory: a layer may be
 * many GiB) and is asynchronous, so it runs before the synchronous tree phase: `prepare` every
 * archive, give the result to buildTree (`tars`), and `dispose` once the image is written (the
 * files are removed at process exit anyway, and on SIGINT/SIGTERM through the CLI's exit).
 * The temporary file is sparse (runs of zeros are holes, see codec/output.ts); members whose data
 * meets a hole are marked `sparse`, so the filesystem writer finds their holes too.
 *
 * @example
 * const tars = await prepareTarInputs(contents, { baseDir, specPath: 'partitions[0].contents' });
 * try { const tree = buildTree(contents, { baseDir, epoch, specPath: 'partitions[0].contents', tars }); ... } finally { tars.dispose(); }
 */
export class TarInputs {
  private readonly plain = new Map<string, string>();
  /** The holes of each decompressed archive (byte ranges, sorted). */
  private readonly holeMap = new Map<string, Range[]>();
  private readonly dirs: string[] = [];

  /** Decompress `archive` (an absolute path) if it is compressed; a plain tar is used in place. */
  async prepare(archive: string, specPath: string): Promise<void> {
    if (this.plain.has(archive)) return;
    const codec = sniff(archive, specPath);
    if (codec === 'tar') { this.plain.set(archive, archive); return; }
    const dir = mkdtempSync(join(tmpdir(), 'diskwright-tar-'));
    live.add(dir);
    this.dirs.push(dir);
    const out = join(dir, 'archive.tar');
    try {
      const { holes } = await decompressFile(codec, archive, out);
      this.holeMap.set(archive, holes);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      live.delete(dir);
      if (e instanceof DiskwrightError && e.code === 'E_DECOMPRESS') {
        throw new DiskwrightError('E_TAR', `tar archive ${archive} cannot be decompressed: ${e.message}`, { path: specPath, value: archive, cause: e });
      }
      throw e;
    }
    this.plain.set(archive, out);
  }

  /** The uncompressed tar for `archive`, if prepared. */
  get(archive: string): string | undefined {
    return this.plain.get(archive);
  }

  /** The holes of the uncompressed tar for `archive` (none for a plain tar). */
  holes(archive: string): readonly Range[] {
    return this.holeMap.get(archive) ?? [];
  }

  /** Remove the temporary files (after the image that reads them is written). */
  dispose(): void {
    for (const d of this.dirs) { rmSync(d, { recursive: true, force: true }); live.delete(d); }
    this.dirs.length = 0;
    this.plain.clear();
    this.holeMap.clear();
  }
}

/**
 * Decompress every compressed `tar:` input of a contents list (the async pre-pass of buildTree).
 * Errors name the entry's spec path; temporary files of a failed preparation are removed.
 */
export async function prepareTarInputs(entries: readonly { readonly tar?: string }[], opts: { baseDir: string; specPath: string }, into = new TarInputs()): Promise<TarInputs> {
  for (const [i, entry] of entries.entries()) {
    if (typeof entry.tar !== 'string') continue;
    const full = tarPath(entry.tar, opts.baseDir);
    const specPath = `${opts.specPath}[${i}].tar`;
    if (entry.tar.includes('\0')) throw new DiskwrightError('E_NUL', `tar ${show(entry.tar)} contains a NUL byte`, { path: specPath, value: entry.tar });
    try {
      statSync(full);
    } catch {
      throw new DiskwrightError('E_SOURCE', `tar ${show(entry.tar)} does not exist (looked at ${full})`, { path: specPath, value: entry.tar });
    }
    await into.prepare(full, specPath);
  }
  return into;
}

function printable(b: Buffer): string {
  return JSON.stringify(b.toString('utf8')).slice(1, -1);
}

/**
 * Add the members of a tar archive under `parent`. Owners, modes, times and xattrs come from the
 * archive (a tar layer carries its own ownership); times are clamped to the epoch. Within the
 * archive a later member replaces an earlier one of the same name (as extraction does), except
 * that a directory and a non-directory never replace each other, and no member may go through a
 * symlink or file; collisions with earlier entries follow `merge` (the entry's `replace`).
 */
export function openTar(
  path: string, specPath: string, parent: TreeNode, epoch: number | undefined,
  nextLinkKey: () => number, merge: (parent: TreeNode, node: TreeNode) => TreeNode, tars?: TarInputs,
): void {
  let file = tars?.get(path);
  if (file === undefined) {
    const codec = sniff(path, specPath);
    if (codec !== 'tar') {
      throw new DiskwrightError('E_TAR', `tar archive ${path} is ${codec}-compressed: decompress it first with prepareTarInputs (buildImage and planImage do)`, { path: specPath, value: path });
    }
    file = path;
  }
  const members = readTar(file, specPath, path);
  const fileSize = statSync(file).size;
  const holes = tars?.holes(path) ?? [];
  const byPath = new Map<string, TreeNode>();
  for (const m of members) {
    const fail = (message: string, code = 'E_TAR'): never => {
      throw new DiskwrightError(code, `tar archive ${path}: member "${printable(m.path)}" at byte ${m.headerOffset}: ${message}`, { path: specPath, value: path });
    };
    const parts = splitPath(m.path);
    if (parts.some((p) => p.length === 2 && p[0] === 0x2e && p[1] === 0x2e)) fail('escapes the target with ".."');
    if (parts.some((p) => p.length > 255)) fail('has a name component longer than 255 bytes');
    if (parts.length === 0) {
      if (m.type !== 'dir') fail(`is a ${m.type} with an empty name`);
      continue;
    }
    const key = parts.map((p) => p.toString('latin1')).join('/');
    const time = clampTime(m.mtime.sec, m.mtime.nsec, epoch);
    let dir = parent;
    for (let i = 0; i < parts.length - 1; i++) {
      const kids = dir.children!;
      const idx = findChild(kids, parts[i]!);
      if (idx >= 0) {
        const c = kids[idx]!;
        if (c.kind !== 'dir') fail(`goes through "${printable(Buffer.from(parts.slice(0, i + 1).join('/')))}", which is a ${c.kind}, not a directory`);
        dir = c;
      } else {
        const d = newDir(parts[i]!, time);
        kids.splice(-idx - 1, 0, d);
        dir = d;
      }
    }
    const name = parts[parts.length - 1]!;
    const node = memberNode(m, name, time, byPath, nextLinkKey, file, fileSize, holes, fail);
    const kids = dir.children!;
    const idx = findChild(kids, name);
    const existing = idx >= 0 ? kids[idx]! : undefined;
    const ours = existing !== undefined && byPath.get(key) === existing;
    let placed: TreeNode;
    if (node.kind === 'dir') {
      if (existing && existing.kind !== 'dir') fail(`is a directory, but ${ours ? 'an earlier member' : 'an earlier entry'} made it a ${existing.kind}`);
      placed = mergeDirMeta(dir, node);
    } else if (existing && ours) {
      if (existing.kind === 'dir') fail(`is a ${node.kind}, but an earlier member made it a directory`);
      kids[idx] = node;
      placed = node;
    } else {
      try {
        placed = merge(dir, node);
      } catch (e) {
        if (!(e instanceof DiskwrightError)) throw e;
        const msg = e.path && e.message.startsWith(`${e.path}: `) ? e.message.slice(e.path.length + 2) : e.message;
        placed = fail(msg, e.code);
      }
    }
    byPath.set(key, placed);
  }
}

/** A member path's components: "/" and "." dropped (a leading "/" is stripped, as tar does). */
function splitPath(p: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === 0x2f) {
      const c = p.subarray(start, i);
      if (c.length > 0 && !(c.length === 1 && c[0] === 0x2e)) out.push(Buffer.from(c));
      start = i + 1;
    }
  }
  return out;
}

function mergeDirMeta(dir: TreeNode, node: TreeNode): TreeNode {
  const kids = dir.children!;
  const idx = findChild(kids, node.name);
  let d: TreeNode;
  if (idx >= 0) {
    d = kids[idx]!;
  } else {
    d = newDir(node.name, node.mtime);
    kids.splice(-idx - 1, 0, d);
  }
  d.mode = node.mode; d.uid = node.uid; d.gid = node.gid; d.mtime = node.mtime; d.atime = node.atime; d.ctime = node.ctime;
  if (node.xattrs.length) d.xattrs = node.xattrs;
  return d;
}

function memberNode(m: TarMember, name: Buffer, time: Timestamp, byPath: Map<string, TreeNode>, nextLinkKey: () => number, file: string, fileSize: number, holes: readonly Range[], fail: (message: string) => never): TreeNode {
  const base: TreeNode = {
    name, kind: 'file', mode: m.mode, uid: m.uid, gid: m.gid, mtime: time, atime: time, ctime: time,
    xattrs: m.xattrs.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), size: 0,
  };
  switch (m.type) {
    case 'file':
      return {
        ...base, size: m.size, content: { kind: 'file', path: file, offset: m.dataOffset, size: m.size, fileSize },
        ...(meetsHole(holes, m.dataOffset, m.dataOffset + m.size) ? { sparse: true } : {}),
      };
    case 'dir':
      return { ...base, kind: 'dir', children: [] };
    case 'symlink':
      return { ...base, kind: 'symlink', symlinkTarget: m.linkname, size: m.linkname.length };
    case 'char': case 'block':
      return { ...base, kind: m.type, rdev: { major: m.devmajor, minor: m.devminor } };
    case 'fifo':
      return { ...base, kind: 'fifo' };
    case 'hardlink': {
      const target = byPath.get(splitPath(m.linkname).map((p) => p.toString('latin1')).join('/'));
      if (!target) return fail(`is a hard link to "${printable(m.linkname)}", which is not an earlier member of the archive`);
      if (target.kind === 'dir') return fail(`is a hard link to "${printable(m.linkname)}", which is a directory`);
      if (target.linkId === undefined) target.linkId = nextLinkKey();
      return { ...target, name, xattrs: target.xattrs };
    }
  }
}

/** Whether [start, end) intersects one of `holes` (sorted, disjoint). */
function meetsHole(holes: readonly Range[], start: number, end: number): boolean {
  if (start >= end) return false;
  let lo = 0;
  let hi = holes.length;
  // The first hole that ends after `start`.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (holes[mid]!.end <= start) lo = mid + 1; else hi = mid;
  }
  return lo < holes.length && holes[lo]!.start < end;
}
