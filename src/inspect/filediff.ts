/**
 * `diff` down to files: two filesystems of one type walked side by side; every path only in one
 * is added or removed, every path in both is compared for what the format keeps (type, content,
 * mode, owner, times, xattrs, link target, device numbers, link count). Contents are compared
 * byte for byte, a range both files leave as a hole without reading it.
 */
import { walk } from './files.js';
import type { FsNode, FsReader } from './fsread.js';
import { timeString } from './listing.js';

export interface FileChange {
  /** Path from the filesystem's root. */
  path: string;
  change: 'added' | 'removed' | 'changed';
  /** For 'changed': each difference, "mode 0644 != 0600", "content", "xattrs (user.a)". */
  what: string[];
}

const CHUNK = 1 << 20;

function nodes(fs: FsReader, image: string): Map<string, FsNode> {
  const m = new Map<string, FsNode>();
  walk(fs, fs.root(), (rel, n) => m.set('/' + rel.toString('latin1'), n), image);
  return m;
}

/** True when the two files hold the same bytes (holes and zeros alike). */
function sameContent(fa: FsReader, a: FsNode, fb: FsReader, b: FsNode): boolean {
  if (a.size !== b.size) return false;
  // Only ranges where either side has data are read.
  const ranges = [...fa.dataRanges(a), ...fb.dataRanges(b)].sort((x, y) => x[0] - y[0]);
  let done = 0;
  for (const [s, e] of ranges) {
    for (let at = Math.max(s, done); at < e; at += CHUNK) {
      const n = Math.min(CHUNK, e - at);
      if (!Buffer.from(fa.read(a, at, n)).equals(fb.read(b, at, n))) return false;
    }
    done = Math.max(done, e);
  }
  return true;
}

const oct = (m: number): string => '0' + m.toString(8).padStart(3, '0');
const ns = (t: { sec: number; nsec: number }): string => (t.nsec ? `${timeString(t.sec)}.${String(t.nsec).padStart(9, '0')}` : timeString(t.sec));

/** What differs between two nodes of one path, in what both formats keep. */
function compare(fa: FsReader, a: FsNode, fb: FsReader, b: FsNode): string[] {
  if (a.kind !== b.kind) return [`type ${a.kind} != ${b.kind}`];
  const keeps = { modes: fa.keeps.modes && fb.keeps.modes, owners: fa.keeps.owners && fb.keeps.owners, xattrs: fa.keeps.xattrs && fb.keeps.xattrs, links: fa.keeps.links && fb.keeps.links };
  const g = BigInt(Math.max(fa.keeps.timeGranularityNs, fb.keeps.timeGranularityNs));
  const out: string[] = [];
  if (a.kind === 'file' && !sameContent(fa, a, fb, b)) out.push(a.size === b.size ? 'content' : `content (size ${a.size} != ${b.size})`);
  if (keeps.modes && a.mode !== b.mode) out.push(`mode ${oct(a.mode)} != ${oct(b.mode)}`);
  if (keeps.owners && (a.uid !== b.uid || a.gid !== b.gid)) out.push(`owner ${a.uid}:${a.gid} != ${b.uid}:${b.gid}`);
  for (const t of ['mtime', 'atime', 'ctime'] as const) {
    const x = BigInt(a[t].sec) * 1_000_000_000n + BigInt(a[t].nsec), y = BigInt(b[t].sec) * 1_000_000_000n + BigInt(b[t].nsec);
    if (x / g !== y / g) out.push(`${t} ${ns(a[t])} != ${ns(b[t])}`);
  }
  if (a.kind === 'symlink') {
    const x = fa.readlink(a), y = fb.readlink(b);
    if (!x.equals(y)) out.push(`target ${x.toString()} != ${y.toString()}`);
  }
  if ((a.kind === 'char' || a.kind === 'block') && (a.rdev?.major !== b.rdev?.major || a.rdev?.minor !== b.rdev?.minor)) {
    out.push(`device ${a.rdev?.major}:${a.rdev?.minor} != ${b.rdev?.major}:${b.rdev?.minor}`);
  }
  if (keeps.links && a.kind !== 'dir' && a.nlink !== b.nlink) out.push(`links ${a.nlink} != ${b.nlink}`);
  if (keeps.xattrs) {
    const xa = new Map(fa.xattrs(a).map((x) => [x.name, Buffer.from(x.value)]));
    const xb = new Map(fb.xattrs(b).map((x) => [x.name, Buffer.from(x.value)]));
    const names = [...new Set([...xa.keys(), ...xb.keys()])].sort().filter((k) => !(xa.get(k)?.equals(xb.get(k) ?? Buffer.alloc(0)) && xb.has(k)));
    if (names.length) out.push(`xattrs (${names.join(', ')})`);
  }
  return out;
}

/** Every path added, removed or changed from filesystem `fa` (of image `imageA`) to `fb`, in path order. */
export function diffFilesystems(fa: FsReader, imageA: string, fb: FsReader, imageB: string): FileChange[] {
  const ma = nodes(fa, imageA), mb = nodes(fb, imageB);
  const paths = [...new Set([...ma.keys(), ...mb.keys()])].sort((x, y) => Buffer.compare(Buffer.from(x, 'latin1'), Buffer.from(y, 'latin1')));
  const out: FileChange[] = [];
  for (const p of paths) {
    const a = ma.get(p), b = mb.get(p);
    const path = Buffer.from(p, 'latin1').toString();
    if (!a) out.push({ path, change: 'added', what: [] });
    else if (!b) out.push({ path, change: 'removed', what: [] });
    else {
      const what = compare(fa, a, fb, b);
      if (what.length) out.push({ path, change: 'changed', what });
    }
  }
  return out;
}
