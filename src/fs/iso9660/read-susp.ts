/**
 * System Use entries as the ISO 9660 reader finds them (SUSP 1.12 §4-5, RRIP 1.12 §4), decoded
 * with the writer's declarations (rrip.ts): the entries of a record's System Use field, then of
 * each Continuation Area its CE entries chain to (each area inside the image, at most
 * MAX_AREAS of them per record, so a CE loop ends). Collected: NM (with CONTINUE), SL components,
 * PX (with the 1.12 serial number when present), PN, TF (short and long forms), CL, RE, ZF.
 */
import { RripFlagged, RripLocation, RripPN, RripPX, SuspCE, SuspSP, ZisofsZF } from './rrip.js';
import { decodeRecordingDate, decodeVolumeDate } from './structs.js';

/** What the Rock Ridge entries of one record say. */
export interface RockRidge {
  name?: Buffer;
  target?: Buffer;
  px?: { mode: number; nlink: number; uid: number; gid: number; serial: number };
  rdev?: { major: number; minor: number };
  /** Modify, access and attribute-change times (seconds), those recorded. */
  mtime?: number;
  atime?: number;
  ctime?: number;
  /** CL: the relocated directory's extent. */
  childLink?: number;
  /** RE: this directory was relocated here (hidden where it is). */
  relocated?: boolean;
  zf?: { headerDiv4: number; log2: number; size: number };
  /** SUSP SP (root "." record only): SUSP is in use, with LEN_SKP bytes skipped in every field. */
  sp?: { skip: number };
}

export interface SuspContext {
  /** `length` bytes at byte `offset` of the filesystem, or E_IMAGE_CORRUPT. */
  bytes(offset: number, length: number, structure: string): Uint8Array;
  corrupt(structure: string, offset: number, what: string): Error;
}

/** Continuation Areas followed per record (a chain longer than this is a loop). */
const MAX_AREAS = 32;
/** The longest name or link target assembled from NM or SL entries. */
const MAX_TEXT = 4096;
const SECTOR = 2048;

const sig = (b: Uint8Array, o: number): string => String.fromCharCode(b[o]!, b[o + 1]!);
/** A signature as messages show it: its two letters, or their hex when not printable. */
const shown = (s: string): string => (/^[\x21-\x7e]{2}$/.test(s) ? s : `0x${Buffer.from(s, 'latin1').toString('hex')}`);
const both32 = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset + o, 4).getUint32(0, true);

/**
 * The entries of a System Use field `su` (at byte `at` of the filesystem), and of the areas its CE
 * entries lead to.
 */
export function readSystemUse(ctx: SuspContext, su: Uint8Array, at: number): RockRidge {
  const rr: RockRidge = {};
  const name: Uint8Array[] = [];
  let nameLen = 0, nameDone = false;
  const link: string[] = [];
  let root = false, linkLen = 0, continuing = false;
  let area: { bytes: Uint8Array; at: number } | undefined = { bytes: su, at };
  for (let areas = 0; area; areas++) {
    const { bytes: b, at: base } = area;
    area = undefined;
    let next: { block: number; offset: number; length: number; at: number } | undefined;
    for (let o = 0; o + 4 <= b.length;) {
      const len = b[o + 2]!;
      const s = sig(b, o);
      if (len < 4 || o + len > b.length) {
        if (b[o] === 0 && len === 0) break; // padding
        throw ctx.corrupt(`SUSP ${shown(s)} entry`, base + o, `length ${len} does not fit the ${b.length - o} bytes left in its field`);
      }
      const e = b.subarray(o, o + len);
      const need = (size: number): void => { if (len < size) throw ctx.corrupt(`SUSP ${s} entry`, base + o, `${len} bytes, fewer than its ${size}`); };
      switch (s) {
        case 'ST': o = b.length; continue;
        case 'SP': need(SuspSP.size); if (e[4] === 0xbe && e[5] === 0xef) rr.sp = { skip: e[6]! }; break;
        case 'CE': {
          need(SuspCE.size);
          const c = SuspCE.decode(e);
          next = { block: c.block_location_of_continuation_area as number, offset: c.offset_to_start_of_continuation_area as number, length: c.length_of_the_continuation_area as number, at: base + o };
          break;
        }
        case 'PX': {
          need(RripPX.offsetOf('posix_file_serial_number'));
          const v = (f: Parameters<typeof RripPX.offsetOf>[0]): number => both32(e, RripPX.offsetOf(f));
          rr.px = { mode: v('posix_file_mode'), nlink: v('posix_file_links'), uid: v('posix_file_user_id'), gid: v('posix_file_group_id'), serial: len >= RripPX.size ? v('posix_file_serial_number') : 0 };
          break;
        }
        case 'PN': {
          need(RripPN.size);
          const hi = both32(e, RripPN.offsetOf('dev_t_high')), lo = both32(e, RripPN.offsetOf('dev_t_low'));
          // glibc's gnu_dev_major/minor on the 64-bit dev_t the two halves make (as rrip.ts entryPN writes it).
          rr.rdev = { major: (((lo >>> 8) & 0xfff) | (hi & 0xfffff000)) >>> 0, minor: ((lo & 0xff) | ((lo >>> 12) & 0xfffff00)) >>> 0 };
          break;
        }
        case 'TF': {
          need(RripFlagged.size);
          const flags = e[4]!;
          const long = (flags & 0x80) !== 0, step = long ? 17 : 7;
          let p = RripFlagged.size;
          // RRIP 4.1.6: creation, modify, access, attributes, backup, expiration, effective, in that order.
          for (let bit = 0; bit < 7; bit++) {
            if (!(flags & (1 << bit))) continue;
            if (p + step > len) throw ctx.corrupt('RRIP TF entry', base + o, `its times run past its ${len} bytes`);
            const t = long ? decodeVolumeDate(e, p) : decodeRecordingDate(e, p);
            if (bit === 1) rr.mtime = t; else if (bit === 2) rr.atime = t; else if (bit === 3) rr.ctime = t;
            p += step;
          }
          break;
        }
        case 'NM': {
          need(RripFlagged.size);
          const flags = e[4]!;
          if (nameDone) break;
          // CURRENT and PARENT name "." and ".." (never a listed entry's name); CONTINUE: more NM follow.
          if (flags & 0x06) { nameDone = true; break; }
          nameLen += len - RripFlagged.size;
          if (nameLen > MAX_TEXT) throw ctx.corrupt('RRIP NM entry', base + o, `a name longer than ${MAX_TEXT} bytes`);
          name.push(e.subarray(RripFlagged.size));
          if (!(flags & 0x01)) nameDone = true;
          break;
        }
        case 'SL': {
          need(RripFlagged.size);
          for (let p = RripFlagged.size; p < len;) {
            if (p + 2 > len || p + 2 + e[p + 1]! > len) throw ctx.corrupt('RRIP SL entry', base + o, 'a component runs past the entry');
            const cf = e[p]!, cl = e[p + 1]!;
            const text = cf & 0x02 ? '.' : cf & 0x04 ? '..' : Buffer.from(e.subarray(p + 2, p + 2 + cl)).toString('latin1');
            if (cf & 0x08) root = true;
            else if (continuing) link[link.length - 1] += text;
            else link.push(text);
            continuing = (cf & 0x01) !== 0;
            linkLen += text.length + 1;
            if (linkLen > MAX_TEXT) throw ctx.corrupt('RRIP SL entry', base + o, `a link target longer than ${MAX_TEXT} bytes`);
            p += 2 + cl;
          }
          break;
        }
        case 'CL': need(RripLocation.size); rr.childLink = both32(e, RripLocation.offsetOf('location')); break;
        case 'RE': rr.relocated = true; break;
        case 'ZF': {
          need(ZisofsZF.size);
          const z = ZisofsZF.decode(e);
          if (sig(z.algorithm as Uint8Array, 0) === 'pz') rr.zf = { headerDiv4: z.header_size_div_4 as number, log2: z.log2_of_block_size as number, size: z.uncompressed_size as number };
          break;
        }
        default: break;
      }
      o += len;
    }
    if (next) {
      if (areas + 1 >= MAX_AREAS) throw ctx.corrupt('SUSP CE entry', next.at, `more than ${MAX_AREAS} continuation areas`);
      if (next.offset >= SECTOR || next.length > SECTOR) throw ctx.corrupt('SUSP CE entry', next.at, `a continuation area of ${next.length} bytes at offset ${next.offset} of its block`);
      const where = next.block * SECTOR + next.offset;
      area = { bytes: ctx.bytes(where, next.length, 'SUSP continuation area'), at: where };
    }
  }
  if (name.length) rr.name = Buffer.concat(name);
  if (link.length || root) rr.target = Buffer.from((root ? '/' : '') + link.join('/'), 'latin1');
  return rr;
}
