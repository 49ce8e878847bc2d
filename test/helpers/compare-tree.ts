/**
 * Compare what a reference tool extracted (a mounted image or an extraction directory) with the
 * Tree the image was built from (docs/ARCHITECTURE.md §5 "Comparing trees"): per path, type, mode, uid, gid,
 * times (with a granularity), size, sha256 of content, symlink target, device numbers, hardlink
 * grouping and xattrs. Returns a list of differences (empty when equal). Format-neutral: options
 * switch off what a filesystem cannot store (FAT has no owners, modes, links or xattrs).
 */
import { readContent } from '../../src/extent/content.js';
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import type { Timestamp, Tree, TreeNode } from '../../src/tree/model.js';
import { run } from './tools.js';

export interface CompareOptions {
  /** Paths ('/lost+found') to skip on both sides. */
  ignore?: readonly string[];
  modes?: boolean;
  owners?: boolean;
  /** Time granularity in nanoseconds (1 = exact; 2e9 for FAT); false skips times. */
  timeGranularityNs?: number | false;
  /** Which times to compare (default mtime only). */
  times?: readonly ('mtime' | 'atime' | 'ctime')[];
  hardlinks?: boolean;
  xattrs?: boolean;
  devices?: boolean;
  /** Compare the root directory's own metadata too. */
  rootMetadata?: boolean;
}

const DEFAULTS: Required<Omit<CompareOptions, 'ignore'>> = {
  modes: true, owners: true, timeGranularityNs: 1, times: ['mtime'], hardlinks: true, xattrs: true, devices: true, rootMetadata: true,
};

function kindOf(st: BigIntStats): TreeNode['kind'] | 'unknown' {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'unknown';
}

function hashExpected(node: TreeNode): string {
  const h = createHash('sha256');
  const c = node.content;
  if (!c) return h.digest('hex');
  if (c.kind === 'bytes') return h.update(c.data).digest('hex');
  if (c.kind === 'volume') return h.update(readContent(c, node.size, 0, node.size)).digest('hex');
  const fd = openSync(c.path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let done = 0;
    while (done < c.size) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, c.size - done), c.offset + done);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      done += n;
    }
  } finally { closeSync(fd); }
  return h.digest('hex');
}

function hashActual(path: Buffer): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let pos = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally { closeSync(fd); }
  return h.digest('hex');
}

const ns = (t: Timestamp): bigint => BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);

/** All xattrs under `dir` with one getfattr run: path -> name -> hex value. */
function readXattrs(dir: string): Map<string, Map<string, string>> {
  const r = run('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', dir]);
  const out = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      cur = new Map();
      out.set(unescapeGetfattr(line.slice(8)), cur);
    } else if (cur && line.includes('=')) {
      const i = line.indexOf('=');
      cur.set(line.slice(0, i), line.slice(i + 1).replace(/^0x/, ''));
    }
  }
  return out;
}

/** getfattr escapes unusual bytes in file names as \ooo octal. */
function unescapeGetfattr(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length + 0 && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString())) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString(), 8));
      i += 3;
    } else bytes.push(raw[i]!);
  }
  return Buffer.from(bytes).toString('latin1');
}

/** Expected xattr value as getfattr prints it for the mounted filesystem. */
function expectedXattrs(node: TreeNode): Map<string, string> {
  const m = new Map<string, string>();
  for (const x of node.xattrs) m.set(x.name, Buffer.from(x.value).toString('hex'));
  return m;
}

/**
 * Compare `tree` with the directory `dir`. Hard links: nodes of one linkId must share one inode
 * number on the actual side, and distinct groups must not.
 */
export function compareTreeToDir(tree: Tree, dir: string, options: CompareOptions = {}): string[] {
  const o = { ...DEFAULTS, ...options };
  const ignore = new Set(options.ignore ?? []);
  const diffs: string[] = [];
  const xattrs = o.xattrs ? readXattrs(dir) : undefined;
  const linkInode = new Map<number, bigint>();
  const inodeLink = new Map<bigint, number | string>();

  const check = (node: TreeNode, rel: Buffer, actualPath: Buffer): void => {
    const relText = rel.length ? '/' + rel.toString() : '/';
    let st: BigIntStats;
    try { st = lstatSync(actualPath, { bigint: true }); } catch { diffs.push(`${relText}: missing`); return; }
    const kind = kindOf(st);
    if (kind !== node.kind) { diffs.push(`${relText}: kind ${kind}, expected ${node.kind}`); return; }
    const isRoot = rel.length === 0;
    if (!isRoot || o.rootMetadata) {
      if (o.modes && Number(st.mode & 0o7777n) !== node.mode) diffs.push(`${relText}: mode ${(Number(st.mode) & 0o7777).toString(8)}, expected ${node.mode.toString(8)}`);
      if (o.owners && (Number(st.uid) !== node.uid || Number(st.gid) !== node.gid)) diffs.push(`${relText}: owner ${st.uid}:${st.gid}, expected ${node.uid}:${node.gid}`);
      if (o.timeGranularityNs !== false) {
        const g = BigInt(o.timeGranularityNs);
        for (const which of o.times) {
          const actual = which === 'mtime' ? st.mtimeNs : which === 'atime' ? st.atimeNs : st.ctimeNs;
          const expected = ns(node[which]);
          if ((actual / g) !== (expected / g)) diffs.push(`${relText}: ${which} ${actual}, expected ${expected}`);
        }
      }
    }
    if (node.kind === 'file') {
      if (Number(st.size) !== node.size) diffs.push(`${relText}: size ${st.size}, expected ${node.size}`);
      else if (hashActual(actualPath) !== hashExpected(node)) diffs.push(`${relText}: content differs`);
    }
    if (node.kind === 'symlink') {
      const t = readlinkSync(actualPath, { encoding: 'buffer' });
      if (!t.equals(node.symlinkTarget ?? Buffer.alloc(0))) diffs.push(`${relText}: symlink -> ${t.toString()}, expected ${node.symlinkTarget?.toString()}`);
    }
    if (o.devices && (node.kind === 'char' || node.kind === 'block')) {
      const r = st.rdev;
      const major = Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn));
      const minor = Number((r & 0xffn) | ((r >> 12n) & ~0xffn));
      if (major !== node.rdev?.major || minor !== node.rdev?.minor) diffs.push(`${relText}: device ${major}:${minor}, expected ${node.rdev?.major}:${node.rdev?.minor}`);
    }
    if (o.hardlinks && node.kind !== 'dir') {
      const group: number | string = node.linkId ?? `single:${relText}`;
      if (node.linkId !== undefined) {
        const seen = linkInode.get(node.linkId);
        if (seen === undefined) linkInode.set(node.linkId, st.ino);
        else if (seen !== st.ino) diffs.push(`${relText}: not hard-linked to its group ${node.linkId}`);
      }
      const owner = inodeLink.get(st.ino);
      if (owner === undefined) inodeLink.set(st.ino, group);
      else if (owner !== group) diffs.push(`${relText}: shares inode ${st.ino} with another link group`);
    }
    if (xattrs) {
      const actual = xattrs.get(actualPath.toString('latin1')) ?? xattrs.get(actualPath.toString()) ?? new Map<string, string>();
      const expected = expectedXattrs(node);
      const a = [...actual].sort().map(([k, v]) => `${k}=${v}`).join(',');
      const e = [...expected].sort().map(([k, v]) => `${k}=${v}`).join(',');
      if (a !== e) diffs.push(`${relText}: xattrs {${a}}, expected {${e}}`);
    }
    if (node.kind === 'dir') {
      const expectedKids = (node.children ?? []).filter((c) => !ignore.has('/' + Buffer.concat(rel.length ? [rel, Buffer.from('/'), c.name] : [c.name]).toString()));
      const actualNames = readdirSync(actualPath, { encoding: 'buffer' })
        .filter((n) => !ignore.has('/' + Buffer.concat(rel.length ? [rel, Buffer.from('/'), n] : [n]).toString()))
        .sort(Buffer.compare);
      const key = (b: Buffer): string => b.toString('latin1');
      const actualSet = new Set(actualNames.map(key));
      const expectedSet = new Set(expectedKids.map((c) => key(c.name)));
      for (const c of expectedKids) if (!actualSet.has(key(c.name))) diffs.push(`${relText}: entry ${JSON.stringify(c.name.toString())} missing`);
      for (const n of actualNames) if (!expectedSet.has(key(n))) diffs.push(`${relText}: unexpected entry ${JSON.stringify(n.toString())}`);
      for (const c of expectedKids) {
        if (!actualSet.has(key(c.name))) continue;
        const childRel = rel.length ? Buffer.concat([rel, Buffer.from('/'), c.name]) : c.name;
        check(c, childRel, Buffer.from(join(actualPath.toString('latin1'), c.name.toString('latin1')), 'latin1'));
      }
    }
  };
  check(tree.root, Buffer.alloc(0), Buffer.from(dir, 'latin1'));
  return diffs;
}
