import type { Volume } from '../extent/extent.js';
import { closeSync, existsSync, lstatSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { DiskwrightError, show } from '../errors.js';
import type { ContentEntry } from '../spec/types.js';
import { clampTime, finishWalk, pacedWalk, walkHost, type Walk, type WalkOptions } from './dirwalk.js';
import { resolveEntries, targetParts, type ResolvedEntry } from './entries.js';
import { xattrModule, type HostXattrContext } from './hostxattr.js';
import { findChild, newDir, walkTree, type Timestamp, type Tree, type TreeNode } from './model.js';
import { isFileName } from './names.js';
import { parseIdDatabase } from './passwd.js';
import { openTar, type TarInputs } from './tarinput.js';

export interface BuildTreeOptions {
  /** Directory relative source paths are resolved against. */
  baseDir: string;
  /** sourceDateEpoch: every time is clamped to it; declared entries get it as their time. */
  epoch: number | undefined;
  /** Spec path of the contents list, e.g. `partitions[1].contents`. */
  specPath: string;
  /** Compressed `tar:` inputs, decompressed by prepareTarInputs (buildImage/planImage do it). */
  tars?: TarInputs;
  /**
   * Read host xattrs of `source`/`closureInfo` entries (default true; entries opt out with
   * `xattrs: false`). False for a filesystem that cannot store them (FAT).
   */
  xattrs?: boolean;
  /** Things the build goes on without (xattr module missing, xattrs skipped): one line each. */
  onWarning?: (message: string) => void;
  /** buildResolvedTree stops with the signal's reason once it is aborted (between nodes of the walk). */
  signal?: AbortSignal | undefined;
  /**
   * The planned volumes of the `filesystem:` entries of this list (the pipeline plans them first,
   * docs/ARCHITECTURE.md §2.1): each becomes a file whose content is the volume.
   */
  nested?: ReadonlyMap<ResolvedEntry, Volume>;
}

interface PendingOwner {
  user?: string | number;
  group?: string | number;
  path: string;
}

/**
 * Build the Tree for one filesystem from its `contents` list (docs/ARCHITECTURE.md §3). Directories are merged;
 * any other collision is an error unless the later entry says `replace: true`; the same target
 * named twice is always an error (as in make-disk-image). User and group names are resolved through
 * the tree's own etc/passwd and etc/group once every entry is in.
 *
 * @example
 * const tree = buildTree([{ source: './rootfs', target: '/' }, { target: '/tmp', directory: true, mode: '1777' }],
 *   { baseDir: process.cwd(), epoch: 1, specPath: 'partitions[0].contents' });
 */
export function buildTree(entries: readonly ContentEntry[], opts: BuildTreeOptions): Tree {
  return finishWalk(treeSteps(resolveEntries(entries, { baseDir: opts.baseDir, specPath: opts.specPath }), opts));
}

/**
 * Build the Tree from entries the spec's validation already resolved (ResolvedSpec contents):
 * nothing about the entries themselves is checked again, only what depends on the tree.
 *
 * @example
 * const tree = await buildResolvedTree(spec.partitions[0].contents, { baseDir: spec.baseDir, epoch: spec.sourceDateEpoch, specPath: 'partitions[0].contents', signal });
 */
export function buildResolvedTree(entries: readonly ResolvedEntry[], opts: BuildTreeOptions): Promise<Tree> {
  // The walk of a large tree takes seconds: it yields to the event loop every 50 ms, so that a
  // signal is handled at once (issue 14), and stops when opts.signal is aborted.
  return pacedWalk(treeSteps(entries, opts), opts.signal);
}

/** buildTree's and buildResolvedTree's work, as steps (dirwalk.ts Walk): the same tree either way. */
function* treeSteps(entries: readonly ResolvedEntry[], opts: BuildTreeOptions): Walk<Tree> {
  const epochTime: Timestamp = { sec: opts.epoch ?? 0, nsec: 0 };
  const root = newDir(Buffer.alloc(0), epochTime);
  const owners = new Map<TreeNode, PendingOwner>();
  const explicitTargets = new Map<string, string>();
  let linkCounter = 0;
  const links = new Map<string, number>();
  const warned = new Set<string>();
  const warn = (m: string): void => { if (!warned.has(m)) { warned.add(m); opts.onWarning?.(m); } };
  const unreadable: Buffer[] = [];
  const walkOpts = (specPath: string, entry: ResolvedEntry): WalkOptions => {
    const w: WalkOptions = { epoch: opts.epoch, specPath, links, nextLinkKey: () => ++linkCounter };
    if (entry.owners === 'host') w.owners = 'host';
    if (opts.xattrs !== false && entry.xattrs !== false && (entry.source !== undefined || entry.closureInfo !== undefined)) {
      const m = xattrModule();
      if (m.api) w.xattrs = { api: m.api, ctx: { warn, specPath, unreadable } satisfies HostXattrContext };
      else warn(m.error!);
    }
    return w;
  };

  for (const entry of entries) {
    const path = entry.path;
    if (entry.closureInfo !== undefined) {
      yield* addClosureInfo(root, entry, path, walkOpts(path, entry), epochTime);
      continue;
    }
    const target = entry.target ?? '/';
    const parts = targetParts(target);
    const key = '/' + parts.map((p) => p.toString()).join('/');
    const prev = explicitTargets.get(key);
    if (prev !== undefined && entry.tar === undefined) {
      throw new DiskwrightError('E_DUPLICATE_TARGET', `target ${show(key)} is already given by ${prev}; name each target once`, { path: `${path}.target`, value: target });
    }
    if (entry.tar === undefined) explicitTargets.set(key, path);

    if (entry.tar !== undefined) {
      const parent = ensureDir(root, parts, path, epochTime);
      openTar(entry.tar, `${path}.tar`, parent, opts.epoch, () => ++linkCounter, (p, n) => mergeInto(p, n, entry.replace === true, `${path}.tar`), opts.tars);
      applyMeta(parent === root && parts.length === 0 ? root : parent, entry, path, owners, opts.epoch, false);
      continue;
    }

    const node = yield* makeNode(entry, parts, path, walkOpts(path, entry), epochTime, opts.nested);
    if (parts.length === 0) {
      if (node.kind !== 'dir') throw new DiskwrightError('E_TARGET', 'only a directory can be the root "/"', { path: `${path}.target`, value: target });
      mergeDir(root, node, entry.replace === true, path);
      applyMeta(root, entry, path, owners, opts.epoch, true);
      continue;
    }
    const parent = ensureDir(root, parts.slice(0, -1), path, epochTime);
    const placed = mergeInto(parent, node, entry.replace === true, path);
    applyMeta(placed, entry, path, owners, opts.epoch, true);
  }

  if (unreadable.length) {
    warn(`${opts.specPath}: the xattrs of ${unreadable.length} file(s) whose names are not UTF-8 were not read (first: ${unreadable[0]!.toString()})`);
  }
  yield;
  resolveOwners(root, owners);
  numberLinks({ root });
  yield;
  checkNames({ root }, opts.specPath);
  return { root };
}

/**
 * A symlink named as the source itself is followed (Nix's `./result`), as `cp -H` and `tar -h` do
 * with their arguments; links inside the tree it names stay links.
 */
function followSource(full: string, path: string): string {
  try {
    return lstatSync(full).isSymbolicLink() ? realpathSync(full) : full;
  } catch (e) {
    throw new DiskwrightError('E_SOURCE', `cannot resolve source symlink ${full}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path, value: full });
  }
}

function* makeNode(entry: ResolvedEntry, parts: Buffer[], path: string, walk: WalkOptions, time: Timestamp, nested: ReadonlyMap<ResolvedEntry, Volume> | undefined): Walk<TreeNode> {
  const name = parts.length ? parts[parts.length - 1]! : Buffer.alloc(0);
  const base = { name, uid: 0, gid: 0, mtime: time, atime: time, ctime: time, xattrs: [], size: 0 };
  if (entry.filesystem !== undefined) {
    const volume = nested?.get(entry);
    if (!volume) throw new DiskwrightError('E_CONTENT_KIND', 'a filesystem entry is planned by the pipeline (buildImage/planImage) before its parent', { path: `${path}.filesystem` });
    return { ...base, kind: 'file', mode: 0o644, size: volume.size, content: { kind: 'volume', volume } };
  }
  if (entry.source !== undefined) {
    const full = followSource(entry.source, `${path}.source`);
    const node = yield* walkHost(Buffer.from(full), name, walk);
    return node;
  }
  if (entry.text !== undefined) {
    const data = Buffer.from(entry.text, 'utf8');
    return { ...base, kind: 'file', mode: 0o644, size: data.length, content: { kind: 'bytes', data } };
  }
  if (entry.symlink !== undefined) {
    const t = Buffer.from(entry.symlink);
    return { ...base, kind: 'symlink', mode: 0o777, symlinkTarget: t, size: t.length };
  }
  if (entry.device !== undefined) {
    const kind = entry.device;
    const node: TreeNode = { ...base, kind, mode: 0o600 };
    if (kind === 'char' || kind === 'block') node.rdev = { major: entry.major ?? 0, minor: entry.minor ?? 0 };
    return node;
  }
  // `directory: true`, or an entry that only sets metadata on a directory
  return { ...newDir(name, time), children: [] };
}

/** Walk/create the directories named by `parts` under root. */
function ensureDir(root: TreeNode, parts: Buffer[], path: string, time: Timestamp): TreeNode {
  let cur = root;
  for (const p of parts) {
    const kids = cur.children!;
    const idx = findChild(kids, p);
    if (idx >= 0) {
      const c = kids[idx]!;
      if (c.kind !== 'dir') throw new DiskwrightError('E_TARGET', `${p.toString()} is a ${c.kind}, not a directory, so nothing can be placed under it`, { path: `${path}.target`, value: p.toString() });
      cur = c;
    } else {
      const d = newDir(p, time);
      kids.splice(-idx - 1, 0, d);
      cur = d;
    }
  }
  return cur;
}

/** Put `node` into `parent`, merging directories; returns the node now in the tree. */
function mergeInto(parent: TreeNode, node: TreeNode, replace: boolean, path: string): TreeNode {
  const kids = parent.children!;
  const idx = findChild(kids, node.name);
  if (idx < 0) {
    kids.splice(-idx - 1, 0, node);
    return node;
  }
  const existing = kids[idx]!;
  if (existing.kind === 'dir' && node.kind === 'dir') {
    mergeDir(existing, node, replace, path);
    return existing;
  }
  if (!replace) {
    throw new DiskwrightError('E_DUPLICATE_TARGET', `${node.name.toString()} already exists in the tree (a ${existing.kind} from an earlier entry); set replace: true on this entry to override it`, { path, value: node.name.toString() });
  }
  kids[idx] = node;
  return node;
}

/** Merge directory `src` into `dst`: metadata from src, children merged. */
function mergeDir(dst: TreeNode, src: TreeNode, replace: boolean, path: string): void {
  dst.mode = src.mode; dst.uid = src.uid; dst.gid = src.gid; dst.mtime = src.mtime; dst.atime = src.atime; dst.ctime = src.ctime;
  if (src.xattrs.length) dst.xattrs = src.xattrs;
  for (const c of src.children ?? []) mergeInto(dst, c, replace, path);
}

function applyMeta(node: TreeNode, entry: ResolvedEntry, path: string, owners: Map<TreeNode, PendingOwner>, epoch: number | undefined, withMode: boolean): void {
  if (withMode && entry.mode !== undefined) node.mode = entry.mode;
  if (entry.mtime !== undefined) {
    const t = clampTime(entry.mtime, 0, epoch);
    node.mtime = t; node.atime = t; node.ctime = t;
  }
  if (typeof entry.xattrs === 'object') {
    const x = entry.xattrs;
    node.xattrs = Object.keys(x).sort().map((name) => ({ name, value: Buffer.from(x[name]!, 'utf8') }));
  }
  if (entry.attributes) {
    node.fat = { readonly: entry.attributes.includes('readonly'), hidden: entry.attributes.includes('hidden'), system: entry.attributes.includes('system') };
  }
  if (entry.user !== undefined || entry.group !== undefined) {
    const owner: PendingOwner = { path };
    if (entry.user !== undefined) owner.user = entry.user;
    if (entry.group !== undefined) owner.group = entry.group;
    if (entry.recursiveOwner) {
      walkTree({ root: node }, (n) => owners.set(n, owner));
    } else {
      owners.set(node, owner);
    }
  }
}

function readTreeFile(root: TreeNode, parts: string[]): string | undefined {
  let cur: TreeNode | undefined = root;
  for (const p of parts) {
    if (!cur?.children) return undefined;
    const idx = findChild(cur.children, Buffer.from(p));
    cur = idx >= 0 ? cur.children[idx] : undefined;
  }
  if (!cur || cur.kind !== 'file' || !cur.content) return undefined;
  const c = cur.content;
  if (c.kind === 'bytes') return Buffer.from(c.data).toString('utf8');
  if (c.kind === 'volume') return undefined;
  // A range of the input file: a tar member is a range of its archive.
  if (c.size > 64 << 20) throw new DiskwrightError('E_OWNER', `/${parts.join('/')} in the image has ${c.size} bytes, too many to look names up in`, { value: `/${parts.join('/')}` });
  const buf = Buffer.alloc(c.size);
  let fd: number | undefined;
  try {
    fd = openSync(c.path, 'r');
    let done = 0;
    while (done < c.size) {
      const n = readSync(fd, buf, done, c.size - done, c.offset + done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done).toString('utf8');
  } catch (e) {
    throw new DiskwrightError('E_INPUT_READ', `cannot read ${c.path.toString()} (the image's /${parts.join('/')}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { value: c.path.toString() });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function resolveOwners(root: TreeNode, owners: Map<TreeNode, PendingOwner>): void {
  if (owners.size === 0) return;
  let users: Map<string, number> | undefined;
  let groups: Map<string, number> | undefined;
  const lookup = (v: string | number, which: 'user' | 'group', path: string): number => {
    // Ids were parsed with the entries (resolveEntries): a string is a name.
    if (typeof v === 'number') return v;
    const db = which === 'user'
      ? (users ??= parseIdDatabase(readTreeFile(root, ['etc', 'passwd']) ?? ''))
      : (groups ??= parseIdDatabase(readTreeFile(root, ['etc', 'group']) ?? ''));
    if (v === 'root') return db.get('root') ?? 0;
    const id = db.get(v);
    if (id === undefined) {
      throw new DiskwrightError('E_OWNER', `${which} ${show(v)} is not in the image's /etc/${which === 'user' ? 'passwd' : 'group'}; add it there or give a number`, { path, value: v });
    }
    return id;
  };
  for (const [node, o] of owners) {
    if (o.user !== undefined) node.uid = lookup(o.user, 'user', `${o.path}.user`);
    if (o.group !== undefined) node.gid = lookup(o.group, 'group', `${o.path}.group`);
  }
}

/**
 * Every name a filesystem stores is 1..255 bytes without NUL or "/" (and not "." or ".."); every
 * symlink target is free of NUL. Inputs are checked where they come in; this is the last guard,
 * for trees put together by other means.
 */
function checkNames(tree: Tree, specPath: string): void {
  walkTree(tree, (n, p, parent) => {
    if (parent === undefined) return;
    const bad = !isFileName(n.name);
    if (bad) throw new DiskwrightError('E_NAME', `${show(p.toString())}: ${show(n.name.toString())} is not a file name (1 to 255 bytes, no NUL or "/", not "." or "..")`, { path: specPath, value: p.toString() });
    if (n.symlinkTarget?.includes(0)) throw new DiskwrightError('E_NUL', `${show(p.toString())}: symlink target contains a NUL byte`, { path: specPath, value: p.toString() });
  });
}

/** Renumber hard-link groups 1.. in tree order; drop groups with a single member in this tree. */
function numberLinks(tree: Tree): void {
  const count = new Map<number, number>();
  walkTree(tree, (n) => { if (n.linkId !== undefined) count.set(n.linkId, (count.get(n.linkId) ?? 0) + 1); });
  const renum = new Map<number, number>();
  walkTree(tree, (n) => {
    if (n.linkId === undefined) return;
    if ((count.get(n.linkId) ?? 0) < 2) { delete n.linkId; return; }
    let id = renum.get(n.linkId);
    if (id === undefined) { id = renum.size + 1; renum.set(n.linkId, id); }
    n.linkId = id;
  });
}

/**
 * A Nix closureInfo directory (`store-paths`, `registration`): every store path is copied to the
 * same path in the image and the registration goes to /nix-path-registration, as make-ext4-fs.nix
 * and make-disk-image.nix arrange it.
 */
const STORE_DIR = '/nix/store';
/** A Nix store path: the store directory, then one `<32-char hash>-<name>` component (Nix's name characters). */
const STORE_PATH = /^\/nix\/store\/[0-9a-z]{32}-[A-Za-z0-9+\-._?=]+$/;

function* addClosureInfo(root: TreeNode, entry: ResolvedEntry, path: string, walk: WalkOptions, time: Timestamp): Walk<void> {
  const dir = entry.closureInfo!;
  if (!existsSync(dir) || !statSync(dir).isDirectory() || !existsSync(`${dir}/store-paths`)) {
    throw new DiskwrightError('E_SOURCE', `closureInfo ${show(entry.closureInfo)} is not a closure-info directory (no store-paths file)`, { path: `${path}.closureInfo`, value: entry.closureInfo });
  }
  let text: string;
  try {
    text = readFileSync(`${dir}/store-paths`, 'utf8');
  } catch (e) {
    throw new DiskwrightError('E_SOURCE', `cannot read ${dir}/store-paths: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: `${path}.closureInfo`, value: entry.closureInfo });
  }
  // Each line is copied from the host to the same path in the image: only store paths may be
  // named (one component below the store directory), never `/` or `/etc/shadow`.
  const storePaths: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    if (!STORE_PATH.test(line)) {
      throw new DiskwrightError('E_CLOSURE', `${dir}/store-paths line ${i + 1}: ${show(line)} is not a store path (${STORE_DIR}/<hash>-<name>)`, { path: `${path}.closureInfo`, value: line });
    }
    storePaths.push(line);
  });
  storePaths.sort();
  for (const sp of storePaths) {
    const parts = targetParts(sp);
    const parent = ensureDir(root, parts.slice(0, -1), path, time);
    mergeInto(parent, yield* walkHost(Buffer.from(sp), parts[parts.length - 1]!, walk), false, `${path}.closureInfo`);
  }
  if (existsSync(`${dir}/registration`)) {
    const reg = yield* walkHost(Buffer.from(`${dir}/registration`), Buffer.from('nix-path-registration'), walk);
    reg.mode = 0o644;
    mergeInto(root, reg, false, `${path}.closureInfo`);
  }
}
