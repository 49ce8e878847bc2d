/**
 * `extract`: a subtree of an image's filesystem into a directory or a tar archive. Output goes to
 * a temporary name beside the target and is renamed into place when complete, so a failure (a
 * damaged image found half-way, a signal) leaves nothing behind. A directory extraction never
 * writes outside its target: every name is one path component (no '/', '.', '..' or NUL; two
 * entries of one name are corruption), every file is created exclusively (O_EXCL: an existing
 * name, a symlink included, is never followed or overwritten), and nothing is written beneath a
 * symlink, since a symlink of the image has no children. Symlink targets are kept verbatim,
 * absolute or not: they are data, never followed while extracting.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, ftruncateSync, lchownSync, linkSync, lutimesSync, mkdirSync, openSync, symlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DiskwrightError } from '../errors.js';
import type { Timestamp } from '../tree/model.js';
import { walk } from './files.js';
import type { FsNode, FsReader } from './fsread.js';
import { TarWriter, type TarKind, type TarSink } from './tarout.js';

/** File data is copied in pieces of this size. */
const CHUNK = 1 << 20;

export interface ExtractOptions {
  image: string;
  /** Set owners (lchown): when running as root. */
  owners: boolean;
  /** Make device nodes (mknod): when running as root. */
  devices: boolean;
  /** Called between pieces of work: yields to the event loop, and throws when interrupted. */
  tick?: () => Promise<void> | undefined;
  onWarning?: (message: string) => void;
}

export interface ExtractCounts { files: number; dirs: number; symlinks: number; hardlinks: number; devices: number; skipped: number; bytes: number }

const toSeconds = (t: Timestamp): number => t.sec + t.nsec / 1e9;

interface XattrApi { setAttributeSync(path: string, name: string, value: Uint8Array): void }
let xattrApi: XattrApi | null | undefined;
function xattrs(): XattrApi | null {
  if (xattrApi === undefined) {
    try { xattrApi = createRequire(import.meta.url)('@napi-rs/xattr') as XattrApi; } catch { xattrApi = null; }
  }
  return xattrApi;
}

/** Names a directory extraction refuses: a component that would leave its directory. */
function checkName(name: Buffer, image: string, fs: FsReader, node: FsNode): void {
  if (name.length === 0 || name.includes(0x2f) || name.includes(0) || (name.length === 1 && name[0] === 0x2e) || (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e)) {
    throw new DiskwrightError('E_IMAGE_CORRUPT', `${image}: ${fs.where(node)}: the name ${JSON.stringify(name.toString('latin1'))} is not one path component`, { value: image });
  }
}

/** Copy a regular file's data ranges into `fd` (holes stay holes) or, for a tar, through `put`. */
async function copyData(fs: FsReader, n: FsNode, ranges: [number, number][], put: (b: Uint8Array, at: number) => void, o: ExtractOptions): Promise<number> {
  let bytes = 0;
  for (const [s, e] of ranges) {
    for (let at = s; at < e; at += CHUNK) {
      const b = fs.read(n, at, Math.min(CHUNK, e - at));
      put(b, at);
      bytes += b.length;
      const p = o.tick?.();
      if (p) await p;
    }
  }
  return bytes;
}

/**
 * Extract `node` (and what is under it) into the new directory `dir` (which must not exist): a
 * directory's contents go into `dir`, a single file goes into `dir` under its own name.
 */
export async function extractToDir(fs: FsReader, node: FsNode, name: Buffer, dir: string, o: ExtractOptions): Promise<ExtractCounts> {
  const c: ExtractCounts = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, devices: 0, skipped: 0, bytes: 0 };
  const top = Buffer.from(dir);
  const warn = (m: string): void => { c.skipped++; o.onWarning?.(m); };
  mkdirSync(top, 0o700);
  const linked = new Map<number, Buffer>();
  const dirs: { path: Buffer; node: FsNode }[] = [];
  const items: { rel: Buffer; node: FsNode }[] = [];
  const startRel = node.kind === 'dir' ? Buffer.alloc(0) : name;
  walk(fs, node, (rel, n) => { items.push({ rel: node.kind === 'dir' ? rel : startRel, node: n }); }, o.image);
  for (const { rel, node: n } of items) {
    let parentPath = top;
    if (rel.length) {
      const parts = rel.toString('latin1').split('/').map((p) => Buffer.from(p, 'latin1'));
      for (const p of parts) checkName(p, o.image, fs, n);
      parentPath = Buffer.from(join(top.toString('latin1'), rel.toString('latin1')), 'latin1');
    }
    const path = parentPath;
    const shown = '/' + rel.toString();
    try {
      if (n.kind === 'dir') {
        if (rel.length) mkdirSync(path, 0o700);
        dirs.push({ path, node: n });
        c.dirs++;
        continue;
      }
      if (fs.keeps.links && n.nlink > 1 && n.kind !== 'symlink') {
        const first = linked.get(n.id);
        if (first) { linkSync(first, path); c.hardlinks++; continue; }
        linked.set(n.id, path);
      }
      switch (n.kind) {
        case 'file': {
          const fd = openSync(path, 'wx', 0o600);
          try {
            c.bytes += await copyData(fs, n, fs.dataRanges(n), (b, at) => { let k = 0; while (k < b.length) k += writeSync(fd, b, k, b.length - k, at + k); }, o);
            ftruncateSync(fd, n.size);
          } finally {
            closeSync(fd);
          }
          c.files++;
          break;
        }
        case 'symlink': symlinkSync(fs.readlink(n), path); c.symlinks++; break;
        case 'char': case 'block': case 'fifo': {
          if (n.kind !== 'fifo' && !o.devices) { warn(`${shown}: device ${n.rdev?.major}:${n.rdev?.minor} not made (mknod needs root; extract to a .tar keeps it)`); continue; }
          const args = n.kind === 'fifo' ? [path.toString('latin1'), 'p'] : [path.toString('latin1'), n.kind === 'char' ? 'c' : 'b', String(n.rdev?.major ?? 0), String(n.rdev?.minor ?? 0)];
          const r = spawnSync('mknod', ['-m', '600', ...args]);
          if (r.status !== 0) throw new DiskwrightError('E_OUTPUT', `cannot make ${shown}: ${r.stderr.toString().trim() || r.error?.message}`, { value: shown });
          c.devices++;
          break;
        }
        case 'socket': warn(`${shown}: socket not made`); continue;
      }
      metadata(fs, n, path, shown, o, warn);
    } catch (e) {
      if (e instanceof DiskwrightError) throw e;
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EEXIST') throw new DiskwrightError('E_IMAGE_CORRUPT', `${o.image}: ${fs.where(n)}: ${shown} appears twice in its directory`, { value: o.image });
      throw new DiskwrightError('E_OUTPUT', `cannot extract ${shown} to ${path.toString()}: ${err.code ?? err.message}`, { value: path.toString(), cause: e });
    }
    const p = o.tick?.();
    if (p) await p;
  }
  // Directories last, deepest first: their modes may forbid writing, and writing changes their times.
  for (let i = dirs.length - 1; i >= 0; i--) metadata(fs, dirs[i]!.node, dirs[i]!.path, '/' + dirs[i]!.path.subarray(top.length).toString(), o, warn);
  return c;
}

/** xattrs, owner, mode and times of one extracted node (in that order: each may need the one before). */
function metadata(fs: FsReader, n: FsNode, path: Buffer, shown: string, o: ExtractOptions, warn: (m: string) => void): void {
  if (fs.keeps.xattrs && n.kind !== 'symlink') {
    const list = fs.xattrs(n);
    const api = list.length ? xattrs() : null;
    if (list.length && !api) warn(`${shown}: ${list.length} xattrs not set (@napi-rs/xattr did not load)`);
    for (const x of api ? list : []) {
      try { api!.setAttributeSync(path.toString(), x.name, x.value); } catch (e) { warn(`${shown}: xattr ${x.name} not set (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
    }
  }
  if (o.owners && fs.keeps.owners) lchownSync(path, n.uid, n.gid);
  if (n.kind !== 'symlink') chmodSync(path, fs.keeps.modes ? n.mode : n.kind === 'dir' ? 0o755 : 0o644);
  lutimesSync(path, toSeconds(n.atime), toSeconds(n.mtime));
}

/** Extract `node` into a tar archive handed to `sink` (members relative to `node`; a file under its own name). */
export async function extractToTar(fs: FsReader, node: FsNode, name: Buffer, sink: TarSink, o: ExtractOptions): Promise<ExtractCounts> {
  const c: ExtractCounts = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, devices: 0, skipped: 0, bytes: 0 };
  const tar = new TarWriter(sink);
  const linked = new Map<number, Buffer>();
  const items: { rel: Buffer; node: FsNode }[] = [];
  walk(fs, node, (rel, n) => { items.push({ rel: node.kind === 'dir' ? (rel.length ? rel : Buffer.from('.')) : name, node: n }); }, o.image);
  for (const { rel, node: n } of items) {
    if (n.kind === 'socket') { c.skipped++; o.onWarning?.(`/${rel.toString()}: socket not stored (tar has no sockets)`); continue; }
    const base = { path: rel, mode: fs.keeps.modes ? n.mode : n.kind === 'dir' ? 0o755 : 0o644, uid: n.uid, gid: n.gid, mtime: n.mtime, atime: n.atime, size: 0, ...(fs.keeps.xattrs ? { xattrs: fs.xattrs(n) } : {}) };
    if (fs.keeps.links && n.nlink > 1 && n.kind !== 'dir' && n.kind !== 'symlink') {
      const first = linked.get(n.id);
      if (first) { tar.begin({ ...base, kind: 'hardlink', link: first }); tar.end(); c.hardlinks++; continue; }
      linked.set(n.id, rel);
    }
    if (n.kind === 'file') {
      const ranges = fs.dataRanges(n);
      const stored = ranges.reduce((k, [s, e]) => k + e - s, 0);
      // Sparse only when holes save something (GNU tar's rule), else the plain bytes, holes as zeros.
      const sparse = stored < n.size ? ranges : undefined;
      tar.begin({ ...base, kind: 'file', size: n.size, ...(sparse ? { sparse } : {}) });
      // Each piece is written before the next is read (a slow pipe holds back the reading).
      const put = (b: Uint8Array): void => tar.data(b);
      const tick = async (): Promise<void> => { await tar.flush(); const p = o.tick?.(); if (p) await p; };
      if (sparse) c.bytes += await copyData(fs, n, sparse, put, { ...o, tick });
      else c.bytes += await copyData(fs, n, n.size ? [[0, n.size]] : [], put, { ...o, tick });
      tar.end();
      c.files++;
      continue;
    }
    const kind: TarKind = n.kind;
    tar.begin({ ...base, kind, ...(n.kind === 'symlink' ? { link: fs.readlink(n) } : {}), ...(n.rdev ? { rdev: n.rdev } : {}) });
    tar.end();
    if (n.kind === 'dir') c.dirs++; else if (n.kind === 'symlink') c.symlinks++; else c.devices++;
    await tar.flush();
    const p = o.tick?.();
    if (p) await p;
  }
  await tar.finish();
  return c;
}
