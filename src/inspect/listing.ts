/**
 * `ls` output: names (raw bytes, one per line), `-l` lines as ls(1) prints them (type and
 * permission bits, links, numeric owner and group, size or device numbers, UTC time, name and
 * symlink target), or JSON with every field (names not valid UTF-8 also in hex).
 */
import { isUtf8 } from 'node:buffer';
import type { NodeKind } from '../tree/model.js';
import { walk } from './files.js';
import type { FsNode, FsReader } from './fsread.js';

export interface ListOptions { long: boolean; recursive: boolean; json: boolean; image: string }

const TYPE: Record<NodeKind, string> = { file: '-', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p', socket: 's' };

/** ls(1)'s mode string: type, then rwx for user, group and other with setuid, setgid and sticky. */
export function modeString(kind: NodeKind, mode: number): string {
  const rwx = (bits: number, special: boolean, ch: string): string => `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return TYPE[kind] + rwx(mode >> 6, (mode & 0o4000) !== 0, 's') + rwx(mode >> 3, (mode & 0o2000) !== 0, 's') + rwx(mode, (mode & 0o1000) !== 0, 't');
}

/** `YYYY-MM-DD HH:MM:SS` in UTC. */
export function timeString(sec: number): string {
  const d = new Date(sec * 1000);
  return Number.isNaN(d.getTime()) ? String(sec) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

interface Row { path: Buffer; node: FsNode }

/** The rows `ls` shows for `node`: a directory's entries (all below it with `recursive`), or the node itself. */
function rows(fs: FsReader, node: FsNode, name: Buffer, o: ListOptions): Row[] {
  if (node.kind !== 'dir') return [{ path: name, node }];
  if (!o.recursive) return fs.list(node).sort((a, b) => Buffer.compare(a.name, b.name)).map((e) => ({ path: e.name, node: e.node }));
  const out: Row[] = [];
  walk(fs, node, (rel, n) => { if (rel.length) out.push({ path: rel, node: n }); }, o.image);
  return out;
}

/** The output of `ls`, as chunks to write. */
export function listing(fs: FsReader, node: FsNode, name: Buffer, o: ListOptions): Buffer[] {
  const list = rows(fs, node, name, o);
  if (o.json) {
    const items = list.map(({ path, node: n }) => ({
      name: path.toString(), ...(isUtf8(path) ? {} : { nameHex: path.toString('hex') }),
      type: n.kind, mode: '0' + n.mode.toString(8).padStart(3, '0'), uid: n.uid, gid: n.gid, size: n.size, nlink: n.nlink,
      mtime: n.mtime, atime: n.atime, ctime: n.ctime,
      ...(n.kind === 'symlink' ? { target: fs.readlink(n).toString() } : {}),
      ...(n.rdev ? { rdev: n.rdev } : {}),
      ...(fs.keeps.xattrs ? { xattrs: fs.xattrs(n).map((x) => x.name) } : {}),
    }));
    return [Buffer.from(JSON.stringify(items, null, 2) + '\n')];
  }
  if (!o.long) return list.map((r) => Buffer.concat([r.path, Buffer.from('\n')]));
  const cols = list.map(({ node: n }) => [String(n.nlink), String(n.uid), String(n.gid), n.rdev ? `${n.rdev.major}, ${n.rdev.minor}` : String(n.size)]);
  const width = [0, 1, 2, 3].map((i) => Math.max(0, ...cols.map((c) => c[i]!.length)));
  return list.map(({ path, node: n }, i) => {
    const c = cols[i]!;
    const head = `${modeString(n.kind, n.mode)} ${c[0]!.padStart(width[0]!)} ${c[1]!.padEnd(width[1]!)} ${c[2]!.padEnd(width[2]!)} ${c[3]!.padStart(width[3]!)} ${timeString(n.mtime.sec)} `;
    const tail = n.kind === 'symlink' ? Buffer.concat([Buffer.from(' -> '), fs.readlink(n)]) : Buffer.alloc(0);
    return Buffer.concat([Buffer.from(head), path, tail, Buffer.from('\n')]);
  });
}
