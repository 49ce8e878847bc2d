import { isUtf8 } from 'node:buffer';
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { DiskwrightError } from '../errors.js';
import { readHostXattrs, type HostXattrContext, type xattrModule } from './hostxattr.js';
import { compareNames, type NodeKind, type Timestamp, type TreeNode, type Xattr } from './model.js';

/** Options applied while reading a host tree. */
export interface WalkOptions {
  /** Clamp every time to this (docs/ARCHITECTURE.md §4). */
  epoch: number | undefined;
  /** Spec path for errors. */
  specPath: string;
  /** Hard-link identity across the whole filesystem being built: "dev:ino" -> group key. */
  links: Map<string, number>;
  nextLinkKey: () => number;
  /** `host`: the source's numeric uid/gid (as mke2fs -d and tar keep them); default root:root. */
  owners?: 'root' | 'host';
  /** Copy the source's xattrs with this module (absent: none are read). */
  xattrs?: { api: NonNullable<ReturnType<typeof xattrModule>['api']>; ctx: HostXattrContext };
}

/** Shared by every node without xattrs (nodes are never mutated in place for xattrs). */
const NO_XATTRS: Xattr[] = [];

export function clampTime(sec: number, nsec: number, epoch: number | undefined): Timestamp {
  if (epoch !== undefined && (sec > epoch || (sec === epoch && nsec > 0))) return { sec: epoch, nsec: 0 };
  return { sec, nsec };
}

function statTime(ns: bigint, epoch: number | undefined): Timestamp {
  const sec = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
  const nsec = ns - sec * 1_000_000_000n;
  return clampTime(Number(sec), Number(nsec), epoch);
}

function kindOf(st: BigIntStats): NodeKind {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

/** Linux dev_t encoding (glibc gnu_dev_major / gnu_dev_minor). */
export function devMajor(dev: bigint): number {
  return Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
}
export function devMinor(dev: bigint): number {
  return Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
}

/**
 * A walk in steps: a generator that yields between nodes, so that its driver can give the event
 * loop a turn (signal handlers, progress) on a large tree. `finishWalk` runs one to the end at
 * once; `pacedWalk` yields to the event loop every `sliceMs` and stops when a signal is aborted.
 */
export type Walk<T> = Generator<void, T, void>;

/** Nodes read between two yields of a walk: a few hundred microseconds of lstat and readdir. */
const NODES_PER_STEP = 64;

/** Run a walk to its end without yielding to the event loop. */
export function finishWalk<T>(walk: Walk<T>): T {
  for (;;) {
    const r = walk.next();
    if (r.done) return r.value;
  }
}

/**
 * Run a walk, yielding to the event loop whenever it has not run for `sliceMs` (the 50 ms of
 * container/sink.ts `pace`), and throwing the signal's reason once it is aborted. The walk itself
 * stays synchronous system calls, which measure faster than per-node promises on small files
 * (docs/ARCHITECTURE.md §6); only the slices are asynchronous.
 *
 * @example
 * const root = await pacedWalk(walkHost(Buffer.from('/srv/rootfs'), Buffer.alloc(0), opts), signal);
 */
export async function pacedWalk<T>(walk: Walk<T>, signal?: AbortSignal, sliceMs = 50): Promise<T> {
  signal?.throwIfAborted();
  let last = performance.now();
  for (;;) {
    const r = walk.next();
    if (r.done) return r.value;
    signal?.throwIfAborted();
    if (performance.now() - last >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
      last = performance.now();
    }
  }
}

/**
 * Build a node (and for a directory, its whole subtree) from a host path with lstat. Owners are
 * root:root unless `owners: 'host'` (never the builder's uid by accident); modes (with setuid,
 * setgid and sticky bits) and xattrs come from the source. Times: only the mtime is an input; the
 * host's atime and ctime change when the tree is read or its metadata touched, so atime, ctime
 * (and the crtime written from it) are the mtime (docs/ARCHITECTURE.md §4). Children are sorted byte-wise, so
 * the result never depends on readdir order.
 *
 * The walk is depth-first in tree order (pre-order, children byte-sorted), as a recursion would
 * go, so hard-link groups are numbered and xattr warnings given in the same order; an explicit
 * stack instead of recursion, so a deep tree cannot exhaust the call stack.
 */
export function* walkHost(hostPath: Buffer, name: Buffer, opts: WalkOptions): Walk<TreeNode> {
  const start = hostText(hostPath);
  const root = hostNode(start, name, opts);
  if (root.kind !== 'dir') return root;
  const stack: Frame[] = [openDir(root, start, opts)];
  let count = 0;
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.next === top.names.length) { stack.pop(); continue; }
    const n = top.names[top.next++]!;
    const child = hostNode(childPath(top.path, n), n, opts);
    top.node.children!.push(child);
    if (child.kind === 'dir') stack.push(openDir(child, childPath(top.path, n), opts));
    if (++count % NODES_PER_STEP === 0) yield;
  }
  return root;
}

/** `walkHost` at once, without yielding. */
export function nodeFromHost(hostPath: Buffer, name: Buffer, opts: WalkOptions): TreeNode {
  return finishWalk(walkHost(hostPath, name, opts));
}

/** A directory being listed: its node, its host path, its entries byte-sorted, the next to read. */
interface Frame { node: TreeNode; path: string | Buffer; names: Buffer[]; next: number }

const SEP = Buffer.from('/');

/**
 * A host path as the walk carries it: a string while every name on it is UTF-8 (what every `fs`
 * call, the xattr module and the Volume's file sources take without conversion), else its bytes
 * (docs/ARCHITECTURE.md §2.1: names are raw bytes). Deciding per name keeps the path a string
 * without decoding it again for each file.
 */
function hostText(path: Buffer): string | Buffer {
  return isUtf8(path) ? path.toString() : path;
}

function childPath(parent: string | Buffer, name: Buffer): string | Buffer {
  if (typeof parent === 'string') {
    if (isUtf8(name)) return `${parent}/${name.toString()}`;
    return Buffer.concat([Buffer.from(parent), SEP, name]);
  }
  return Buffer.concat([parent, SEP, name]);
}

/** One node from lstat (a directory without its children). */
function hostNode(hostPath: string | Buffer, name: Buffer, opts: WalkOptions): TreeNode {
  let st: BigIntStats;
  try {
    st = lstatSync(hostPath, { bigint: true });
  } catch (e) {
    throw new DiskwrightError('E_SOURCE', `cannot read source ${hostPath.toString()}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: opts.specPath, value: hostPath.toString() });
  }
  const kind = kindOf(st);
  const mtime = statTime(st.mtimeNs, opts.epoch);
  const host = opts.owners === 'host';
  const node: TreeNode = {
    name, kind,
    mode: Number(st.mode) & 0o7777,
    uid: host ? Number(st.uid) : 0, gid: host ? Number(st.gid) : 0,
    mtime, atime: mtime, ctime: mtime,
    xattrs: opts.xattrs ? readHostXattrs(opts.xattrs.api, hostPath, kind === 'dir', opts.xattrs.ctx, st.dev) : NO_XATTRS,
    size: 0,
  };
  switch (kind) {
    case 'file': {
      node.size = Number(st.size);
      node.content = { kind: 'file', path: hostPath, offset: 0, size: node.size, fileSize: node.size };
      if (st.blocks * 512n < st.size) node.sparse = true;
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        let id = opts.links.get(key);
        if (id === undefined) { id = opts.nextLinkKey(); opts.links.set(key, id); }
        node.linkId = id;
      }
      break;
    }
    case 'symlink':
      node.symlinkTarget = readlinkSync(hostPath, { encoding: 'buffer' });
      node.size = node.symlinkTarget.length;
      break;
    case 'char': case 'block':
      node.rdev = { major: devMajor(st.rdev), minor: devMinor(st.rdev) };
      break;
    default:
      break;
  }
  return node;
}

/**
 * The names as views of one buffer. readdir gives each name its own ArrayBuffer (a backing store
 * and its bookkeeping, ~200 bytes a name); the tree keeps every name until the image is planned, so
 * one buffer per directory saves that much per entry on a large tree (BENCHMARKS.md "ext4").
 */
function packNames(names: Buffer[]): Buffer[] {
  if (names.length < 2) return names;
  const all = Buffer.concat(names);
  const out: Buffer[] = new Array(names.length);
  let at = 0;
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!.length;
    out[i] = all.subarray(at, at + n);
    at += n;
  }
  return out;
}

/** List a directory node's entries, byte-sorted (its children are read in that order). */
function openDir(node: TreeNode, hostPath: string | Buffer, opts: WalkOptions): Frame {
  let names: Buffer[];
  try {
    names = readdirSync(hostPath, { encoding: 'buffer' });
  } catch (e) {
    throw new DiskwrightError('E_SOURCE', `cannot list source directory ${hostPath.toString()}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: opts.specPath, value: hostPath.toString() });
  }
  names.sort(compareNames);
  node.children = [];
  return { node, path: hostPath, names: packNames(names), next: 0 };
}
