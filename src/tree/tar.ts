import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { DiskwrightError } from '../errors.js';

/** One member of a tar archive, with its data as a byte range of the (uncompressed) archive file. */
export interface TarMember {
  path: Buffer;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: { sec: number; nsec: number };
  size: number;
  dataOffset: number;
  /** Byte offset of the member's first header (its pax/long-name header when it has one). */
  headerOffset: number;
  linkname: Buffer;
  devmajor: number;
  devminor: number;
  xattrs: { name: string; value: Uint8Array }[];
}

/* POSIX.1-1988 ustar header (POSIX.1-2017 pax, "ustar Interchange Format"): offsets in bytes. */
const H = { name: [0, 100], mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12], chksum: [148, 8], typeflag: [156, 1], linkname: [157, 100], magic: [257, 6], version: [263, 2], uname: [265, 32], gname: [297, 32], devmajor: [329, 8], devminor: [337, 8], prefix: [345, 155] } as const;
type Field = readonly [number, number];

/** Extended headers (pax records, GNU long names) are read into memory: never more than this. */
export const MAX_EXTENDED_HEADER = 1 << 20;
/** Times ext4 can store (32-bit seconds plus two epoch bits: 1901-12-13 .. 2446-05-10). */
export const MIN_TIME = -(2 ** 31);
export const MAX_TIME = 2 ** 34 - 2 ** 31 - 1;
/** Linux device numbers (12-bit major, 20-bit minor), what ext4's new encoding stores. */
const MAX_MAJOR = 4095;
const MAX_MINOR = 0xfffff;
const MAX_ID = 0xffffffff;

/** A NUL-terminated header field, copied (the header buffer is reused for the next member). */
function field(h: Buffer, f: Field): Buffer {
  const b = h.subarray(f[0], f[0] + f[1]);
  const z = b.indexOf(0);
  return Buffer.from(z < 0 ? b : b.subarray(0, z));
}

const FIELD_NAMES = new Map<Field, string>(Object.entries(H).map(([k, v]) => [v as Field, k]));

/**
 * A numeric header field: octal digits (leading spaces, ended by NUL or space; empty is 0), or
 * GNU/star base-256 (first byte 0x80 positive, 0xff negative). Anything else is an error, as is a
 * value past 2^53. `bad(message)` throws.
 */
function num(h: Buffer, f: Field, bad: (m: string) => never, signed = false): number {
  const b = h.subarray(f[0], f[0] + f[1]);
  const what = FIELD_NAMES.get(f) ?? 'number';
  if (b[0] === 0x80 || b[0] === 0xff) {
    const neg = b[0] === 0xff;
    let v = 0n;
    for (let i = 1; i < b.length; i++) v = (v << 8n) | BigInt(neg ? b[i]! ^ 0xff : b[i]!);
    if (neg) v = -(v + 1n);
    if (neg && !signed) bad(`${what} field is negative`);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) bad(`${what} field is out of range`);
    return Number(v);
  }
  let i = 0;
  while (i < b.length && b[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < b.length && b[i]! >= 0x30 && b[i]! <= 0x37; i++, digits++) v = v * 8 + (b[i]! - 0x30);
  for (; i < b.length; i++) {
    if (b[i] !== 0 && b[i] !== 0x20) bad(`${what} field ${JSON.stringify(b.toString('latin1').replace(/\0+$/, ''))} is not an octal number`);
  }
  if (!Number.isSafeInteger(v)) bad(`${what} field is out of range`);
  return v;
}

/** A decimal pax value: digits only (with an optional sign when `signed`), within the safe integers. */
function paxInt(v: Buffer, key: string, bad: (m: string) => never, min: number, max: number): number {
  const s = v.toString('latin1');
  if (!/^-?[0-9]{1,16}$/.test(s)) bad(`pax record ${key}=${JSON.stringify(s.slice(0, 40))} is not a decimal integer`);
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < min || n > max) bad(`pax record ${key}=${s} is out of range (${min} .. ${max})`);
  return n;
}

function paxTime(v: Buffer, key: string, bad: (m: string) => never): { sec: number; nsec: number } {
  const s = v.toString('latin1');
  const m = /^(-?)([0-9]{1,16})(?:\.([0-9]*))?$/.exec(s);
  if (!m) bad(`pax record ${key}=${JSON.stringify(s.slice(0, 40))} is not a time (seconds[.fraction])`);
  const whole = Number(m[2]);
  let nsec = parseInt(((m[3] ?? '') + '000000000').slice(0, 9), 10);
  let sec = m[1] === '-' ? -whole : whole;
  // "-1.5" is 1.5 s before the epoch: sec -2, nsec 500000000.
  if (m[1] === '-' && nsec > 0) { sec -= 1; nsec = 1_000_000_000 - nsec; }
  if (!Number.isSafeInteger(sec) || sec < MIN_TIME || sec > MAX_TIME) bad(`pax record ${key}=${s} is outside the times a filesystem can store (${MIN_TIME} .. ${MAX_TIME})`);
  return { sec, nsec };
}

/**
 * Parse pax extended header records (`"%d %s=%s\n"`, the length counting the whole record).
 * A record that does not have that form is an error.
 */
function parsePax(data: Buffer, bad: (m: string) => never): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let i = 0;
  while (i < data.length) {
    // GNU tar pads the header's last block with NULs.
    if (data[i] === 0 && data.subarray(i).every((c) => c === 0)) break;
    const sp = data.indexOf(0x20, i);
    const lenText = sp < 0 ? '' : data.subarray(i, sp).toString('latin1');
    if (!/^[0-9]{1,7}$/.test(lenText)) bad(`pax record at offset ${i} of the extended header has no valid length`);
    const len = Number(lenText);
    if (len < lenText.length + 3 || i + len > data.length) bad(`pax record at offset ${i} of the extended header has a bad length ${len}`);
    if (data[i + len - 1] !== 0x0a) bad(`pax record at offset ${i} of the extended header does not end in a newline`);
    const rec = data.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) bad(`pax record at offset ${i} of the extended header has no key=value`);
    out.set(rec.subarray(0, eq).toString('utf8'), Buffer.from(rec.subarray(eq + 1)));
    i += len;
  }
  return out;
}

const TYPES: Record<string, TarMember['type']> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo', D: 'dir' };
/** Types whose data is not a member's content: skipping them would lose or corrupt a file. */
const REFUSED: Record<string, string> = { S: 'a GNU sparse file (re-create the archive without --sparse)', M: 'a GNU multi-volume continuation' };

function printable(b: Buffer): string {
  return JSON.stringify(b.toString('utf8')).slice(1, -1);
}

/**
 * List the members of an uncompressed tar file (ustar, pax extended headers, GNU long names and
 * base-256 numbers). Data is not read; members refer to byte ranges of the archive. A malformed
 * archive is a DiskwrightError `E_TAR` naming `archive` (the name the user gave), the member and
 * the byte offset of its header in the uncompressed archive.
 */
export function readTar(path: string, specPath: string, archive: string = path): TarMember[] {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const out: TarMember[] = [];
    const hdr = Buffer.alloc(512);
    let pos = 0;
    let memberStart = 0;
    let current = '';
    let pax: Map<string, Buffer> = new Map();
    let globalPax: Map<string, Buffer> = new Map();
    let longName: Buffer | undefined;
    let longLink: Buffer | undefined;
    let pending = false;
    const bad = (message: string, at = memberStart): never => {
      throw new DiskwrightError('E_TAR', `tar archive ${archive}: ${current ? `member "${current}"` : 'header'} at byte ${at}: ${message}`, { path: specPath, value: archive });
    };
    const readAt = (len: number, at: number): Buffer => {
      const b = Buffer.alloc(len);
      let done = 0;
      while (done < len) {
        const n = readSync(fd, b, done, len - done, at + done);
        if (n === 0) bad(`archive ends at byte ${at + done}, inside the member's data`);
        done += n;
      }
      return b;
    };
    while (pos < size) {
      if (!pending) { memberStart = pos; current = ''; }
      if (pos + 512 > size) bad(`archive ends inside a header (${size - pos} of 512 bytes)`, pos);
      readSync(fd, hdr, 0, 512, pos);
      if (hdr.every((b) => b === 0)) {
        if (pending) bad('an extended header is not followed by a member', pos);
        break;
      }
      current ||= printable(field(hdr, H.name));
      // The checksum: unsigned byte sum with the field as spaces (some old tars summed signed bytes).
      const stored = num(hdr, H.chksum, (m) => bad(m, pos));
      let sum = 0;
      let ssum = 0;
      for (let i = 0; i < 512; i++) {
        const c = i >= 148 && i < 156 ? 0x20 : hdr[i]!;
        sum += c; ssum += c > 127 ? c - 256 : c;
      }
      if (stored !== sum && stored !== ssum) bad(`bad header checksum (stored ${stored}, computed ${sum}); not a tar archive, or corrupt`, pos);
      const headerAt = pos;
      const type = String.fromCharCode(hdr[156]!);
      const hsize = num(hdr, H.size, (m) => bad(m, headerAt));
      const dataOffset = pos + 512;
      const extended = type === 'x' || type === 'g' || type === 'L' || type === 'K';
      if (extended) {
        if (hsize > MAX_EXTENDED_HEADER) bad(`extended header (type ${type}) of ${hsize} bytes is larger than the ${MAX_EXTENDED_HEADER}-byte limit`, headerAt);
        if (dataOffset + hsize > size) bad(`extended header (type ${type}) of ${hsize} bytes runs past the end of the archive (${size} bytes)`, headerAt);
        const data = readAt(hsize, dataOffset);
        pos = dataOffset + Math.ceil(hsize / 512) * 512;
        if (type !== 'g') pending = true;
        const z = data.indexOf(0);
        if (type === 'x') pax = parsePax(data, (m) => bad(m, headerAt));
        else if (type === 'g') globalPax = parsePax(data, (m) => bad(m, headerAt));
        else if (type === 'L') longName = data.subarray(0, z < 0 ? data.length : z);
        else longLink = data.subarray(0, z < 0 ? data.length : z);
        if (type === 'L' && longName) current = printable(longName);
        if (type === 'x' && pax.has('path')) current = printable(pax.get('path')!);
        continue;
      }
      pending = false;
      const attrs = new Map([...globalPax, ...pax]);
      let name = field(hdr, H.name);
      // POSIX ustar ("ustar\0" "00") has a prefix field; old GNU ("ustar  \0") keeps atime/ctime there.
      if (hdr.subarray(257, 263).toString('latin1') === 'ustar\0') {
        const prefix = field(hdr, H.prefix);
        if (prefix.length) name = Buffer.concat([prefix, Buffer.from('/'), name]);
      }
      if (longName) name = longName;
      if (attrs.has('path')) name = attrs.get('path')!;
      current = printable(name);
      let linkname = field(hdr, H.linkname);
      if (longLink) linkname = longLink;
      if (attrs.has('linkpath')) linkname = attrs.get('linkpath')!;
      pax = new Map(); longName = undefined; longLink = undefined;

      const msize = attrs.has('size') ? paxInt(attrs.get('size')!, 'size', bad, 0, Number.MAX_SAFE_INTEGER) : hsize;
      const mtype = TYPES[type];
      // Hard and symbolic links carry no data (POSIX); everything else is followed by its size in blocks.
      const dataLen = mtype === 'hardlink' || mtype === 'symlink' ? 0 : msize;
      if (dataOffset + dataLen > size) bad(`member data of ${dataLen} bytes runs past the end of the archive (${size} bytes)`);
      pos = dataOffset + Math.ceil(dataLen / 512) * 512;
      if (REFUSED[type]) bad(`member is ${REFUSED[type]}, which diskwright cannot read`);
      if ([...attrs.keys()].some((k) => k.startsWith('GNU.sparse.'))) bad('member is a GNU sparse file (re-create the archive without --sparse)');
      if (!mtype) continue; // other types (volume labels, vendor extensions) carry no file

      if (name.includes(0)) bad('member name contains a NUL byte');
      if (linkname.includes(0)) bad('link target contains a NUL byte');
      const mode = num(hdr, H.mode, bad) & 0o7777;
      const uid = attrs.has('uid') ? paxInt(attrs.get('uid')!, 'uid', bad, 0, MAX_ID) : num(hdr, H.uid, bad);
      const gid = attrs.has('gid') ? paxInt(attrs.get('gid')!, 'gid', bad, 0, MAX_ID) : num(hdr, H.gid, bad);
      if (uid > MAX_ID || gid > MAX_ID) bad(`owner ${uid}:${gid} is larger than 32 bits`);
      let mtime = { sec: num(hdr, H.mtime, bad, true), nsec: 0 };
      if (attrs.has('mtime')) mtime = paxTime(attrs.get('mtime')!, 'mtime', bad);
      else if (mtime.sec < MIN_TIME || mtime.sec > MAX_TIME) bad(`mtime ${mtime.sec} is outside the times a filesystem can store (${MIN_TIME} .. ${MAX_TIME})`);
      let devmajor = 0;
      let devminor = 0;
      if (mtype === 'char' || mtype === 'block') {
        devmajor = num(hdr, H.devmajor, bad);
        devminor = num(hdr, H.devminor, bad);
        if (devmajor > MAX_MAJOR || devminor > MAX_MINOR) bad(`device number ${devmajor}:${devminor} is out of range (major 0..${MAX_MAJOR}, minor 0..${MAX_MINOR})`);
      }
      if (mtype === 'symlink' && linkname.length === 0) bad('symbolic link has an empty target');
      if (mtype === 'hardlink' && linkname.length === 0) bad('hard link has an empty target');
      const xattrs: { name: string; value: Uint8Array }[] = [];
      for (const [k, v] of attrs) {
        if (!k.startsWith('SCHILY.xattr.')) continue;
        const xname = k.slice('SCHILY.xattr.'.length);
        if (xname === '' || xname.includes('\0') || Buffer.byteLength(xname) > 255) bad(`xattr name ${JSON.stringify(xname)} is empty, too long or contains a NUL byte`);
        xattrs.push({ name: xname, value: v });
      }
      out.push({
        path: name, type: mtype, mode, uid, gid,
        uname: attrs.get('uname')?.toString() ?? field(hdr, H.uname).toString('utf8'),
        gname: attrs.get('gname')?.toString() ?? field(hdr, H.gname).toString('utf8'),
        mtime, size: mtype === 'file' ? msize : 0, dataOffset, headerOffset: memberStart, linkname,
        devmajor, devminor, xattrs,
      });
    }
    if (pending) bad('archive ends after an extended header, without its member', size);
    return out;
  } finally {
    closeSync(fd);
  }
}
