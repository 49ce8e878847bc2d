/**
 * Helpers for the ISO 9660 tests: build an image with the planner, read it with the reference
 * tools (isoinfo, xorriso/osirrox, the kernel when it has iso9660), compare with the source tree.
 */
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { emit } from '../../src/container/emit.js';
import { iso9660Handler, type Iso9660ResolvedOptions } from '../../src/fs/iso9660/index.js';
import type { FsContext, FsInfo } from '../../src/fs/types.js';
import type { Iso9660Options } from '../../src/spec/types.js';
import { buildTree } from '../../src/tree/build.js';
import type { Tree } from '../../src/tree/model.js';
import { run, runOk } from '../helpers/tools.js';

export const EPOCH = 1700000000;

export type IsoOverrides = Partial<Omit<FsContext<Iso9660ResolvedOptions>, 'options'>> & { iso?: Iso9660Options };

/** Clean-ups the planners registered (zisofs temporary files), run when the test process exits. */
const disposers: (() => void)[] = [];
process.once('exit', () => { for (const d of disposers) d(); });

export function isoContext(over: IsoOverrides = {}): FsContext<Iso9660ResolvedOptions> {
  const { iso, ...rest } = over;
  return {
    name: 'iso', specPath: 'partitions[0]', seed: 'iso-test-seed', epoch: EPOCH, label: 'TESTISO',
    size: 'auto', extraSpace: 0, sectorSize: 512, onDispose: (d) => disposers.push(d), ...rest,
    options: iso9660Handler.resolveOptions(iso ?? {}, 'partitions[0].iso9660'),
  };
}

export function treeOf(dir: string, opts: { epoch?: number; owners?: 'host' | 'root' } = {}): Tree {
  return buildTree([{ source: dir, target: '/', ...(opts.owners ? { owners: opts.owners } : {}) }], { baseDir: '/', epoch: opts.epoch ?? EPOCH, specPath: 'contents', xattrs: false });
}

export async function buildIso(tree: Tree, out: string, over: IsoOverrides = {}): Promise<FsInfo> {
  const { volume, info } = await iso9660Handler.plan(tree, isoContext(over));
  await emit(volume, out, { format: 'raw', compression: 'none', seed: 'iso-test-seed', epoch: EPOCH, hash: false } as Parameters<typeof emit>[2]);
  return info;
}

/** `isoinfo -d` fields as a map ("Volume id" → "TESTISO"). */
export function isoinfoD(img: string): Map<string, string> {
  const out = runOk('isoinfo', ['-d', '-i', img]);
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  for (const line of out.split('\n')) if (/found|present/.test(line)) m.set(line.trim(), 'yes');
  return m;
}

/**
 * xorriso reads the image without complaint: no SORRY/FAILURE/WARNING lines, its system area and
 * El Torito reports, every file's extents (report_lba), and (unless `checkMedia` is false, for
 * images of gigabytes) the media check reads every block and finds them all good.
 */
export function xorrisoClean(img: string, opts: { checkMedia?: boolean } = {}): string {
  const check = opts.checkMedia === false ? [] : ['-check_media', '--'];
  const r = run('xorriso', ['-abort_on', 'NEVER', '-return_with', 'WARNING', '32', '-indev', img, ...check, '-report_system_area', 'plain', '-report_el_torito', 'plain', '-find', '/', '-exec', 'report_lba', '--']);
  const out = r.stdout + r.stderr;
  assert.equal(r.status, 0, `xorriso on ${img} exited ${r.status}:\n${out}`);
  assert.doesNotMatch(out, /: (SORRY|FAILURE|FATAL|WARNING|MISHAP) :/, out);
  if (check.length) {
    // The volume read whole and good (blocks past the volume space, a fixed size's padding, are not read).
    const regions = out.split('\n').filter((l) => l.startsWith('Media region :'));
    assert.match(regions[0] ?? '', /^Media region :\s+0 ,\s+\d+ , \+ good/, regions.join('\n'));
    for (const r of regions.slice(1)) assert.match(r, /, 0 untested$/, regions.join('\n'));
  }
  return out;
}

/**
 * osirrox extraction of the whole Rock Ridge tree: devices, FIFOs and hard links restored (PX
 * serial numbers; `-hardlinks on` must come before `-indev`), runs of zeros as holes. osirrox
 * restores neither sockets nor the times of symbolic links.
 */
export function extract(img: string, outDir: string, extra: string[] = []): void {
  mkdirSync(join(outDir, '..'), { recursive: true });
  runOk('osirrox', ['-hardlinks', 'on', ...extra, '-indev', img, '-osirrox', 'on:device_files:sparse=1m', '-extract', '/', outDir]);
}

/** `xorriso -find / -exec lsdl` lines by path: type and mode, links, owner, group, size or device, date. */
export function lsdl(img: string, extra: string[] = []): Map<string, string> {
  const out = runOk('xorriso', [...extra, '-indev', img, '-find', '/', '-exec', 'lsdl', '--']);
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const r = /^([-dlbcps].*?) '(\/(?:[^']|'\\'')*)'(?: -> .*)?$/.exec(line);
    if (r) m.set(r[2]!.replace(/'\\''/g, "'"), r[1]!.trim().replace(/\s+/g, ' '));
  }
  return m;
}

/** Whether this kernel mounts ISO 9660 (many container kernels have no isofs). */
export function kernelHasIso9660(): boolean {
  const fs = existsSync('/proc/filesystems') ? readFileSync('/proc/filesystems', 'utf8') : '';
  if (/\biso9660\b/.test(fs)) return true;
  if (run('sh', ['-c', 'command -v modprobe']).status !== 0) return false;
  return run('modprobe', ['-q', 'isofs']).status === 0 && /\biso9660\b/.test(readFileSync('/proc/filesystems', 'utf8'));
}

export interface Listed {
  /** Directory path with a trailing slash, as isoinfo prints it. */
  dir: string;
  name: string;
  mode: string;
  nlink: number;
  size: number;
  /** Extent (LBA) and file flags as isoinfo prints them: `[ 33 00]`. */
  lba: number;
  flags: string;
  /** Symlink target (Rock Ridge listings). */
  target?: string;
  date: string;
}

/**
 * `isoinfo -l` (with `-R` or `-J` in `flags`) parsed: every record but "." and "..". isoinfo's owner
 * columns are not used (it prints PX owners through a table of its own); xorriso's lsdl has them.
 */
export function isoinfoListing(img: string, flags: string[] = []): Listed[] {
  const out: Listed[] = [];
  let dir = '/';
  for (const line of runOk('isoinfo', ['-l', ...flags, '-i', img]).split('\n')) {
    const d = /^Directory listing of (.*)$/.exec(line);
    if (d) { dir = d[1]!; continue; }
    const m = /^([-dlbcpfs][-rwxsStT]{9})\s+(\d+)\s+\S+\s+\S+\s+(\d+)\s+(\w{3}\s+\d+\s+\d{4})\s+\[\s*(\d+)\s+(\d+)\]\s\s(.*)$/.exec(line);
    if (!m) continue;
    let name = m[7]!;
    let target: string | undefined;
    if (m[1]![0] === 'l' && name.includes(' -> ')) { target = name.slice(name.indexOf(' -> ') + 4); name = name.slice(0, name.indexOf(' -> ')); }
    name = name.replace(/ $/, '');
    if (name === '.' || name === '..') continue;
    out.push({ dir, name, mode: m[1]!, nlink: Number(m[2]), size: Number(m[3]), date: m[4]!.replace(/\s+/g, ' '), lba: Number(m[5]), flags: m[6]!, ...(target !== undefined ? { target } : {}) });
  }
  return out;
}

/** Byte ranges of a file that hold blocks on disk (`filefrag -v -b1`, e2fsprogs), or undefined when it cannot tell. */
function allocatedRanges(path: string): { start: number; end: number }[] | undefined {
  const r = run('filefrag', ['-v', '-b1', path]);
  if (r.status !== 0) return undefined;
  const out: { start: number; end: number }[] = [];
  for (const m of r.stdout.matchAll(/^\s*\d+:\s+(\d+)\.\.\s*(\d+):/gm)) out.push({ start: Number(m[1]), end: Number(m[2]) + 1 });
  return out;
}

/**
 * Whether two large sparse files are equal, reading only what is allocated in either: outside
 * those ranges both are holes, which read as zeros. Falls back to reading everything.
 */
export function sameSparseFiles(a: string, b: string): boolean {
  const size = statSync(a).size;
  if (statSync(b).size !== size) return false;
  const ranges = [...(allocatedRanges(a) ?? [{ start: 0, end: size }]), ...(allocatedRanges(b) ?? [{ start: 0, end: size }])];
  const fa = openSync(a, 'r'), fb = openSync(b, 'r');
  try {
    const ba = Buffer.alloc(1 << 20), bb = Buffer.alloc(1 << 20);
    for (const r of ranges) {
      for (let at = r.start; at < Math.min(r.end, size); at += ba.length) {
        const n = Math.min(ba.length, Math.min(r.end, size) - at);
        if (readSync(fa, ba, 0, n, at) !== n || readSync(fb, bb, 0, n, at) !== n) return false;
        if (!ba.subarray(0, n).equals(bb.subarray(0, n))) return false;
      }
    }
  } finally { closeSync(fa); closeSync(fb); }
  return true;
}
