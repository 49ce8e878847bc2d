/**
 * FAT directory contents (fatgen103 §6): short entries with times and attributes, the `.` and `..`
 * entries of subdirectories, the volume label entry of the root, and long-name runs before each
 * short entry that needs one.
 */
import type { Timestamp } from '../../tree/model.js';
import { civil } from '../../util/civil.js';
import { DirEntry, ATTR_DIRECTORY, ATTR_VOLUME_ID } from './bootsector.js';
import { encodeLfnEntries, shortNameChecksum, lfnEntryCount } from './names.js';

/** 1980-01-01T00:00:00Z, the first instant a FAT date can hold. */
const FAT_MIN_SEC = 315532800;
/** 2107-12-31T23:59:58Z, the last. */
const FAT_MAX_SEC = 4354819198;

const O = Object.fromEntries(DirEntry.fields.map((f) => [f.name, f.offset])) as Record<
  'DIR_Name' | 'DIR_Attr' | 'DIR_NTRes' | 'DIR_CrtTimeTenth' | 'DIR_CrtTime' | 'DIR_CrtDate' | 'DIR_LstAccDate'
  | 'DIR_FstClusHI' | 'DIR_WrtTime' | 'DIR_WrtDate' | 'DIR_FstClusLO' | 'DIR_FileSize', number>;

export interface FatTime {
  date: number;
  time: number;
  /** DIR_CrtTimeTenth: 10 ms units 0..199 (the odd second plus hundredths). */
  tenth: number;
}

/** fatgen103 §6.1 date and time, in UTC, 2-second resolution, clamped to the FAT range. */
export function fatTime(ts: Timestamp): FatTime {
  let sec = ts.sec, nsec = ts.nsec;
  if (sec < FAT_MIN_SEC) { sec = FAT_MIN_SEC; nsec = 0; }
  if (sec > FAT_MAX_SEC) { sec = FAT_MAX_SEC; nsec = 0; }
  const { year, month, day, hour: hours, minute: minutes, second: seconds } = civil(sec);
  const date = ((year - 1980) << 9) | (month << 5) | day;
  const time = (hours << 11) | (minutes << 5) | (seconds >> 1);
  const tenth = (seconds & 1) * 100 + Math.floor(nsec / 10_000_000);
  return { date, time, tenth };
}

export interface ShortEntryFields {
  name: Uint8Array;
  attr: number;
  ntRes: number;
  firstCluster: number;
  size: number;
  mtime: Timestamp;
}

/**
 * Encode one short entry at `offset` of `buf`. Creation time and access date are the modification
 * time: the tree has no birth time, and access times change whenever a build reads its inputs, so
 * using them would make two builds of the same tree differ.
 */
export function encodeShortEntry(e: ShortEntryFields, buf: Uint8Array, offset: number): void {
  writeShortEntry(e, fatTime(e.mtime), buf, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), offset);
}

/**
 * encodeShortEntry with `e.mtime` already as FAT time `m` and the caller's DataView over all of
 * `buf` (one per directory, not one per entry). Hot path (one call per file): DataView writes at
 * the offsets DirEntry declares, instead of the generic encoder; values are in range by construction.
 */
function writeShortEntry(e: ShortEntryFields, m: FatTime, buf: Uint8Array, dv: DataView, offset: number): void {
  buf.set(e.name, offset + O.DIR_Name);
  dv.setUint8(offset + O.DIR_Attr, e.attr);
  dv.setUint8(offset + O.DIR_NTRes, e.ntRes);
  dv.setUint8(offset + O.DIR_CrtTimeTenth, m.tenth);
  dv.setUint16(offset + O.DIR_CrtTime, m.time, true);
  dv.setUint16(offset + O.DIR_CrtDate, m.date, true);
  dv.setUint16(offset + O.DIR_LstAccDate, m.date, true);
  dv.setUint16(offset + O.DIR_FstClusHI, e.firstCluster >>> 16, true);
  dv.setUint16(offset + O.DIR_WrtTime, m.time, true);
  dv.setUint16(offset + O.DIR_WrtDate, m.date, true);
  dv.setUint16(offset + O.DIR_FstClusLO, e.firstCluster & 0xffff, true);
  dv.setUint32(offset + O.DIR_FileSize, e.size, true);
}

const DOT = Uint8Array.from(Buffer.from('.          ', 'latin1'));
const DOTDOT = Uint8Array.from(Buffer.from('..         ', 'latin1'));

/** One entry of a directory as the planner sees it. */
export interface DirItem extends ShortEntryFields {
  /** Long name when the name needs long-name entries. */
  long?: string | undefined;
}

/** 32-byte slots an item takes: its long-name run plus the short entry. */
export function itemSlots(long: string | undefined): number {
  return 1 + (long === undefined ? 0 : lfnEntryCount(long));
}

export interface DirHeader {
  /** Subdirectory: its own first cluster and its parent's (0 for the root, fatgen103 §6.5). */
  sub?: { self: number; parent: number; mtime: Timestamp };
  /** Root: the volume label entry. */
  label?: { name: Uint8Array; time: Timestamp };
}

/**
 * Encode a whole directory: header entries then the items in order. The buffer holds only the used
 * slots; the rest of the directory's clusters are zeros (end-of-directory markers), left as holes.
 */
export function encodeDirectory(header: DirHeader, items: readonly DirItem[], slots: number): Uint8Array {
  const buf = new Uint8Array(slots * 32);
  const dv = new DataView(buf.buffer);
  // Entries of one directory mostly share their time (files of one package): convert it once per run.
  let lastTs: Timestamp | undefined, last: FatTime | undefined;
  const timeOf = (ts: Timestamp): FatTime => {
    if (last === undefined || ts.sec !== lastTs!.sec || ts.nsec !== lastTs!.nsec) { last = fatTime(ts); lastTs = ts; }
    return last;
  };
  let at = 0;
  if (header.sub) {
    const s = header.sub;
    writeShortEntry({ name: DOT, attr: ATTR_DIRECTORY, ntRes: 0, firstCluster: s.self, size: 0, mtime: s.mtime }, timeOf(s.mtime), buf, dv, at);
    writeShortEntry({ name: DOTDOT, attr: ATTR_DIRECTORY, ntRes: 0, firstCluster: s.parent, size: 0, mtime: s.mtime }, timeOf(s.mtime), buf, dv, at + 32);
    at += 64;
  }
  if (header.label) {
    const l = header.label;
    writeShortEntry({ name: l.name, attr: ATTR_VOLUME_ID, ntRes: 0, firstCluster: 0, size: 0, mtime: l.time }, timeOf(l.time), buf, dv, at);
    at += 32;
  }
  for (const it of items) {
    if (it.long !== undefined) at += encodeLfnEntries(it.long, shortNameChecksum(it.name), buf, at);
    writeShortEntry(it, timeOf(it.mtime), buf, dv, at);
    at += 32;
  }
  if (at !== buf.length) throw new Error(`FAT directory: encoded ${at} bytes, planned ${buf.length}`);
  return buf;
}
