/**
 * Directory records (ECMA-119 9.1) of both trees: what each record says, generated the same way
 * when directories are sized and when they are encoded (only locations differ between the two,
 * and no size depends on a location). A directory's records are ".", "..", then its entries in
 * ECMA-119 9.3 order; a file of 4 GiB or more has one record per extent (level 3, 9.1.6 bit 7 on
 * all but the last), each extent below 4 GiB. A record never crosses a logical sector (6.8.1.1):
 * one that does not fit the rest of a sector starts the next.
 *
 * @example
 * const size = sizeDirectory(isoRecords(dir, env), ce).size;
 */
import { fullMode, type TreeNode } from '../../tree/model.js';
import type { FileData, Inode, IsoDir, IsoEntry, JolietDir } from './hierarchy.js';
import { entriesNM, entriesSL, entryCL, entryER, entryPL, entryPN, entryPX, entryRE, entrySP, entryTF, entryZF, nmLengths, RripLocation, RripPN, RripPX, SuspSP, ZisofsZF } from './rrip.js';
import { DirectoryRecord, encodeRecordingDate, FLAG_DIRECTORY, FLAG_MULTI_EXTENT, recordLength, SECTOR, writeDirectoryRecord } from './structs.js';
import { CeAllocator, MAX_RECORD, recordSuLength, splitSystemUse, writeSystemUse, type AreaPlace, type SystemUseSplit } from './susp.js';

/** The largest extent of a multi-extent file: 4 GiB less one sector (as libisofs, ISO_EXTENT_SIZE). */
export const MAX_SECTION = 0xfffff800;

export interface RecordSpec {
  id: Uint8Array;
  flags: number;
  location: number;
  length: number;
  time: number;
  /** Rock Ridge entries: fixed ones stay in the record; the flowing ones may go to a continuation area. */
  su?: { fixed: Uint8Array[]; flow: Uint8Array[] };
}

export interface RecordEnv {
  rockRidge: boolean;
  /**
   * Sizing only: System Use entries are zero-filled stand-ins of the right lengths (no location is
   * known yet, and building every entry twice for 100,000 records costs time and memory).
   */
  measure?: boolean;
}

/** Stand-ins for sizing: views of one zero buffer (longer than any entry). */
const ZERO = new Uint8Array(256);
const stub = (length: number): Uint8Array => ZERO.subarray(0, length);
const PX_LEN = RripPX.size, TF_LEN = 5 + 4 * 7, PN_LEN = RripPN.size, LOCATION_LEN = RripLocation.size, RE_LEN = 4, ZF_LEN = ZisofsZF.size, SP_LEN = SuspSP.size;

/** The extents of a file's bytes: one per 4 GiB less a sector; extent 0 of length 0 when it has none. */
export function sections(data: FileData | undefined): { lba: number; length: number }[] {
  if (!data || data.stored === 0) return [{ lba: 0, length: 0 }];
  const out: { lba: number; length: number }[] = [];
  for (let at = 0; at < data.stored; at += MAX_SECTION) out.push({ lba: data.lba + at / SECTOR, length: Math.min(MAX_SECTION, data.stored - at) });
  return out;
}

const DOT = new Uint8Array([0]);
const DOTDOT = new Uint8Array([1]);

function px(inode: Inode, node: TreeNode): Uint8Array {
  return entryPX({ mode: fullMode(node), nlink: inode.nlink, uid: node.uid, gid: node.gid, serial: inode.serial });
}

function tf(node: TreeNode): Uint8Array {
  return entryTF(node.mtime.sec, node.mtime.sec, node.atime.sec, node.ctime.sec);
}

/** Rock Ridge entries of a directory's own "." or ".." record. */
function dotEntries(dir: IsoDir, which: 'dot' | 'dotdot', m: boolean): { fixed: Uint8Array[]; flow: Uint8Array[] } {
  const self = which === 'dot' ? dir : dir.realParent;
  const fixed: Uint8Array[] = [];
  const isRoot = dir.parent === dir;
  if (which === 'dot' && isRoot) fixed.push(m ? stub(SP_LEN) : entrySP());
  fixed.push(m ? stub(PX_LEN) : px(self.inode, self.node), m ? stub(TF_LEN) : tf(self.node));
  if (which === 'dotdot' && dir.relocated) fixed.push(m ? stub(LOCATION_LEN) : entryPL(dir.realParent.lba));
  return { fixed, flow: which === 'dot' && isRoot ? [entryER()] : [] };
}

function entryEntries(e: IsoEntry, m: boolean): { fixed: Uint8Array[]; flow: Uint8Array[] } {
  const node = e.inode.node;
  const fixed = [m ? stub(PX_LEN) : px(e.inode, node), m ? stub(TF_LEN) : tf(node)];
  if (node.kind === 'char' || node.kind === 'block') fixed.push(m ? stub(PN_LEN) : entryPN(node.rdev?.major ?? 0, node.rdev?.minor ?? 0));
  if (e.kind === 'placeholder') fixed.push(m ? stub(LOCATION_LEN) : entryCL(e.dir!.lba));
  if (e.kind === 'dir' && (e.dir!.relocated || e.dir!.isRelocDir)) fixed.push(m ? stub(RE_LEN) : entryRE());
  if (e.kind === 'file' && e.inode.data?.zisofs !== undefined) fixed.push(m ? stub(ZF_LEN) : entryZF(e.inode.data.zisofs));
  const flow = m ? nmLengths(e.name.length).map(stub) : entriesNM(e.name);
  if (node.kind === 'symlink') flow.push(...entriesSL(node.symlinkTarget ?? Buffer.alloc(0)));
  return { fixed, flow };
}

/** The records of an ECMA-119 directory. */
export function isoRecords(dir: IsoDir, env: RecordEnv): RecordSpec[] {
  const out: RecordSpec[] = [
    { id: DOT, flags: FLAG_DIRECTORY, location: dir.lba, length: dir.size, time: dir.node.mtime.sec, ...(env.rockRidge ? { su: dotEntries(dir, 'dot', !!env.measure) } : {}) },
    { id: DOTDOT, flags: FLAG_DIRECTORY, location: dir.parent.lba, length: dir.parent.size, time: dir.realParent.node.mtime.sec, ...(env.rockRidge ? { su: dotEntries(dir, 'dotdot', !!env.measure) } : {}) },
  ];
  for (const e of dir.children) {
    const time = e.inode.node.mtime.sec;
    const su = env.rockRidge ? entryEntries(e, !!env.measure) : undefined;
    if (e.kind === 'dir') {
      out.push({ id: e.idBytes, flags: FLAG_DIRECTORY, location: e.dir!.lba, length: e.dir!.size, time, ...(su ? { su } : {}) });
      continue;
    }
    // A placeholder is a file record to ECMA-119 readers, without data (as libisofs).
    const id = e.idBytes;
    const parts = e.kind === 'placeholder' ? sections(undefined) : sections(e.inode.data);
    parts.forEach((s, i) => out.push({ id, flags: i < parts.length - 1 ? FLAG_MULTI_EXTENT : 0, location: s.lba, length: s.length, time, ...(su ? { su } : {}) }));
  }
  return out;
}

/** The records of a Joliet directory (no System Use fields). */
export function jolietRecords(dir: JolietDir): RecordSpec[] {
  const out: RecordSpec[] = [
    { id: DOT, flags: FLAG_DIRECTORY, location: dir.lba, length: dir.size, time: dir.node.mtime.sec },
    { id: DOTDOT, flags: FLAG_DIRECTORY, location: dir.parent.lba, length: dir.parent.size, time: dir.parent.node.mtime.sec },
  ];
  for (const e of dir.children) {
    const time = e.inode.node.mtime.sec;
    if (e.dir) {
      out.push({ id: e.idBytes, flags: FLAG_DIRECTORY, location: e.dir.lba, length: e.dir.size, time });
      continue;
    }
    // No version in Joliet names (xorriso's default compliance, "only_iso_version").
    const id = e.idBytes;
    const parts = sections(e.inode.data);
    parts.forEach((s, i) => out.push({ id, flags: i < parts.length - 1 ? FLAG_MULTI_EXTENT : 0, location: s.lba, length: s.length, time }));
  }
  return out;
}

function splitOf(r: RecordSpec): SystemUseSplit | undefined {
  if (!r.su) return undefined;
  const base = recordLength(r.id.length, 0);
  return splitSystemUse(r.su.fixed, r.su.flow, MAX_RECORD - base);
}

/**
 * A directory's size (whole sectors, at least one), the bytes its records use (the rest of its last
 * sector is zeros, left as a hole) and the continuation areas its records reserved.
 */
export function sizeDirectory(records: readonly RecordSpec[], ce: CeAllocator): { size: number; used: number; places: (AreaPlace[] | undefined)[] } {
  let pos = 0;
  const places: (AreaPlace[] | undefined)[] = [];
  for (const r of records) {
    const split = splitOf(r);
    const len = recordLength(r.id.length, split ? recordSuLength(split) : 0);
    if ((pos % SECTOR) + len > SECTOR) pos = Math.ceil(pos / SECTOR) * SECTOR;
    pos += len;
    places.push(split && split.areas.length ? ce.reserve(split) : undefined);
  }
  return { size: Math.max(SECTOR, Math.ceil(pos / SECTOR) * SECTOR), used: pos, places };
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

/**
 * Encode the `used` bytes of a directory (see sizeDirectory) into a slab buffer; continuation areas
 * go into `ceBuf` (its block 0 at `ceLba`).
 */
export function encodeDirectory(records: readonly RecordSpec[], used: number, places: readonly (AreaPlace[] | undefined)[], ceBuf: Uint8Array, ceLba: number, slab: Slab): Uint8Array {
  const buf = slab.take(used);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  records.forEach((r, i) => {
    const split = splitOf(r);
    const len = recordLength(r.id.length, split ? recordSuLength(split) : 0);
    if ((pos % SECTOR) + len > SECTOR) pos = Math.ceil(pos / SECTOR) * SECTOR;
    if (pos + len > used) throw new Error(`iso9660: a directory grew past its ${used} bytes between planning and encoding`);
    writeDirectoryRecord(dv, buf, pos, { length: len, extent: r.location, dataLength: r.length, time: r.time, flags: r.flags, id: r.id });
    if (split) writeSystemUse(split, places[i] ?? [], buf, pos + recordLength(r.id.length, 0), ceBuf, ceLba);
    pos += len;
  });
  if (pos !== used) throw new Error(`iso9660: a directory changed from ${used} to ${pos} bytes between planning and encoding`);
  return buf;
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
