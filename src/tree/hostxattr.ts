/**
 * Extended attributes of host files (docs/ARCHITECTURE.md §4: copied by default, `xattrs: false` to skip).
 * Node has no xattr API; `@napi-rs/xattr` (prebuilt N-API binaries shipped as per-platform npm
 * packages, lgetxattr/llistxattr semantics: a symlink's own attributes) is loaded on first use.
 * Where it cannot load, the walk goes on without xattrs and the caller gets one warning.
 */
import { isUtf8 } from 'node:buffer';
import { closeSync, constants, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DiskwrightError } from '../errors.js';
import type { Xattr } from './model.js';

interface XattrModule {
  listAttributesSync(path: string): string[];
  getAttributeSync(path: string, name: string): Buffer | null;
}

let loaded: { api?: XattrModule; error?: string } | undefined;

/**
 * The xattr module, or why it is missing. `DISKWRIGHT_XATTR_MODULE` names another module to load
 * (tests use it to exercise the fallback).
 */
export function xattrModule(): { api?: XattrModule; error?: string } {
  if (loaded) return loaded;
  const name = process.env.DISKWRIGHT_XATTR_MODULE || '@napi-rs/xattr';
  try {
    const mod = createRequire(import.meta.url)(name) as Partial<XattrModule>;
    if (typeof mod.listAttributesSync !== 'function' || typeof mod.getAttributeSync !== 'function') throw new Error('no listAttributesSync/getAttributeSync');
    loaded = { api: mod as XattrModule };
  } catch (e) {
    const msg = ((e as Error).message ?? String(e)).split('\n')[0]!;
    loaded = { error: `cannot load ${name} (${msg}): host extended attributes are not copied (xattrs: false or --no-xattrs silences this)` };
  }
  return loaded;
}

/** Names ext4 can store from a host: the namespaces of the xattr API that are real data. */
const KEPT = /^(user\.|trusted\.|security\.)|^system\.posix_acl_(access|default)$/;

const O_PATH = 0o10000000;

/** What the walk reports back: warnings (deduplicated by the caller). */
export interface HostXattrContext {
  warn: (message: string) => void;
  /** Spec path for errors. */
  specPath: string;
  /** Files whose xattrs could not be read because their own name is not UTF-8. */
  unreadable: Buffer[];
  /**
   * Devices (st_dev) whose filesystem answered EOPNOTSUPP during this walk: it stores no xattrs at
   * all, so no other file on it is asked. Listing costs two llistxattr calls per file through the
   * module (about as much as the walk's lstat, BENCHMARKS.md "ext4"). Made on first use.
   */
  noXattrs?: Set<bigint>;
}

const errno = (e: unknown): string => {
  const m = /os error (\d+)/.exec((e as Error).message ?? '');
  return m ? m[1]! : '';
};

/** Shared answer for the (most) files without xattrs. */
const NONE: Xattr[] = [];

/**
 * The xattrs of `hostPath` (not following a final symlink), sorted by name. The module takes paths
 * as strings: a path that is not UTF-8 (a Buffer; the walk passes UTF-8 paths as strings) is reached
 * through /proc/self/fd (an O_PATH descriptor of the directory itself, or of the parent when only an
 * ancestor's name is not UTF-8). A non-directory whose own name is not UTF-8 cannot be named that
 * way; it is listed in `ctx.unreadable`. `dev` (the file's st_dev) lets a filesystem without xattr
 * support be skipped after its first answer.
 */
export function readHostXattrs(api: XattrModule, hostPath: string | Buffer, isDir: boolean, ctx: HostXattrContext, dev?: bigint): Xattr[] {
  if (dev !== undefined && ctx.noXattrs?.has(dev)) return NONE;
  if (typeof hostPath === 'string') return readAt(api, hostPath, hostPath, ctx, dev);
  if (isUtf8(hostPath)) return readAt(api, hostPath.toString(), hostPath, ctx, dev);
  let fd: number | undefined;
  try {
    const slash = hostPath.lastIndexOf(0x2f);
    const base = hostPath.subarray(slash + 1);
    if (isDir) {
      fd = openSync(hostPath, constants.O_RDONLY | O_PATH | constants.O_NOFOLLOW);
      return readAt(api, `/proc/self/fd/${fd}/.`, hostPath, ctx, dev);
    }
    if (!isUtf8(base)) { ctx.unreadable.push(hostPath); return NONE; }
    fd = openSync(slash > 0 ? hostPath.subarray(0, slash) : Buffer.from('/'), constants.O_RDONLY | O_PATH | constants.O_DIRECTORY);
    return readAt(api, `/proc/self/fd/${fd}/${base.toString()}`, hostPath, ctx, dev);
  } catch (e) {
    if (e instanceof DiskwrightError) throw e;
    throw new DiskwrightError('E_SOURCE', `cannot read the extended attributes of ${hostPath.toString()}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: ctx.specPath, value: hostPath.toString() });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function readAt(api: XattrModule, path: string, hostPath: string | Buffer, ctx: HostXattrContext, dev: bigint | undefined): Xattr[] {
  let names: string[];
  try {
    names = api.listAttributesSync(path);
  } catch (e) {
    // EOPNOTSUPP (95): the filesystem has no xattrs at all.
    if (errno(e) === '95') {
      if (dev !== undefined) (ctx.noXattrs ??= new Set()).add(dev);
      return NONE;
    }
    throw new DiskwrightError('E_SOURCE', `cannot list the extended attributes of ${hostPath.toString()}: ${(e as Error).message}`, { path: ctx.specPath, value: hostPath.toString() });
  }
  if (names.length === 0) return NONE;
  const out: Xattr[] = [];
  for (const name of names) {
    if (!KEPT.test(name)) {
      ctx.warn(`${ctx.specPath}: xattr ${name} of ${hostPath.toString()} is not stored (only user.*, trusted.*, security.* and POSIX ACLs are)`);
      continue;
    }
    const value = api.getAttributeSync(path, name);
    if (value === null) {
      // Removed between list and get, or unreadable: say so rather than drop it silently.
      ctx.warn(`${ctx.specPath}: xattr ${name} of ${hostPath.toString()} could not be read; it is not stored`);
      continue;
    }
    out.push({ name, value });
  }
  return out.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}
