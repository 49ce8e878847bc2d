/**
 * Directory records (ECMA-119 9.1) of both trees, sized and then encoded by the same code (only
 * locations differ between the two passes, and no size depends on a location). A directory's
 * records are ".", "..", then its entries in ECMA-119 9.3 order; a file of 4 GiB or more has one
 * record per extent (level 3, 9.1.6 bit 7 on all but the last), each extent below 4 GiB. A record
 * never crosses a logical sector (6.8.1.1): one that does not fit the rest of a sector starts the
 * next.
 *
 * Rock Ridge: a record whose System Use entries all fit in it (nearly all of them: PX, TF, the
 * rarer PN/CL/PL/RE/ZF, one NM) is sized by arithmetic and its entries written straight into the
 * directory's buffer, so a tree of 100,000 names costs no object per entry. The others (the root's
 * "." with its ER, symlinks' SL, names too long for the record) take the general path of susp.ts:
 * entry buffers split between the record and Continuation Areas, with zero-filled stand-ins of the
 * right lengths when sizing.
 *
 * @example
 * const { size, used, places } = sizeIsoDirectory(dir, true, ce);
 * const bytes = encodeIsoDirectory(dir, true, used, places, ceBuf, ceLba, slab);
 */
import { fullMode, type TreeNode } from '../../tree/model.js';
import type { FileData, Inode, IsoDir, IsoEntry, JolietDir } from './hierarchy.js';
import { entriesNM, entriesSL, entryCL, entryER, entryPL, entryPN, entryPX, entryRE, entrySP, entryTF, entryZF, nmLength, nmLengths, putNM, putPX, putTF, RripLocation, RripPN, RripPX, SuspSP, TF_LENGTH, ZisofsZF } from './rrip.js';
import { DirectoryRecord, encodeRecordingDate, FLAG_DIRECTORY, FLAG_MULTI_EXTENT, recordLength, SECTOR, writeDirectoryRecord } from './structs.js';
import { CeAllocator, MAX_RECORD, recordSuLength, splitSystemUse, writeSystemUse, type AreaPlace, type SystemUseSplit } from './susp.js';

/** The largest extent of a multi-extent file: 4 GiB less one sector (as libisofs, ISO_EXTENT_SIZE). */
export const MAX_SECTION = 0xfffff800;

/** Stand-ins for sizing: views of one zero buffer (longer than any entry). */
const ZERO = new Uint8Array(256);
const stub = (length: number): Uint8Array => ZERO.subarray(0, length);
const PX_LEN = RripPX.size, PN_LEN = RripPN.size, LOCATION_LEN = RripLocation.size, RE_LEN = 4, ZF_LEN = ZisofsZF.size, SP_LEN = SuspSP.size;

/** The extents of a file's bytes: one per 4 GiB less a sector; extent 0 of length 0 when it has none. */
export function sections(data: FileData | undefined): { lba: number; length: number }[] {
  if (!data || data.stored === 0) return [{ lba: 0, length: 0 }];
  const out: { lba: number; length: number }[] = [];
  for (let at = 0; at < data.stored; at += MAX_SECTION) out.push({ lba: data.lba + at / SECTOR, length: Math.min(MAX_SECTION, data.stored - at) });
  return out;
}

/** The identifiers of "." and ".." (ECMA-119 6.8.2.2): one byte, 0x00 and 0x01. */
const DOT = '\x00';
const DOTDOT = '\x01';

function px(inode: Inode, node: TreeNode): Uint8Array {
  return entryPX({ mode: fullMode(node), nlink: inode.nlink, uid: node.uid, gid: node.gid, serial: inode.serial });
}

function tf(node: TreeNode): Uint8Array {
  return entryTF(node.mtime.sec, node.mtime.sec, node.atime.sec, node.ctime.sec);
}

/** The general path's entries: fixed ones stay in the record, the flowing ones may go to a continuation area. */
interface SuEntries { fixed: Uint8Array[]; flow: Uint8Array[] }

/** Rock Ridge entries of the root's "." record (SP first, ER flowing), general path. */
function rootDotEntries(dir: IsoDir, m: boolean): SuEntries {
  return { fixed: [m ? stub(SP_LEN) : entrySP(), m ? stub(PX_LEN) : px(dir.inode, dir.node), m ? stub(TF_LENGTH) : tf(dir.node)], flow: [entryER()] };
}

/** Rock Ridge entries of a name's record, general path. */
function entryEntries(e: IsoEntry, m: boolean): SuEntries {
  const node = e.inode.node;
  const fixed = [m ? stub(PX_LEN) : px(e.inode, node), m ? stub(TF_LENGTH) : tf(node)];
  if (node.kind === 'char' || node.kind === 'block') fixed.push(m ? stub(PN_LEN) : entryPN(node.rdev?.major ?? 0, node.rdev?.minor ?? 0));
  if (e.kind === 'placeholder') fixed.push(m ? stub(LOCATION_LEN) : entryCL(e.dir!.lba));
  if (e.kind === 'dir' && (e.dir!.relocated || e.dir!.isRelocDir)) fixed.push(m ? stub(RE_LEN) : entryRE());
  if (e.kind === 'file' && e.inode.data?.zisofs !== undefined) fixed.push(m ? stub(ZF_LEN) : entryZF(e.inode.data.zisofs));
  const flow = m ? nmLengths(e.name.length).map(stub) : entriesNM(e.name);
  if (node.kind === 'symlink') flow.push(...entriesSL(node.symlinkTarget ?? Buffer.alloc(0)));
  return { fixed, flow };
}

/** Bytes of a name's fixed entries, in the order entryEntries lists them: PX, TF, PN, CL, RE, ZF. */
function fixedLength(e: IsoEntry): number {
  const node = e.inode.node;
  let n = PX_LEN + TF_LENGTH;
  if (node.kind === 'char' || node.kind === 'block') n += PN_LEN;
  if (e.kind === 'placeholder') n += LOCATION_LEN;
  if (e.kind === 'dir' && (e.dir!.relocated || e.dir!.isRelocDir)) n += RE_LEN;
  if (e.kind === 'file' && e.inode.data?.zisofs !== undefined) n += ZF_LEN;
  return n;
}

/**
 * Bytes of a name's entries when they all fit in its record with an identifier of `idLength`
 * (then they are the record's whole System Use field, as splitSystemUse would keep them), or -1
 * for the general path: a symlink's SL entries, or more than the record holds.
 */
function inRecordLength(e: IsoEntry, idLength: number): number {
  if (e.inode.node.kind === 'symlink') return -1;
  const n = fixedLength(e) + nmLength(e.name.length);
  return n <= MAX_RECORD - recordLength(idLength, 0) ? n : -1;
}

/** Write a name's entries at `buf[at]` (the in-record path: see inRecordLength). */
function putEntries(buf: Uint8Array, dv: DataView, at: number, e: IsoEntry): void {
  const node = e.inode.node;
  let p = at + putPX(buf, dv, at, fullMode(node), e.inode.nlink, node.uid, node.gid, e.inode.serial);
  p += putTF(buf, p, node.mtime.sec, node.mtime.sec, node.atime.sec, node.ctime.sec);
  const put = (entry: Uint8Array): void => { buf.set(entry, p); p += entry.length; };
  if (node.kind === 'char' || node.kind === 'block') put(entryPN(node.rdev?.major ?? 0, node.rdev?.minor ?? 0));
  if (e.kind === 'placeholder') put(entryCL(e.dir!.lba));
  if (e.kind === 'dir' && (e.dir!.relocated || e.dir!.isRelocDir)) put(entryRE());
  if (e.kind === 'file' && e.inode.data?.zisofs !== undefined) put(entryZF(e.inode.data.zisofs));
  putNM(buf, p, e.name, false);
}

/** Encoding: the directory's buffer and the continuation blocks (block 0 at `ceLba`). */
interface Output {
  buf: Uint8Array;
  dv: DataView;
  ceBuf: Uint8Array;
  ceLba: number;
}

/**
 * Walks a directory's records: sizing (no output: continuation areas reserved from `ce` into
 * `places`) or encoding (the same records written to `out`, with the areas sizing reserved).
 */
class RecordCoder {
  pos = 0;
  private index = 0;
  constructor(readonly out: Output | undefined, private readonly ce: CeAllocator | undefined, readonly places: (AreaPlace[] | undefined)[]) {}

  /** Where a record of `length` bytes goes: the next sector when it does not fit the rest of this one. */
  private start(length: number): number {
    if ((this.pos % SECTOR) + length > SECTOR) this.pos = Math.ceil(this.pos / SECTOR) * SECTOR;
    const at = this.pos;
    this.pos += length;
    this.index++;
    return at;
  }

  /**
   * A record with a System Use field of `suLength` bytes (0: none) that the caller writes: returns
   * where that field starts in `out.buf`, or -1 when sizing.
   */
  record(id: string, flags: number, location: number, size: number, time: number, suLength: number, ucs2 = false): number {
    const idLength = ucs2 ? 2 * id.length : id.length;
    const length = recordLength(idLength, suLength);
    const at = this.start(length);
    if (!this.out) return -1;
    writeDirectoryRecord(this.out.dv, this.out.buf, at, length, location, size, time, flags, id, ucs2);
    return at + recordLength(idLength, 0);
  }

  /** A record on the general path: its entries split between it and continuation areas. */
  general(id: string, flags: number, location: number, size: number, time: number, su: SuEntries): void {
    const split: SystemUseSplit = splitSystemUse(su.fixed, su.flow, MAX_RECORD - recordLength(id.length, 0));
    const i = this.index;
    const at = this.record(id, flags, location, size, time, recordSuLength(split));
    if (this.out) writeSystemUse(split, this.places[i] ?? [], this.out.buf, at, this.out.ceBuf, this.out.ceLba);
    else if (split.areas.length) this.places[i] = this.ce!.reserve(split);
  }
}

/** The records of an ECMA-119 directory, through `c`. */
function codeIso(dir: IsoDir, rockRidge: boolean, c: RecordCoder, measure: boolean): void {
  // ".": this directory; "..": its ECMA-119 parent's extent, the times and attributes of the parent Rock Ridge readers see.
  if (!rockRidge) {
    c.record(DOT, FLAG_DIRECTORY, dir.lba, dir.size, dir.node.mtime.sec, 0);
    c.record(DOTDOT, FLAG_DIRECTORY, dir.parent.lba, dir.parent.size, dir.realParent.node.mtime.sec, 0);
  } else {
    if (dir.parent === dir) c.general(DOT, FLAG_DIRECTORY, dir.lba, dir.size, dir.node.mtime.sec, rootDotEntries(dir, measure));
    else {
      const at = c.record(DOT, FLAG_DIRECTORY, dir.lba, dir.size, dir.node.mtime.sec, PX_LEN + TF_LENGTH);
      if (at >= 0) putSelf(c.out!, at, dir);
    }
    const pl = dir.relocated;
    const at = c.record(DOTDOT, FLAG_DIRECTORY, dir.parent.lba, dir.parent.size, dir.realParent.node.mtime.sec, PX_LEN + TF_LENGTH + (pl ? LOCATION_LEN : 0));
    if (at >= 0) {
      const p = putSelf(c.out!, at, dir.realParent);
      if (pl) c.out!.buf.set(entryPL(dir.realParent.lba), p);
    }
  }
  for (const e of dir.children) {
    const time = e.inode.node.mtime.sec;
    const id = e.recorded;
    const suLength = rockRidge ? inRecordLength(e, id.length) : 0;
    const su = suLength < 0 ? entryEntries(e, measure) : undefined;
    // A placeholder is a file record to ECMA-119 readers, without data (as libisofs); a file's
    // records are one per extent (see sections), all with the same System Use.
    const data = e.kind === 'file' && e.inode.data && e.inode.data.stored > 0 ? e.inode.data : undefined;
    const count = data ? Math.ceil(data.stored / MAX_SECTION) : 1;
    for (let k = 0; k < count; k++) {
      const flags = e.kind === 'dir' ? FLAG_DIRECTORY : k < count - 1 ? FLAG_MULTI_EXTENT : 0;
      const location = e.kind === 'dir' ? e.dir!.lba : data ? data.lba + (k * MAX_SECTION) / SECTOR : 0;
      const size = e.kind === 'dir' ? e.dir!.size : data ? Math.min(MAX_SECTION, data.stored - k * MAX_SECTION) : 0;
      if (su) c.general(id, flags, location, size, time, su);
      else {
        const at = c.record(id, flags, location, size, time, suLength);
        if (at >= 0 && rockRidge) putEntries(c.out!.buf, c.out!.dv, at, e);
      }
    }
  }
}

/** PX and TF of a directory ("." and ".." records) at `at`; returns where the next entry goes. */
function putSelf(o: Output, at: number, d: IsoDir): number {
  const node = d.node;
  const p = at + putPX(o.buf, o.dv, at, fullMode(node), d.inode.nlink, node.uid, node.gid, d.inode.serial);
  return p + putTF(o.buf, p, node.mtime.sec, node.mtime.sec, node.atime.sec, node.ctime.sec);
}

/** The records of a Joliet directory (no System Use fields; no version in names, xorriso's default "only_iso_version"). */
function codeJoliet(dir: JolietDir, c: RecordCoder): void {
  c.record(DOT, FLAG_DIRECTORY, dir.lba, dir.size, dir.node.mtime.sec, 0);
  c.record(DOTDOT, FLAG_DIRECTORY, dir.parent.lba, dir.parent.size, dir.parent.node.mtime.sec, 0);
  for (const e of dir.children) {
    const time = e.inode.node.mtime.sec;
    if (e.dir) { c.record(e.name, FLAG_DIRECTORY, e.dir.lba, e.dir.size, time, 0, true); continue; }
    const data = e.inode.data && e.inode.data.stored > 0 ? e.inode.data : undefined;
    const count = data ? Math.ceil(data.stored / MAX_SECTION) : 1;
    for (let k = 0; k < count; k++) {
      c.record(e.name, k < count - 1 ? FLAG_MULTI_EXTENT : 0, data ? data.lba + (k * MAX_SECTION) / SECTOR : 0, data ? Math.min(MAX_SECTION, data.stored - k * MAX_SECTION) : 0, time, 0, true);
    }
  }
}

/** A directory's size (whole sectors, at least one) and the bytes its records use (the rest of its last sector is zeros, left as a hole). */
export interface DirectorySize {
  size: number;
  used: number;
  /** Continuation areas reserved per record (ECMA-119 tree with Rock Ridge). */
  places: (AreaPlace[] | undefined)[];
}

const sized = (c: RecordCoder): DirectorySize => ({ size: Math.max(SECTOR, Math.ceil(c.pos / SECTOR) * SECTOR), used: c.pos, places: c.places });

/** Size an ECMA-119 directory, reserving its records' continuation areas from `ce`. */
export function sizeIsoDirectory(dir: IsoDir, rockRidge: boolean, ce: CeAllocator): DirectorySize {
  const c = new RecordCoder(undefined, ce, []);
  codeIso(dir, rockRidge, c, true);
  return sized(c);
}

/** Size a Joliet directory. */
export function sizeJolietDirectory(dir: JolietDir): DirectorySize {
  const c = new RecordCoder(undefined, undefined, []);
  codeJoliet(dir, c);
  return sized(c);
}

/**
 * Buffers carved out of shared 1 MiB slabs: a tree of 100,000 directories needs that many small
 * buffers, and one ArrayBuffer each costs allocation and GC time.
 */
export class Slab {
  private slab = new Uint8Array(0);
  private at = 0;
  take(size: number): Uint8Array {
    if (size > SLAB / 4) return new Uint8Array(size);
    if (this.at + size > this.slab.length) { this.slab = new Uint8Array(SLAB); this.at = 0; }
    const out = this.slab.subarray(this.at, this.at + size);
    this.at += size;
    return out;
  }
}
const SLAB = 1 << 20;

function encoded(c: RecordCoder, used: number, buf: Uint8Array): Uint8Array {
  if (c.pos !== used) throw new Error(`iso9660: a directory changed from ${used} to ${c.pos} bytes between planning and encoding`);
  return buf;
}

function output(used: number, slab: Slab, ceBuf: Uint8Array, ceLba: number): Output {
  const buf = slab.take(used);
  return { buf, dv: new DataView(buf.buffer, buf.byteOffset, buf.byteLength), ceBuf, ceLba };
}

/**
 * Encode the `used` bytes of an ECMA-119 directory (see sizeIsoDirectory) into a slab buffer;
 * continuation areas go into `ceBuf` (its block 0 at `ceLba`) at the places sizing reserved.
 */
export function encodeIsoDirectory(dir: IsoDir, rockRidge: boolean, used: number, places: readonly (AreaPlace[] | undefined)[], ceBuf: Uint8Array, ceLba: number, slab: Slab): Uint8Array {
  const o = output(used, slab, ceBuf, ceLba);
  const c = new RecordCoder(o, undefined, places as (AreaPlace[] | undefined)[]);
  codeIso(dir, rockRidge, c, false);
  return encoded(c, used, o.buf);
}

/** Encode the `used` bytes of a Joliet directory (see sizeJolietDirectory). */
export function encodeJolietDirectory(dir: JolietDir, used: number, slab: Slab): Uint8Array {
  const o = output(used, slab, new Uint8Array(0), 0);
  const c = new RecordCoder(o, undefined, []);
  codeJoliet(dir, c);
  return encoded(c, used, o.buf);
}

/** The 34-byte record of the root directory that the volume descriptors hold (ECMA-119 8.4.18). */
export function rootRecord(lba: number, size: number, time: number): Uint8Array {
  const buf = new Uint8Array(34);
  DirectoryRecord.encode({
    length_of_directory_record: 34, location_of_extent: lba, data_length: size, file_flags: FLAG_DIRECTORY, volume_sequence_number: 1, length_of_file_identifier: 1,
  }, buf);
  encodeRecordingDate(time, buf, DirectoryRecord.offsetOf('recording_date_and_time'));
  return buf;
}
