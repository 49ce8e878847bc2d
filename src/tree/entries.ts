/**
 * A filesystem's `contents` entries, checked and resolved once (docs/ARCHITECTURE.md §3): one kind
 * per entry, absolute normalised targets, absolute host paths that exist, numeric modes, numeric
 * ids as numbers, the options that only some kinds take. The spec's validation calls this after
 * the structural check; `buildTree` calls it for entries given directly. The tree phase then
 * trusts what it gets and checks only what depends on the tree (collisions, names in
 * /etc/passwd, what the host files turn out to be).
 *
 * @example
 * const [e] = resolveEntries([{ target: '/tmp/', directory: true, mode: '1777' }], { baseDir: '/src', specPath: 'contents' });
 * e.target; // '/tmp'; e.mode: 0o1777
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { DiskwrightError, show } from '../errors.js';
import type { ContentEntry } from '../spec/types.js';
import { MODE_PATTERN } from '../util/schema.js';

/** A contents entry as the tree phase takes it. Field names are the spec's; values are resolved. */
export interface ResolvedEntry extends Omit<ContentEntry, 'mode' | 'target' | 'user' | 'group' | 'filesystem'> {
  /** Spec path of the entry (`partitions[1].contents[3]`). */
  path: string;
  kind: EntryKind;
  /** Absolute and normalised (`/etc/x`, `/` for the root); absent for closureInfo. */
  target?: string;
  /** source, tar and closureInfo are absolute host paths. */
  mode?: number;
  /** A name (looked up in the image's /etc/passwd) or a numeric id. */
  user?: string | number;
  group?: string | number;
  /** A `filesystem:` entry: the nested filesystem, resolved (its options by its handler). */
  filesystem?: ResolvedNestedFs;
}

/** A nested filesystem (`{ target, filesystem }`) as validation resolves it. */
export interface ResolvedNestedFs {
  /** The handler's name (aliases resolved). */
  type: string;
  /** Spec path of the `filesystem:` block. */
  path: string;
  label?: string;
  fsUuid?: string;
  size: number | 'auto';
  extraSpace: number;
  /** Its handler's option block, as `resolveOptions` returned it. */
  options: unknown;
  contents: ResolvedEntry[];
}

export const ENTRY_KINDS = ['source', 'text', 'directory', 'symlink', 'device', 'tar', 'closureInfo', 'filesystem'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];
const XATTR_NS = ['user.', 'trusted.', 'security.', 'system.posix_acl_access', 'system.posix_acl_default'];
const MODE = new RegExp(MODE_PATTERN);

export interface ResolveEntriesOptions {
  /** Directory relative host paths resolve against. */
  baseDir: string;
  /** Spec path of the list (`partitions[1].contents`). */
  specPath: string;
  /** Check that host paths exist (default true). */
  checkFiles?: boolean;
  /**
   * Resolve a `filesystem:` entry's block (its type and options belong to the filesystem
   * registry, which the spec phase owns); without it such entries are refused.
   */
  resolveFilesystem?: (spec: NonNullable<ContentEntry['filesystem']>, path: string, opts: ResolveEntriesOptions) => ResolvedNestedFs;
}

/** Check and resolve a contents list (see ResolvedEntry); errors name the entry's spec path. */
export function resolveEntries(entries: readonly ContentEntry[], opts: ResolveEntriesOptions): ResolvedEntry[] {
  return entries.map((e, i) => resolveEntry(e, `${opts.specPath}[${i}]`, opts));
}

function resolveEntry(c: ContentEntry, path: string, opts: ResolveEntriesOptions): ResolvedEntry {
  const present = c as Record<string, unknown>;
  const kinds = ENTRY_KINDS.filter((k) => present[k] !== undefined && !(k === 'directory' && c.directory === false));
  if (kinds.length > 1) throw new DiskwrightError('E_CONTENT_KIND', `an entry has one kind of content; this one has ${kinds.join(' and ')}`, { path: `${path}.${kinds[1]!}`, value: kinds });
  const kind = kinds[0];
  if (kind === undefined) throw new DiskwrightError('E_CONTENT_KIND', `an entry needs one of ${ENTRY_KINDS.join(', ')}`, { path, value: c });
  if (kind !== 'closureInfo' && kind !== 'source' && kind !== 'tar' && c.target === undefined) {
    throw new DiskwrightError('E_MISSING', `a ${kind} entry needs a target path`, { path: `${path}.target` });
  }
  const { mode, target, user, group, filesystem, ...rest } = c;
  const out: ResolvedEntry = { ...rest, path, kind };
  if (filesystem !== undefined) {
    if (!opts.resolveFilesystem) throw new DiskwrightError('E_CONTENT_KIND', 'a filesystem entry is resolved by the spec (resolveSpec); give it in a spec', { path: `${path}.filesystem` });
    out.filesystem = opts.resolveFilesystem(filesystem, `${path}.filesystem`, opts);
  }
  if (kind !== 'closureInfo') out.target = normaliseTarget(target ?? '/', `${path}.target`);
  for (const k of ['source', 'tar', 'closureInfo'] as const) {
    const v = c[k];
    if (v === undefined) continue;
    noNul(v, `${path}.${k}`);
    const full = isAbsolute(v) ? v : resolve(opts.baseDir, v);
    if (opts.checkFiles !== false && !existsSync(full)) throw new DiskwrightError('E_SOURCE', `${k} ${show(v)} does not exist (looked at ${full})`, { path: `${path}.${k}`, value: v });
    out[k] = full;
  }
  if (c.symlink !== undefined) noNul(c.symlink, `${path}.symlink`, 'symlink target ');
  if ((c.major !== undefined || c.minor !== undefined) && c.device !== 'char' && c.device !== 'block') {
    throw new DiskwrightError('E_DEVICE', 'major/minor belong to device: char or block entries', { path: `${path}.${c.major !== undefined ? 'major' : 'minor'}`, value: c.major ?? c.minor });
  }
  if (mode !== undefined) out.mode = parseMode(mode, `${path}.mode`);
  if (user !== undefined) out.user = parseId(user, 'user', `${path}.user`);
  if (group !== undefined) out.group = parseId(group, 'group', `${path}.group`);
  if (c.owners !== undefined && kind !== 'source' && kind !== 'closureInfo') {
    throw new DiskwrightError('E_OWNER', `owners applies to source and closureInfo entries (a ${kind} entry takes user and group)`, { path: `${path}.owners`, value: c.owners });
  }
  if (typeof c.xattrs === 'boolean') {
    if (kind !== 'source' && kind !== 'closureInfo') throw new DiskwrightError('E_XATTR', `xattrs: ${c.xattrs} applies to source and closureInfo entries (host xattrs); give a ${kind} entry an object of names and values`, { path: `${path}.xattrs`, value: c.xattrs });
  } else if (c.xattrs !== undefined) {
    for (const k of Object.keys(c.xattrs)) {
      if (!XATTR_NS.some((ns) => k.startsWith(ns)) || k.length > 255 || k.includes('\0')) throw new DiskwrightError('E_XATTR', `xattr name ${show(k)} must have no NUL byte and start with user., trusted., security. or be system.posix_acl_access/default`, { path: `${path}.xattrs.${k}`, value: k });
    }
  }
  return out;
}

/** `/a/./b/` → `/a/b`: absolute, no `..`, names of at most 255 bytes, no NUL. */
function normaliseTarget(target: string, path: string): string {
  if (!target.startsWith('/')) throw new DiskwrightError('E_TARGET', `target ${show(target)} must be an absolute path inside the filesystem (start with /)`, { path, value: target });
  if (target.includes('\0')) throw new DiskwrightError('E_NUL', `target ${show(target)} contains a NUL byte, which no file name can hold`, { path, value: target });
  const parts = target.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new DiskwrightError('E_TARGET', `target ${show(target)} must not contain ".."`, { path, value: target });
  if (parts.some((p) => Buffer.byteLength(p) > 255)) throw new DiskwrightError('E_TARGET', `target ${show(target)} has a name longer than 255 bytes`, { path, value: target });
  return '/' + parts.join('/');
}

function noNul(value: string, path: string, what = ''): void {
  if (value.includes('\0')) throw new DiskwrightError('E_NUL', `${what}${show(value)} contains a NUL byte, which no name, path or link can hold`, { path, value });
}

/** An octal mode string ("0644", "1777", "755"). Numbers are refused: YAML reads 0644 as 644. */
export function parseMode(value: unknown, path: string): number {
  if (typeof value === 'string' && MODE.test(value)) return parseInt(value, 8);
  throw new DiskwrightError('E_MODE', `mode ${show(value)} must be an octal string such as "0644"${typeof value === 'number' ? ' (YAML reads 0644 as the decimal number 644)' : ''}`, { path, value });
}

/** A user or group: a name, or a numeric id (a number or a string of digits). */
function parseId(v: unknown, which: string, path: string): string | number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return v;
  if (typeof v === 'string' && /^[0-9]+$/.test(v) && Number(v) <= 0xffffffff) return Number(v);
  if (typeof v === 'string' && v !== '' && !v.includes('\0')) return v;
  throw new DiskwrightError('E_OWNER', `${which} must be a name or a numeric id, got ${show(v)}`, { path, value: v });
}

/** The components of a resolved target (`/` gives []). */
export function targetParts(target: string): Buffer[] {
  return target.split('/').filter((p) => p !== '').map((p) => Buffer.from(p));
}
