/**
 * The installed `diskwright` command. `npm run build` writes this module, compiled, as
 * dist/cli/main.js (scripts/bundle.mjs fills in BUNDLE_HASH); it runs the whole CLI, bundled into
 * one script (dist/cli/diskwright.cjs), with a V8 code cache, which is what start-up costs on
 * Node 20: resolving and compiling ~105 ES modules took ~100 ms, the bundle with a cache ~10 ms
 * (BENCHMARKS.md "Start-up"). Node 20 has no compile cache for ES modules
 * (`module.enableCompileCache` is Node 22), hence a script: `vm.Script` takes `cachedData`.
 *
 * The cache is an optimisation only, never a source of behaviour or output bytes:
 * - it lives in `$DISKWRIGHT_CACHE_DIR`, else `$XDG_CACHE_HOME/diskwright`, else
 *   `~/.cache/diskwright` (an empty `DISKWRIGHT_CACHE_DIR` turns it off), one file per bundle
 *   hash, Node version, architecture and command (each command caches the functions it ran);
 *   other bundles' files are removed a day after they were written;
 * - a file is used only when this user owns it and nobody else can write it (its bytecode runs as
 *   this user), and when its magic number, length and CRC-32 hold: V8 checks its own version,
 *   flags and the source length, and rejects a mismatch (`cachedDataRejected`, then the source is
 *   compiled as without a cache), but a release build verifies no checksum of the payload, and a
 *   damaged payload crashed Node here (test/build/bundle.test.ts). The CRC is `zlib.crc32`
 *   (Node ≥ 20.15; without it no cache is used), ~1 ms for a 0.5 MB cache where a JavaScript
 *   checksum took 3–6 ms;
 * - it is written after a command that ended with status 0, to a temporary file renamed into
 *   place (never seen half-written), only when none was used; any failure to read or write it is
 *   ignored.
 *
 * @example
 * // dist/cli/main.js build disk.yaml   (what the `diskwright` bin runs)
 */
import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/** The first 16 hex digits of the bundle's sha256, filled in by scripts/bundle.mjs. */
const BUNDLE_HASH: string = '__DISKWRIGHT_BUNDLE_HASH__';
/** 'DWV8' little-endian: the cache file's magic number, then the length and CRC-32 of V8's data, then the data. */
const MAGIC = 0x38565744;
const HEADER = 12;
/** Caches of other bundles unchanged for this long are removed when a new one is written. */
const STALE_MS = 24 * 3600 * 1000;

const bundle = fileURLToPath(new URL('./diskwright.cjs', import.meta.url));
/** dist/: modules of the bundle ask for their own URL as if they were dist's separate files. */
const dist = new URL('../', import.meta.url);

function cacheDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env.DISKWRIGHT_CACHE_DIR !== undefined) return env.DISKWRIGHT_CACHE_DIR === '' ? undefined : env.DISKWRIGHT_CACHE_DIR;
  // XDG Base Directory: a relative XDG_CACHE_HOME is invalid and ignored.
  const base = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : env.HOME ? join(env.HOME, '.cache') : undefined;
  return base === undefined ? undefined : join(base, 'diskwright');
}

/**
 * The command a run caches for (its functions are the ones compiled, and a smaller cache loads
 * faster): `build`, `ext4`…, `version` (which compiles little), or `help` for the rest.
 */
function commandKey(argv: readonly string[]): string {
  const c = argv[2];
  if (argv.length === 3 && (c === '--version' || c === '-v')) return 'version';
  return c !== undefined && /^[a-z][a-z0-9-]{0,19}$/.test(c) && !argv.includes('--help') && !argv.includes('-h') ? c : 'help';
}

function readCache(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    // Non-blocking: a FIFO in its place must not hang the start.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile() || (process.getuid !== undefined && st.uid !== process.getuid()) || (st.mode & 0o022) !== 0) return undefined;
    if (st.size <= HEADER || st.size > 256 << 20) return undefined;
    const data = Buffer.allocUnsafe(st.size);
    if (readSync(fd, data, 0, st.size, 0) !== st.size) return undefined;
    const payload = data.subarray(HEADER);
    if (data.readUInt32LE(0) !== MAGIC || data.readUInt32LE(4) !== payload.length || data.readUInt32LE(8) !== crc32!(payload)) return undefined;
    return payload;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeCache(dir: string, file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const head = Buffer.alloc(HEADER);
    head.writeUInt32LE(MAGIC, 0);
    head.writeUInt32LE(data.length, 4);
    head.writeUInt32LE(crc32!(data), 8);
    writeFileSync(tmp, Buffer.concat([head, data]), { mode: 0o600 });
    renameSync(tmp, file);
    // Other builds of the bundle (an upgrade, a rebuild) leave their caches: remove those written
    // more than a day ago (an installation still in use writes its own again, once).
    const old = Date.now() - STALE_MS;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name.endsWith('.v8') && !name.startsWith(`${BUNDLE_HASH}-`) && statSync(path).mtimeMs < old) rmSync(path, { force: true });
    }
  } catch {
    try { rmSync(tmp, { force: true }); } catch { /* nothing was written */ }
  }
}

const require = createRequire(bundle);
const wanted = cacheDir(process.env);
// zlib.crc32 is Node ≥ 20.15 (and 22.2): without it, no cache (an unchecked one can crash V8).
// Loaded only when a cache is wanted (DISKWRIGHT_CACHE_DIR="" loads no zlib).
const crc32 = wanted === undefined ? undefined : (require('node:zlib') as { crc32?: (data: Uint8Array) => number }).crc32;
const dir = crc32 === undefined ? undefined : wanted;
const file = dir === undefined ? undefined : join(dir, `${BUNDLE_HASH}-${process.version}-${process.arch}-${commandKey(process.argv)}.v8`);
const cachedData = file === undefined ? undefined : readCache(file);
// ASCII (scripts/bundle.mjs): latin1 makes a one-byte string without a UTF-8 decode.
const source = readFileSync(bundle, 'latin1');
// A CommonJS wrapper, plus the two names the bundle's modules use for `import.meta.url` and for
// loading a package at run time (scripts/bundle.mjs rewrites them).
const script = new Script(`(function (exports, require, module, __filename, __dirname, __dwUrl, __dwImport) {${source}\n})`, { filename: bundle, ...(cachedData ? { cachedData } : {}) });
if (dir !== undefined && file !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
  process.once('exit', (code) => { if (code === 0) writeCache(dir, file, script.createCachedData()); });
}
const module = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(
  module.exports, require, module, bundle, dirname(bundle),
  (path: string) => new URL(path, dist).href,
  (specifier: string) => import(specifier),
);
