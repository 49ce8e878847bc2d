/**
 * The ISO 9660 reader (ECMA-119 4th edition; SUSP 1.12 and RRIP 1.12; Joliet 1995; zisofs),
 * decoding with the writer's declarations (structs.ts, rrip.ts): the volume descriptor set read
 * when opened (primary, and a Joliet supplementary descriptor: escape sequence %/@, %/C or %/E);
 * the primary hierarchy with Rock Ridge when its root's "." record starts with SUSP SP (names from
 * NM, owners, modes, links, devices, symlinks, times; CL followed to the relocated directory and
 * RE-marked directories hidden, so the tree is seen where it was; zisofs files decoded), else the
 * Joliet hierarchy, else the primary one with ";1" cut from names. Multi-extent files (9.1.6 bit
 * 7) are joined. Every extent, record and continuation area is checked to lie inside the image;
 * a record never crosses a sector (6.8.1.1); zisofs blocks decode to at most their block size.
 */
import type { DirEntry as FsDirEntry, FsNode, FsPlace, FsReader, ReadSource } from '../../inspect/fsread.js';
import type { NodeKind, Xattr } from '../../tree/model.js';
import { inflateSync } from 'node:zlib';
import { DiskwrightError } from '../../errors.js';
import { readSystemUse, type RockRidge, type SuspContext } from './read-susp.js';
import {
  decodeRecordingDate, DirectoryRecord, FLAG_DIRECTORY, FLAG_MULTI_EXTENT, SECTOR, STANDARD_IDENTIFIER, SYSTEM_AREA_SECTORS,
  VD_TYPE_PRIMARY, VD_TYPE_SUPPLEMENTARY, VD_TYPE_TERMINATOR, VolumeDescriptor,
} from './structs.js';
import { ZISOFS_MAGIC, ZisofsHeader } from './zisofs.js';

/** Volume descriptors looked at before the terminator (a set without one ends here). */
const MAX_DESCRIPTORS = 64;
/** S_IFMT values (POSIX) in a PX mode. */
const KINDS: Record<number, NodeKind> = { 0o01: 'fifo', 0o02: 'char', 0o04: 'dir', 0o06: 'block', 0o10: 'file', 0o12: 'symlink', 0o14: 'socket' };
/** Joliet escape sequences (Joliet 1995 §2.2.1): UCS-2 levels 1-3. */
const JOLIET_ESCAPES = ['%/@', '%/C', '%/E'];
/** Extents one file may be made of (multi-extent records in a row). */
const MAX_EXTENTS = 65536;

interface IsoNode extends FsNode {
  /** The record's byte offset in the filesystem (a directory's: its "." record). */
  readonly at: number;
  /** Data: [byte offset, length] pieces in file order. */
  readonly extents: [number, number][];
  readonly target?: Buffer;
  readonly zf?: { headerDiv4: number; log2: number; stored: number };
}

type Hierarchy = 'rockridge' | 'joliet' | 'iso9660';

export class IsoReader implements FsReader {
  readonly type = 'iso9660';
  readonly keeps: FsReader['keeps'];
  /** Which hierarchy is read. */
  readonly hierarchy: Hierarchy;
  private readonly rootRecord: Uint8Array;
  private readonly rootAt: number;
  private readonly skip: number;
  private readonly susp: SuspContext;
  private zisofsCache: { id: number; block: number; data: Uint8Array } | undefined;

  constructor(private readonly src: ReadSource, private readonly place: FsPlace) {
    this.susp = { bytes: (o, l, s) => this.bytes(o, l, s), corrupt: (s, o, w) => this.corrupt(s, o, w) };
    let primary: { record: Uint8Array; at: number } | undefined, joliet: typeof primary;
    for (let i = 0; i < MAX_DESCRIPTORS; i++) {
      const at = (SYSTEM_AREA_SECTORS + i) * SECTOR;
      if (at + SECTOR > src.size) break;
      const d = VolumeDescriptor.decode(this.bytes(at, SECTOR, 'ISO 9660 volume descriptor'));
      if (!Buffer.from(d.standard_identifier as Uint8Array).equals(STANDARD_IDENTIFIER)) throw this.corrupt('ISO 9660 volume descriptor', at, 'no CD001 identifier');
      const type = d.volume_descriptor_type as number;
      if (type === VD_TYPE_TERMINATOR) break;
      const root = { record: d.directory_record_for_root_directory as Uint8Array, at: at + VolumeDescriptor.offsetOf('directory_record_for_root_directory') };
      if ((type === VD_TYPE_PRIMARY || type === VD_TYPE_SUPPLEMENTARY) && (d.logical_block_size as number) !== SECTOR) {
        throw new DiskwrightError('E_IMAGE_UNSUPPORTED', `${place.image}: ISO 9660 volume descriptor at offset ${place.base + at}: logical block size ${String(d.logical_block_size)} (only 2048 is read)`, { value: place.image });
      }
      if (type === VD_TYPE_PRIMARY && !primary) primary = root;
      const escapes = Buffer.from(d.escape_sequences as Uint8Array).toString('latin1');
      if (type === VD_TYPE_SUPPLEMENTARY && !joliet && JOLIET_ESCAPES.some((e) => escapes.startsWith(e))) joliet = root;
    }
    if (!primary) throw this.corrupt('ISO 9660 volume descriptor set', SYSTEM_AREA_SECTORS * SECTOR, 'no primary volume descriptor');
    // Rock Ridge: SUSP's SP opens the System Use field of the root's "." record (SUSP 5.3), and PX follows.
    const rootExt = this.extentOf(primary.record, primary.at);
    const rootDot = this.record(this.bytes(rootExt, Math.min(SECTOR, this.src.size - rootExt), 'ISO 9660 root directory'), 0, rootExt, 'ISO 9660 root directory');
    const rr = rootDot ? readSystemUse(this.susp, rootDot.su, rootDot.suAt) : {};
    this.skip = rr.sp?.skip ?? 0;
    this.hierarchy = rr.sp && rr.px ? 'rockridge' : joliet ? 'joliet' : 'iso9660';
    const use = this.hierarchy === 'joliet' ? joliet! : primary;
    this.rootRecord = use.record;
    this.rootAt = use.at;
    const posix = this.hierarchy === 'rockridge';
    this.keeps = { owners: posix, modes: posix, links: posix, xattrs: false, devices: posix, timeGranularityNs: 1e9 };
  }

  private corrupt(structure: string, offset: number, what: string): DiskwrightError {
    return new DiskwrightError('E_IMAGE_CORRUPT', `${this.place.image}: ${structure} at offset ${this.place.base + offset}: ${what}`, { value: this.place.image });
  }

  private bytes(offset: number, length: number, structure: string): Uint8Array {
    if (!Number.isSafeInteger(offset) || offset < 0) throw this.corrupt(structure, 0, `an offset of ${offset}`);
    const b = this.src.read(offset, length);
    if (b.length < length) throw this.corrupt(structure, offset, `its ${length} bytes run past the end of the ${this.src.size}-byte image`);
    return b;
  }

  /** The byte offset of a record's extent (after its extended attribute record), checked inside the image with its data length. */
  private extentOf(rec: Uint8Array, at: number): number {
    const r = DirectoryRecord.decode(rec);
    const start = ((r.location_of_extent as number) + (r.extended_attribute_record_length as number)) * SECTOR;
    if (start + (r.data_length as number) > this.src.size) throw this.corrupt('ISO 9660 directory record', at, `extent at block ${String(r.location_of_extent)} of ${String(r.data_length)} bytes runs past the ${this.src.size}-byte image`);
    return start;
  }

  /** The record at `b[o]` (byte `at + o` of the filesystem), or undefined for a zero length byte (the rest of the sector is padding). */
  private record(b: Uint8Array, o: number, at: number, what: string): { rec: Uint8Array; id: Uint8Array; su: Uint8Array; suAt: number; fields: ReturnType<typeof DirectoryRecord.decode> } | undefined {
    const len = b[o]!;
    if (len === 0) return undefined;
    if (len < DirectoryRecord.size + 1 || o + len > b.length) throw this.corrupt(what, at + o, `a directory record of ${len} bytes does not fit its sector`);
    const rec = b.subarray(o, o + len);
    const fields = DirectoryRecord.decode(rec);
    const idLen = fields.length_of_file_identifier as number;
    if (DirectoryRecord.size + idLen > len) throw this.corrupt(what, at + o, `an identifier of ${idLen} bytes runs past the ${len}-byte record`);
    const suStart = DirectoryRecord.size + idLen + (idLen % 2 === 0 ? 1 : 0) + this.skipOr0();
    return { rec, id: rec.subarray(DirectoryRecord.size, DirectoryRecord.size + idLen), su: rec.subarray(Math.min(len, suStart)), suAt: at + o + suStart, fields };
  }

  /** SUSP LEN_SKP (0 until the root's SP is read). */
  private skipOr0(): number { return (this.skip as number | undefined) ?? 0; }

  root(): FsNode {
    const ext = this.extentOf(this.rootRecord, this.rootAt);
    return this.dirNode(ext, undefined, { structure: 'ISO 9660 root directory record', at: this.rootAt });
  }

  where(node: FsNode): string {
    return `ISO 9660 directory record of ${node.kind === 'dir' ? 'directory' : 'file'} ${node.id} at offset ${this.place.base + (node as IsoNode).at}`;
  }

  /** A directory from its "." record at byte `ext` (its Rock Ridge entries there unless `rr` is given). */
  private dirNode(ext: number, rr: RockRidge | undefined, from: { structure: string; at: number }): IsoNode {
    const b = this.bytes(ext, Math.min(SECTOR, this.src.size - ext), 'ISO 9660 directory');
    const dot = this.record(b, 0, ext, 'ISO 9660 directory');
    if (!dot) throw this.corrupt(from.structure, from.at, `the directory at ${this.place.base + ext} has no "." record`);
    if (this.extentOf(dot.rec, ext) !== ext || !((dot.fields.file_flags as number) & FLAG_DIRECTORY)) throw this.corrupt('ISO 9660 directory', ext, 'its first record is not "." of this directory');
    const info = rr ?? (this.hierarchy === 'rockridge' ? readSystemUse(this.susp, dot.su, dot.suAt) : {});
    return this.node(dot.rec, dot.fields, ext, info, 'dir', [[ext, dot.fields.data_length as number]]);
  }

  private node(rec: Uint8Array, f: ReturnType<typeof DirectoryRecord.decode>, at: number, rr: RockRidge, isoKind: 'dir' | 'file', extents: [number, number][]): IsoNode {
    const recorded = decodeRecordingDate(rec, DirectoryRecord.offsetOf('recording_date_and_time'));
    const mtime = { sec: rr.mtime ?? recorded, nsec: 0 };
    let kind: NodeKind = isoKind, mode = isoKind === 'dir' ? 0o555 : 0o444, uid = 0, gid = 0, nlink = isoKind === 'dir' ? 2 : 1, id = at;
    if (rr.px) {
      const k = KINDS[rr.px.mode >>> 12];
      if (!k) throw this.corrupt('RRIP PX entry', at, `posix_file_mode 0${rr.px.mode.toString(8)} names no file type`);
      if ((k === 'dir') !== (isoKind === 'dir')) throw this.corrupt('RRIP PX entry', at, `a ${k} in a ${isoKind === 'dir' ? 'directory' : 'file'} record`);
      kind = k;
      mode = rr.px.mode & 0o7777;
      ({ uid, gid, nlink } = rr.px);
      // RRIP 1.12 serial numbers are the file's identity (hard links share one); a directory keeps its extent.
      if (rr.px.serial && kind !== 'dir') id = rr.px.serial * 2 + 1;
    }
    if (kind === 'dir') id = at;
    let size = extents.reduce((s, [, l]) => s + l, 0);
    let zf: IsoNode['zf'];
    if (kind === 'file' && rr.zf) {
      if (rr.zf.log2 < 15 || rr.zf.log2 > 17 || rr.zf.headerDiv4 < 4) throw this.corrupt('zisofs ZF entry', at, `block size 2^${rr.zf.log2} or header of ${rr.zf.headerDiv4 * 4} bytes is not zisofs's`);
      zf = { ...rr.zf, stored: size };
      size = rr.zf.size;
    }
    if (kind === 'symlink') size = rr.target?.length ?? 0;
    else if (kind !== 'file' && kind !== 'dir') size = 0;
    if (kind === 'dir') size = 0;
    return {
      id, kind, mode, uid, gid, size, nlink, mtime, atime: { sec: rr.atime ?? mtime.sec, nsec: 0 }, ctime: { sec: rr.ctime ?? mtime.sec, nsec: 0 },
      ...(rr.rdev && (kind === 'char' || kind === 'block') ? { rdev: rr.rdev } : {}),
      at, extents: kind === 'file' || kind === 'dir' ? extents : [], ...(rr.target ? { target: rr.target } : {}), ...(zf ? { zf } : {}),
    };
  }

  list(dir: FsNode): FsDirEntry[] {
    const d = dir as IsoNode;
    if (d.kind !== 'dir') return [];
    const [ext, length] = d.extents[0]!;
    const what = `ISO 9660 directory at ${this.place.base + ext}`;
    const out: FsDirEntry[] = [];
    let pending: { name: Buffer; rec: Uint8Array; fields: ReturnType<typeof DirectoryRecord.decode>; at: number; rr: RockRidge; extents: [number, number][] } | undefined;
    let index = 0;
    for (let s = 0; s < length; s += SECTOR) {
      const b = this.bytes(ext + s, Math.min(SECTOR, length - s), 'ISO 9660 directory');
      for (let o = 0; o < b.length;) {
        const r = this.record(b, o, ext + s, 'ISO 9660 directory');
        if (!r) break;
        const at = ext + s + o;
        o += r.rec.length;
        if (index++ < 2) continue; // "." and ".."
        const flags = r.fields.file_flags as number;
        if ((r.fields.file_unit_size as number) || (r.fields.interleave_gap_size as number)) {
          throw new DiskwrightError('E_IMAGE_UNSUPPORTED', `${this.place.image}: ISO 9660 directory record at offset ${this.place.base + at}: interleaved files are not read`, { value: this.place.image });
        }
        const piece: [number, number] = [this.extentOf(r.rec, at), r.fields.data_length as number];
        if (pending) {
          // ECMA-119 9.1.6: the next record of a multi-extent file has the same identifier.
          if (!Buffer.from(r.id).equals(pending.rec.subarray(DirectoryRecord.size, DirectoryRecord.size + r.id.length)) || r.id.length !== (pending.fields.length_of_file_identifier as number)) {
            throw this.corrupt(what, at, 'a multi-extent file ends without its final record');
          }
          if (pending.extents.length >= MAX_EXTENTS) throw this.corrupt(what, at, `a file of more than ${MAX_EXTENTS} extents`);
          pending.extents.push(piece);
        } else {
          const rr = this.hierarchy === 'rockridge' ? readSystemUse(this.susp, r.su, r.suAt) : {};
          pending = { name: this.nameOf(r.id, rr, at), rec: r.rec, fields: r.fields, at, rr, extents: [piece] };
        }
        if (flags & FLAG_MULTI_EXTENT) continue;
        const p = pending;
        pending = undefined;
        if (p.rr.relocated) continue; // RRIP 4.1.5.3: seen where its CL is
        let node: IsoNode;
        if (p.rr.childLink !== undefined) {
          const target = p.rr.childLink * SECTOR;
          if (target + 34 > this.src.size) throw this.corrupt('RRIP CL entry', p.at, `block ${p.rr.childLink} is outside the image`);
          node = this.dirNode(target, undefined, { structure: 'RRIP CL entry', at: p.at });
        } else {
          const isDir = ((p.fields.file_flags as number) & FLAG_DIRECTORY) !== 0;
          node = isDir ? this.dirNode(p.extents[0]![0], p.rr, { structure: what, at: p.at }) : this.node(p.rec, p.fields, p.at, p.rr, 'file', p.extents);
        }
        out.push({ name: p.name, node });
      }
    }
    if (pending) throw this.corrupt(what, pending.at, 'a multi-extent file ends without its final record');
    return out;
  }

  /** The entry's name: NM, else Joliet's UCS-2, else the ISO identifier without its ";1" (and a lone trailing "."). */
  private nameOf(id: Uint8Array, rr: RockRidge, at: number): Buffer {
    let name: Buffer;
    if (rr.name) name = rr.name;
    else if (this.hierarchy === 'joliet') {
      if (id.length % 2) throw this.corrupt('Joliet directory record', at, `an identifier of ${id.length} bytes (UCS-2 needs an even count)`);
      let s = '';
      for (let i = 0; i < id.length; i += 2) s += String.fromCharCode((id[i]! << 8) | id[i + 1]!);
      name = Buffer.from(s.replace(/;\d*$/, ''), 'utf8');
    } else {
      name = Buffer.from(Buffer.from(id).toString('latin1').replace(/;\d*$/, '').replace(/\.$/, ''), 'latin1');
    }
    if (name.length === 0 || name.includes(0x2f) || name.includes(0) || name.equals(DOT) || name.equals(DOTDOT)) throw this.corrupt('ISO 9660 directory record', at, `the name ${JSON.stringify(name.toString('latin1'))}`);
    return name;
  }

  readlink(link: FsNode): Buffer {
    return Buffer.from((link as IsoNode).target ?? Buffer.alloc(0));
  }

  /** `[offset, offset + length)` of the stored bytes (across extents). */
  private stored(n: IsoNode, offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let pos = 0;
    for (const [at, len] of n.extents) {
      const s = Math.max(pos, offset), e = Math.min(pos + len, offset + length);
      if (s < e) out.set(this.bytes(at + (s - pos), e - s, `ISO 9660 data of file ${n.id}`), s - offset);
      pos += len;
      if (pos >= offset + length) break;
    }
    return out;
  }

  /** zisofs block `i` of a file (libisofs doc/zisofs_format.txt): its pointers, then a zlib stream, or nothing for zeros. */
  private zisofsBlock(n: IsoNode, i: number): Uint8Array {
    if (this.zisofsCache?.id === n.id && this.zisofsCache.block === i) return this.zisofsCache.data;
    const z = n.zf!;
    const B = 2 ** z.log2;
    const what = `zisofs file ${n.id}`;
    const blocks = Math.ceil(n.size / B);
    const header = z.headerDiv4 * 4;
    if (header + 4 * (blocks + 1) > z.stored) throw this.corrupt(what, n.at, `its ${blocks + 1} block pointers do not fit its ${z.stored} stored bytes`);
    if (i === 0 || !this.zisofsCache || this.zisofsCache.id !== n.id) {
      const h = ZisofsHeader.decode(this.stored(n, 0, ZisofsHeader.size));
      if (!Buffer.from(h.magic as Uint8Array).equals(ZISOFS_MAGIC) || h.uncompressed_size !== n.size) throw this.corrupt(what, n.at, 'no zisofs header magic, or a size other than its ZF entry\'s');
    }
    const p = this.stored(n, header + 4 * i, 8);
    const dv = new DataView(p.buffer, p.byteOffset, 8);
    const from = dv.getUint32(0, true), to = dv.getUint32(4, true);
    if (from > to || to > z.stored || from < header + 4 * (blocks + 1)) throw this.corrupt(what, n.at, `block ${i} at bytes ${from}..${to} is outside its ${z.stored} stored bytes`);
    const want = Math.min(B, n.size - i * B);
    let data: Uint8Array;
    if (from === to) data = new Uint8Array(want);
    else {
      try {
        data = inflateSync(this.stored(n, from, to - from), { maxOutputLength: B });
      } catch (e) {
        throw this.corrupt(what, n.at, `block ${i} does not decompress: ${(e as Error).message}`);
      }
      if (data.length !== want) throw this.corrupt(what, n.at, `block ${i} decodes to ${data.length} bytes where ${want} belong`);
    }
    this.zisofsCache = { id: n.id, block: i, data };
    return data;
  }

  read(file: FsNode, offset: number, length: number): Uint8Array {
    const n = file as IsoNode;
    const end = Math.min(n.size, offset + length);
    if (n.kind !== 'file' || offset >= end) return new Uint8Array(0);
    if (!n.zf) return this.stored(n, offset, end - offset);
    const B = 2 ** n.zf.log2;
    const out = new Uint8Array(end - offset);
    for (let i = Math.floor(offset / B); i * B < end; i++) {
      const data = this.zisofsBlock(n, i);
      const s = Math.max(i * B, offset), e = Math.min(i * B + data.length, end);
      out.set(data.subarray(s - i * B, e - i * B), s - offset);
    }
    return out;
  }

  dataRanges(file: FsNode): [number, number][] {
    return file.kind === 'file' && file.size > 0 ? [[0, file.size]] : [];
  }

  xattrs(): Xattr[] { return []; }
}

const DOT = Buffer.from('.'), DOTDOT = Buffer.from('..');
