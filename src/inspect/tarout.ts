/**
 * A pax tar writer for `extract -o OUT.tar` (POSIX.1-2008 `pax` Interchange Format: ustar headers,
 * each preceded by an extended header, typeflag 'x', when a value does not fit ustar or has no
 * ustar field): nanosecond times (`mtime`, `atime`), long names and link targets (`path`,
 * `linkpath`), large ids and sizes, xattrs as `SCHILY.xattr.NAME` (as GNU tar and libarchive write
 * them), devices, hard links (typeflag '1'), and sparse files in GNU sparse format 1.0 (the map
 * at the start of the member's data; GNU tar's manual, "Storing Sparse Files"). Everything a
 * directory extraction needs root for (owners, devices) is kept without it.
 */
import { writeSync } from 'node:fs';
import type { Timestamp, Xattr } from '../tree/model.js';

const BLOCK = 512;
/** Largest value an 11-digit octal field holds (ustar size, mtime), and a 7-digit one (uid, gid). */
const OCTAL11 = 0o77777777777;
const OCTAL7 = 0o7777777;

export type TarKind = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';
const TYPEFLAG: Record<TarKind, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

export interface TarMember {
  /** Path inside the archive (relative, '/'-separated; directories without the trailing slash). */
  path: Buffer;
  kind: TarKind;
  mode: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
  atime?: Timestamp;
  /** Regular files: their size; the data follows through `data`. */
  size: number;
  /** Symlink target, or the hard link's first path. */
  link?: Buffer;
  rdev?: { major: number; minor: number };
  xattrs?: Xattr[];
  /** Data ranges of a sparse file (sorted); undefined when it has no holes. */
  sparse?: [number, number][];
}

const time = (t: Timestamp): string => (t.nsec ? `${t.sec}.${String(t.nsec).padStart(9, '0').replace(/0+$/, '')}` : String(t.sec));

/** One pax record: "<length> <key>=<value>\n", the length counting itself. */
function record(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.isBuffer(value) ? value : Buffer.from(value), Buffer.from('\n')]);
  let n = body.length + 1;
  while (String(n).length + body.length !== n) n = String(n).length + body.length;
  return Buffer.concat([Buffer.from(String(n)), body]);
}

/** A ustar header block. */
function header(name: Buffer, m: { mode: number; uid: number; gid: number; size: number; mtime: number; type: string; link?: Buffer; rdev?: { major: number; minor: number } }): Buffer {
  const h = Buffer.alloc(BLOCK);
  const put = (at: number, len: number, v: Buffer | string): void => { (Buffer.isBuffer(v) ? v : Buffer.from(v)).copy(h, at, 0, len); };
  const oct = (at: number, len: number, v: number): void => put(at, len, Math.max(0, Math.min(v, 8 ** (len - 1) - 1)).toString(8).padStart(len - 1, '0') + '\0');
  put(0, 100, name);
  oct(100, 8, m.mode);
  oct(108, 8, m.uid);
  oct(116, 8, m.gid);
  oct(124, 12, m.size);
  oct(136, 12, m.mtime);
  h.fill(0x20, 148, 156);
  put(156, 1, m.type);
  if (m.link) put(157, 100, m.link);
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  if (m.rdev) { oct(329, 8, m.rdev.major); oct(337, 8, m.rdev.minor); }
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

/** Where the archive goes: a function taking each piece in order (awaited when it returns a promise). */
export type TarSink = (b: Uint8Array) => void | Promise<void>;

/** A TarSink writing to a file descriptor opened for this archive, front to back. */
export function fdSink(fd: number): TarSink {
  return (b) => { let done = 0; while (done < b.length) done += writeSync(fd, b, done, b.length - done); };
}

/** Writes members front to back (a pipe will do); `finish` writes the two zero blocks. */
export class TarWriter {
  private pos = 0;
  private seq = 0;
  private pending: Promise<void> | undefined;
  constructor(private readonly sink: TarSink) {}

  private write(b: Uint8Array): void {
    this.pos += b.length;
    const prev = this.pending;
    // Pieces are handed over in order; an asynchronous sink's promises are chained.
    if (prev) this.pending = prev.then(() => this.sink(b));
    else {
      const r = this.sink(b);
      if (r) this.pending = r;
    }
  }

  /** Wait until everything handed over so far is written (call between members to bound memory). */
  async flush(): Promise<void> {
    const p = this.pending;
    this.pending = undefined;
    if (p) await p;
  }

  private pad(): void {
    const r = this.pos % BLOCK;
    if (r) this.write(new Uint8Array(BLOCK - r));
  }

  /**
   * The headers of `m`; then the caller writes its data with `data` (for a sparse file: only the
   * bytes of its data ranges, in order) and calls `end`.
   */
  begin(m: TarMember): void {
    const recs: Buffer[] = [];
    const name = m.kind === 'dir' ? Buffer.concat([m.path, Buffer.from('/')]) : m.path;
    let stored = m.size;
    let sparseMap: Buffer | undefined;
    let ustarName = name;
    if (m.sparse) {
      // GNU sparse 1.0: the real name and size in the extended header, the map before the data.
      const lines = [String(m.sparse.length), ...m.sparse.flatMap(([s, e]) => [String(s), String(e - s)])].join('\n') + '\n';
      const map = Buffer.from(lines);
      sparseMap = Buffer.concat([map, Buffer.alloc((BLOCK - (map.length % BLOCK)) % BLOCK)]);
      stored = sparseMap.length + m.sparse.reduce((n, [s, e]) => n + e - s, 0);
      recs.push(record('GNU.sparse.major', '1'), record('GNU.sparse.minor', '0'), record('GNU.sparse.name', name), record('GNU.sparse.realsize', String(m.size)));
      ustarName = Buffer.from(`GNUSparseFile.${this.seq}/${m.path.toString('latin1').split('/').pop()}`, 'latin1');
    } else if (name.length > 100 || !isAscii(name)) recs.push(record('path', name));
    if (m.link && (m.link.length > 100 || !isAscii(m.link))) recs.push(record('linkpath', m.link));
    recs.push(record('mtime', time(m.mtime)));
    if (m.atime) recs.push(record('atime', time(m.atime)));
    if (m.uid > OCTAL7) recs.push(record('uid', String(m.uid)));
    if (m.gid > OCTAL7) recs.push(record('gid', String(m.gid)));
    if (stored > OCTAL11) recs.push(record('size', String(stored)));
    for (const x of m.xattrs ?? []) recs.push(record(`SCHILY.xattr.${x.name}`, Buffer.from(x.value)));
    const ext = Buffer.concat(recs);
    this.seq++;
    this.write(header(Buffer.from(`PaxHeaders/${this.seq}`), { mode: 0o644, uid: 0, gid: 0, size: ext.length, mtime: Math.max(0, Math.min(m.mtime.sec, OCTAL11)), type: 'x' }));
    this.write(ext);
    this.pad();
    this.write(header(ustarName, {
      mode: m.mode, uid: m.uid, gid: m.gid, size: m.kind === 'file' ? stored : 0, mtime: Math.max(0, Math.min(m.mtime.sec, OCTAL11)), type: TYPEFLAG[m.kind],
      ...(m.link ? { link: m.link } : {}), ...(m.rdev ? { rdev: m.rdev } : {}),
    }));
    if (sparseMap) this.write(sparseMap);
  }

  data(b: Uint8Array): void { this.write(b); }

  end(): void { this.pad(); }

  async finish(): Promise<void> {
    this.write(new Uint8Array(BLOCK * 2));
    await this.flush();
  }
}

const isAscii = (b: Buffer): boolean => b.every((c) => c >= 0x20 && c < 0x7f);
