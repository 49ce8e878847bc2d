import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DiskwrightError } from '../errors.js';
import { clampTime } from './dirwalk.js';
import { findChild, newDir, type Timestamp, type TreeNode } from './model.js';
import { readTar, type TarMember } from './tar.js';

/**
 * Decompressors for tar inputs other than gzip (zstd, xz, bzip2) are registered by the codec module,
 * so the tree layer does not depend on codec packages.
 */
export type StreamDecompressor = (input: string, output: string) => void;
export const tarDecompressors: Map<string, StreamDecompressor> = new Map();

const temps: string[] = [];
process.once('exit', () => { for (const t of temps) rmSync(t, { recursive: true, force: true }); });

function sniff(path: string): 'tar' | 'gzip' | 'zstd' | 'xz' | 'bzip2' {
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(6);
  readSync(fd, b, 0, 6, 0);
  closeSync(fd);
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (b[0] === 0xfd && b.subarray(1, 6).toString('latin1') === '7zXZ\0') return 'xz';
  if (b.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return 'tar';
}

/**
 * A compressed tar is decompressed once into a private temporary file (removed at exit), so its
 * members can be referenced as byte ranges like any other input file.
 */
function plainTar(path: string, specPath: string): string {
  const kind = sniff(path);
  if (kind === 'tar') return path;
  const dir = mkdtempSync(join(tmpdir(), 'diskwright-tar-'));
  temps.push(dir);
  const out = join(dir, 'archive.tar');
  if (kind === 'gzip') {
    decompressGzipFile(path, out);
    return out;
  }
  const dec = tarDecompressors.get(kind);
  if (!dec) throw new DiskwrightError('E_TAR', `tar archive ${path} is ${kind}-compressed and no ${kind} codec is available`, { path: specPath, value: path });
  dec(path, out);
  return out;
}

function decompressGzipFile(input: string, output: string): void {
  // zlib's sync API has no streaming form; the archive is read in whole here. Tar layers are
  // inputs (not outputs), and this keeps the tree phase synchronous.
  const fdIn = openSync(input, 'r');
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(1 << 20);
  for (;;) {
    const n = readSync(fdIn, buf, 0, buf.length, null);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  closeSync(fdIn);
  const data = gunzipSync(Buffer.concat(chunks));
  const fdOut = openSync(output, 'w');
  writeSync(fdOut, data);
  closeSync(fdOut);
}

/**
 * Add the members of a tar archive under `parent`. Owners, modes, times and xattrs come from the
 * archive (a tar layer carries its own ownership); times are clamped to the epoch.
 */
export function openTar(
  path: string, specPath: string, parent: TreeNode, epoch: number | undefined,
  nextLinkKey: () => number, merge: (parent: TreeNode, node: TreeNode) => TreeNode,
): void {
  const file = plainTar(path, specPath);
  const members = readTar(file, specPath);
  const fileSize = statSync(file).size;
  const byPath = new Map<string, TreeNode>();
  for (const m of members) {
    const parts = m.path.toString('latin1').split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw new DiskwrightError('E_TAR', `tar member ${m.path.toString()} escapes the target with ".."`, { path: specPath, value: m.path.toString() });
    if (parts.length === 0) continue;
    const key = parts.join('/');
    const time = clampTime(m.mtime.sec, m.mtime.nsec, epoch);
    let dir = parent;
    for (const p of parts.slice(0, -1)) dir = childDir(dir, Buffer.from(p, 'latin1'), time);
    const name = Buffer.from(parts[parts.length - 1]!, 'latin1');
    const node = memberNode(m, name, time, byPath, nextLinkKey, specPath, file, fileSize);
    const placed = node.kind === 'dir' ? mergeDirMeta(dir, node) : merge(dir, node);
    byPath.set(key, placed);
  }
}

function childDir(dir: TreeNode, name: Buffer, time: Timestamp): TreeNode {
  const kids = dir.children!;
  const idx = findChild(kids, name);
  if (idx >= 0) return kids[idx]!;
  const d = newDir(name, time);
  kids.splice(-idx - 1, 0, d);
  return d;
}

function mergeDirMeta(dir: TreeNode, node: TreeNode): TreeNode {
  const d = childDir(dir, node.name, node.mtime);
  if (d.kind !== 'dir') return d;
  d.mode = node.mode; d.uid = node.uid; d.gid = node.gid; d.mtime = node.mtime; d.atime = node.atime; d.ctime = node.ctime;
  if (node.xattrs.length) d.xattrs = node.xattrs;
  return d;
}

function memberNode(m: TarMember, name: Buffer, time: Timestamp, byPath: Map<string, TreeNode>, nextLinkKey: () => number, specPath: string, file: string, fileSize: number): TreeNode {
  const base: TreeNode = {
    name, kind: 'file', mode: m.mode, uid: m.uid, gid: m.gid, mtime: time, atime: time, ctime: time,
    xattrs: m.xattrs.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), size: 0,
  };
  switch (m.type) {
    case 'file':
      return { ...base, size: m.size, content: { kind: 'file', path: file, offset: m.dataOffset, size: m.size, fileSize } };
    case 'dir':
      return { ...base, kind: 'dir', children: [] };
    case 'symlink':
      return { ...base, kind: 'symlink', symlinkTarget: m.linkname, size: m.linkname.length };
    case 'char': case 'block':
      return { ...base, kind: m.type, rdev: { major: m.devmajor, minor: m.devminor } };
    case 'fifo':
      return { ...base, kind: 'fifo' };
    case 'hardlink': {
      const target = byPath.get(m.linkname.toString('latin1').split('/').filter((p) => p !== '' && p !== '.').join('/'));
      if (!target || target.kind === 'dir') throw new DiskwrightError('E_TAR', `tar hard link ${m.path.toString()} points at ${m.linkname.toString()}, which is not an earlier member`, { path: specPath, value: m.path.toString() });
      if (target.linkId === undefined) target.linkId = nextLinkKey();
      return { ...target, name, xattrs: target.xattrs };
    }
  }
}
