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
  linkname: Buffer;
  devmajor: number;
  devminor: number;
  xattrs: { name: string; value: Uint8Array }[];
}

/* POSIX.1-1988 ustar header (POSIX.1-2017 pax, "ustar Interchange Format"): offsets in bytes. */
const H = { name: [0, 100], mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12], chksum: [148, 8], typeflag: [156, 1], linkname: [157, 100], magic: [257, 6], uname: [265, 32], gname: [297, 32], devmajor: [329, 8], devminor: [337, 8], prefix: [345, 155] } as const;

/** A NUL-terminated header field, copied (the header buffer is reused for the next member). */
function field(h: Buffer, f: readonly [number, number]): Buffer {
  const b = h.subarray(f[0], f[0] + f[1]);
  const z = b.indexOf(0);
  return Buffer.from(z < 0 ? b : b.subarray(0, z));
}

function num(h: Buffer, f: readonly [number, number]): number {
  const b = h.subarray(f[0], f[0] + f[1]);
  if (b[0]! & 0x80) {
    // GNU base-256 encoding for large values
    let v = 0n;
    for (let i = 1; i < b.length; i++) v = (v << 8n) | BigInt(b[i]!);
    return Number(v);
  }
  const s = field(h, f).toString('latin1').trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(data.subarray(i, sp).toString('latin1'), 10);
    if (!(len > 0)) break;
    const rec = data.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(rec.subarray(0, eq).toString('utf8'), Buffer.from(rec.subarray(eq + 1)));
    i += len;
  }
  return out;
}

/**
 * List the members of an uncompressed tar file (ustar, pax extended headers, GNU long names).
 * Data is not read; members refer to byte ranges of the archive.
 */
export function readTar(path: string, specPath: string): TarMember[] {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const out: TarMember[] = [];
    const hdr = Buffer.alloc(512);
    let pos = 0;
    let pax: Map<string, Buffer> = new Map();
    let globalPax: Map<string, Buffer> = new Map();
    let longName: Buffer | undefined;
    let longLink: Buffer | undefined;
    const readAt = (len: number, at: number): Buffer => {
      const b = Buffer.alloc(len);
      let done = 0;
      while (done < len) {
        const n = readSync(fd, b, done, len - done, at + done);
        if (n === 0) throw new DiskwrightError('E_TAR', `tar archive ${path} is truncated at byte ${at + done}`, { path: specPath, value: path });
        done += n;
      }
      return b;
    };
    while (pos + 512 <= size) {
      readSync(fd, hdr, 0, 512, pos);
      if (hdr.every((b) => b === 0)) break;
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : hdr[i]!;
      if (sum !== num(hdr, H.chksum)) throw new DiskwrightError('E_TAR', `tar archive ${path}: bad header checksum at byte ${pos}`, { path: specPath, value: path });
      const type = String.fromCharCode(hdr[156]! || 0x30);
      const msize = num(hdr, H.size);
      const dataOffset = pos + 512;
      pos = dataOffset + Math.ceil(msize / 512) * 512;
      if (type === 'x') { pax = parsePax(readAt(msize, dataOffset)); continue; }
      if (type === 'g') { globalPax = parsePax(readAt(msize, dataOffset)); continue; }
      if (type === 'L') { const b = readAt(msize, dataOffset); longName = b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)); continue; }
      if (type === 'K') { const b = readAt(msize, dataOffset); longLink = b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)); continue; }
      const attrs = new Map([...globalPax, ...pax]);
      let name = field(hdr, H.name);
      const magic = field(hdr, H.magic).toString('latin1');
      if (magic.startsWith('ustar')) {
        const prefix = field(hdr, H.prefix);
        if (prefix.length) name = Buffer.concat([prefix, Buffer.from('/'), name]);
      }
      if (longName) name = longName;
      if (attrs.has('path')) name = attrs.get('path')!;
      let linkname = field(hdr, H.linkname);
      if (longLink) linkname = longLink;
      if (attrs.has('linkpath')) linkname = attrs.get('linkpath')!;
      const mtimeStr = attrs.get('mtime')?.toString('latin1');
      let mtime = { sec: num(hdr, H.mtime), nsec: 0 };
      if (mtimeStr) {
        const [s, frac = ''] = mtimeStr.split('.');
        mtime = { sec: parseInt(s!, 10), nsec: parseInt((frac + '000000000').slice(0, 9), 10) };
      }
      const xattrs: { name: string; value: Uint8Array }[] = [];
      for (const [k, v] of attrs) {
        if (k.startsWith('SCHILY.xattr.')) xattrs.push({ name: k.slice('SCHILY.xattr.'.length), value: v });
      }
      const types: Record<string, TarMember['type']> = { '0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };
      const mtype = types[type];
      pax = new Map(); longName = undefined; longLink = undefined;
      if (!mtype) continue; // unknown member types (GNU sparse, volume labels) are skipped
      const realSize = attrs.has('size') ? Number(attrs.get('size')!.toString('latin1')) : msize;
      out.push({
        path: name, type: mtype, mode: num(hdr, H.mode) & 0o7777,
        uid: attrs.has('uid') ? Number(attrs.get('uid')!.toString()) : num(hdr, H.uid),
        gid: attrs.has('gid') ? Number(attrs.get('gid')!.toString()) : num(hdr, H.gid),
        uname: attrs.get('uname')?.toString() ?? field(hdr, H.uname).toString('utf8'),
        gname: attrs.get('gname')?.toString() ?? field(hdr, H.gname).toString('utf8'),
        mtime, size: mtype === 'file' ? realSize : 0, dataOffset, linkname,
        devmajor: num(hdr, H.devmajor), devminor: num(hdr, H.devminor), xattrs,
      });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
