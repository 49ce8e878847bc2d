/**
 * System Use entries of SUSP 1.12 (IEEE P1281) and Rock Ridge RRIP 1.12 (IEEE P1282), each declared
 * once with its field offsets, and the zisofs ZF entry (zisofs format as libisofs and Linux
 * read it). Every entry starts with the SUSP 4.1 header: a two-character signature, its length and
 * its version (1).
 *
 * @example
 * const px = entryPX({ mode: 0o100644, nlink: 1, uid: 0, gid: 0, serial: 7 }); // 44 bytes, RRIP 4.1.1
 */
import { defineStruct } from '../../util/struct.js';
import { encodeRecordingDate } from './structs.js';

const header = [
  { name: 'signature_word', offset: 0, kind: { bytes: 2 } },
  { name: 'length', offset: 2, kind: 'u8' },
  { name: 'system_use_entry_version', offset: 3, kind: 'u8' },
] as const;

/** SUSP 5.3: SP, first entry of the root's "." record: SUSP is in use. */
export const SuspSP = defineStruct('SUSP SP', 7, [...header,
  { name: 'check_bytes', offset: 4, kind: { bytes: 2 } },
  { name: 'len_skp', offset: 6, kind: 'u8' },
]);
/** SUSP 5.1: CE, where the rest of the entries continue (a Continuation Area). */
export const SuspCE = defineStruct('SUSP CE', 28, [...header,
  { name: 'block_location_of_continuation_area', offset: 4, kind: 'u32both' },
  { name: 'offset_to_start_of_continuation_area', offset: 12, kind: 'u32both' },
  { name: 'length_of_the_continuation_area', offset: 20, kind: 'u32both' },
]);
/** SUSP 5.5: ER, the extension in use (identifier, descriptor and source texts follow). */
export const SuspER = defineStruct('SUSP ER', 8, [...header,
  { name: 'len_id', offset: 4, kind: 'u8' },
  { name: 'len_des', offset: 5, kind: 'u8' },
  { name: 'len_src', offset: 6, kind: 'u8' },
  { name: 'ext_ver', offset: 7, kind: 'u8' },
]);
/** RRIP 4.1.1: PX, POSIX file attributes (1.12 adds the serial number). */
export const RripPX = defineStruct('RRIP PX', 44, [...header,
  { name: 'posix_file_mode', offset: 4, kind: 'u32both' },
  { name: 'posix_file_links', offset: 12, kind: 'u32both' },
  { name: 'posix_file_user_id', offset: 20, kind: 'u32both' },
  { name: 'posix_file_group_id', offset: 28, kind: 'u32both' },
  { name: 'posix_file_serial_number', offset: 36, kind: 'u32both' },
]);
/** RRIP 4.1.2: PN, device number (the host's 64-bit dev_t, high and low halves, as libisofs writes it). */
export const RripPN = defineStruct('RRIP PN', 20, [...header,
  { name: 'dev_t_high', offset: 4, kind: 'u32both' },
  { name: 'dev_t_low', offset: 12, kind: 'u32both' },
]);
/** RRIP 4.1.3 SL and 4.1.4 NM: a flags byte, then component records or name bytes. */
export const RripFlagged = defineStruct('RRIP SL/NM/TF header', 5, [...header,
  { name: 'flags', offset: 4, kind: 'u8' },
]);
/** RRIP 4.1.5.1 CL and 4.1.5.2 PL: where a relocated directory is, and its real parent. */
export const RripLocation = defineStruct('RRIP CL/PL', 12, [...header,
  { name: 'location', offset: 4, kind: 'u32both' },
]);
/** zisofs ZF entry: algorithm "pz", header size in 4-byte units, log2 of the block size, uncompressed size. */
export const ZisofsZF = defineStruct('zisofs ZF', 16, [...header,
  { name: 'algorithm', offset: 4, kind: { bytes: 2 } },
  { name: 'header_size_div_4', offset: 6, kind: 'u8' },
  { name: 'log2_of_block_size', offset: 7, kind: 'u8' },
  { name: 'uncompressed_size', offset: 8, kind: 'u32both' },
]);

const sig = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/**
 * ECMA-119 7.3.3: a 32-bit number in both byte orders, written at a declared field's offset (the
 * entries below are built for every record of the tree; this skips the generic encoder's checks
 * for the common case and keeps its RangeError for values that do not fit). `dv` views `b`.
 */
function both32(dv: DataView, at: number, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`Rock Ridge field at ${at}: value ${v} does not fit in 32 bits`);
  dv.setUint32(at, v, true);
  dv.setUint32(at + 4, v, false);
}

const viewOf = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** The SUSP 4.1 header of an entry at `b[at]`. */
function putHeader(b: Uint8Array, at: number, signature: string, length: number): void {
  b[at] = signature.charCodeAt(0);
  b[at + 1] = signature.charCodeAt(1);
  b[at + 2] = length;
  b[at + 3] = 1;
}

/** A zeroed entry with its SUSP 4.1 header. Small entries come from Node's shared buffer pool (one ArrayBuffer per entry would cost more than the entry). */
function entry(signature: string, length: number): Uint8Array {
  const b = Buffer.allocUnsafe(length).fill(0);
  putHeader(b, 0, signature, length);
  return b;
}

/** An entry is at most 255 bytes (its length is one byte). */
export const MAX_ENTRY = 255;
export const CE_LENGTH = 28;

export function entrySP(): Uint8Array {
  const b = entry('SP', SuspSP.size);
  SuspSP.encode({ check_bytes: new Uint8Array([0xbe, 0xef]), len_skp: 0 }, b);
  return b;
}

export function entryCE(block: number, offset: number, length: number): Uint8Array {
  const b = entry('CE', SuspCE.size);
  const dv = viewOf(b);
  both32(dv, SuspCE.offsetOf('block_location_of_continuation_area'), block);
  both32(dv, SuspCE.offsetOf('offset_to_start_of_continuation_area'), offset);
  both32(dv, SuspCE.offsetOf('length_of_the_continuation_area'), length);
  return b;
}

/** RRIP 1.12 4.3: the ER entry naming IEEE 1282 (the texts libisofs writes for RRIP 1.12). */
const ER_ID = 'IEEE_1282';
const ER_DES = 'THE IEEE 1282 PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS.';
const ER_SRC = 'PLEASE CONTACT THE IEEE STANDARDS DEPARTMENT, PISCATAWAY, NJ, USA FOR THE 1282 SPECIFICATION.';

export function entryER(): Uint8Array {
  const b = entry('ER', SuspER.size + ER_ID.length + ER_DES.length + ER_SRC.length);
  SuspER.encode({ len_id: ER_ID.length, len_des: ER_DES.length, len_src: ER_SRC.length, ext_ver: 1 }, b);
  b.set(sig(ER_ID + ER_DES + ER_SRC), SuspER.size);
  return b;
}

const PX_MODE = RripPX.offsetOf('posix_file_mode'), PX_LINKS = RripPX.offsetOf('posix_file_links'), PX_UID = RripPX.offsetOf('posix_file_user_id');
const PX_GID = RripPX.offsetOf('posix_file_group_id'), PX_SERIAL = RripPX.offsetOf('posix_file_serial_number');

export function entryPX(a: { mode: number; nlink: number; uid: number; gid: number; serial: number }): Uint8Array {
  const b = new Uint8Array(RripPX.size);
  putPX(b, viewOf(b), 0, a.mode, a.nlink, a.uid, a.gid, a.serial);
  return b;
}

/** PX written at `b[at]` (`dv` views `b`; every byte of the entry is written). Returns its length. */
export function putPX(b: Uint8Array, dv: DataView, at: number, mode: number, nlink: number, uid: number, gid: number, serial: number): number {
  putHeader(b, at, 'PX', RripPX.size);
  both32(dv, at + PX_MODE, mode);
  both32(dv, at + PX_LINKS, nlink);
  both32(dv, at + PX_UID, uid);
  both32(dv, at + PX_GID, gid);
  both32(dv, at + PX_SERIAL, serial);
  return RripPX.size;
}

/**
 * PN with the device number as glibc's 64-bit dev_t (`makedev`), split in halves as libisofs
 * writes it; Linux reads a small number from the low half alone (fs/isofs/rock.c).
 */
export function entryPN(major: number, minor: number): Uint8Array {
  const dev = ((BigInt(major) & 0xfffff000n) << 32n) | ((BigInt(major) & 0xfffn) << 8n) | ((BigInt(minor) & 0xffffff00n) << 12n) | (BigInt(minor) & 0xffn);
  const b = entry('PN', RripPN.size);
  RripPN.encode({ dev_t_high: Number(dev >> 32n), dev_t_low: Number(dev & 0xffffffffn) }, b);
  return b;
}

/** RRIP 4.1.6 TF flags: creation, modify, access, attributes (short 7-byte form, ECMA-119 9.1.5). */
const TF_CREATION_MODIFY_ACCESS_ATTRIBUTES = 0x0f;
/** The flags byte of TF, NM and SL. */
const FLAGS = RripFlagged.offsetOf('flags');

/** TF with the four times in the 7-byte form. */
export const TF_LENGTH = RripFlagged.size + 4 * 7;

export function entryTF(creation: number, modify: number, access: number, attributes: number): Uint8Array {
  const b = new Uint8Array(TF_LENGTH);
  putTF(b, 0, creation, modify, access, attributes);
  return b;
}

/** TF written at `b[at]` (every byte of the entry is written). Returns its length. */
export function putTF(b: Uint8Array, at: number, creation: number, modify: number, access: number, attributes: number): number {
  putHeader(b, at, 'TF', TF_LENGTH);
  b[at + FLAGS] = TF_CREATION_MODIFY_ACCESS_ATTRIBUTES;
  encodeRecordingDate(creation, b, at + RripFlagged.size);
  encodeRecordingDate(modify, b, at + RripFlagged.size + 7);
  encodeRecordingDate(access, b, at + RripFlagged.size + 14);
  encodeRecordingDate(attributes, b, at + RripFlagged.size + 21);
  return TF_LENGTH;
}

const NM_CONTINUE = 0x01;

/** RRIP 4.1.4: the name in NM entries of at most 255 bytes each, all but the last flagged CONTINUE. */
const NM_STEP = MAX_ENTRY - RripFlagged.size;

/** The lengths of `entriesNM` for a name of `n` bytes (for sizing directories without building the entries). */
export function nmLengths(n: number): number[] {
  const out: number[] = [];
  for (let at = 0; at < n || out.length === 0; at += NM_STEP) out.push(RripFlagged.size + Math.min(NM_STEP, n - at));
  return out;
}

/** The bytes of `entriesNM` for a name of `n` bytes. */
export function nmLength(n: number): number {
  return RripFlagged.size * Math.max(1, Math.ceil(n / NM_STEP)) + n;
}

export function entriesNM(name: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const step = NM_STEP;
  for (let at = 0; at < name.length || out.length === 0; at += step) {
    const part = name.subarray(at, at + step);
    const b = new Uint8Array(RripFlagged.size + part.length);
    putNM(b, 0, part, at + step < name.length);
    out.push(b);
  }
  return out;
}

/** One NM entry holding `part` (at most 250 bytes) at `b[at]`, flagged CONTINUE when more follow. Returns its length. */
export function putNM(b: Uint8Array, at: number, part: Uint8Array, more: boolean): number {
  const length = RripFlagged.size + part.length;
  putHeader(b, at, 'NM', length);
  b[at + FLAGS] = more ? NM_CONTINUE : 0;
  b.set(part, at + RripFlagged.size);
  return length;
}

/** RRIP 4.1.3.1 component flags. */
const SL_CONTINUE = 0x01, SL_CURRENT = 0x02, SL_PARENT = 0x04, SL_ROOT = 0x08;

/**
 * RRIP 4.1.3: a symbolic link's target as SL entries: `/`-separated components (a leading `/` is
 * the ROOT component, `.` and `..` are CURRENT and PARENT), a component longer than an entry holds
 * split with the component CONTINUE flag, entries of at most 255 bytes chained with the entry
 * CONTINUE flag. Linux (fs/isofs/rock.c get_symlink_chunk) joins the components with `/`.
 */
export function entriesSL(target: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= target.length; i++) {
    if (i === target.length || target[i] === 0x2f) { parts.push(target.subarray(start, i)); start = i + 1; }
  }
  const records: { flags: number; bytes: Uint8Array }[] = parts.map((p, i) => {
    if (i === 0 && p.length === 0 && parts.length > 1) return { flags: SL_ROOT, bytes: p };
    if (p.length === 1 && p[0] === 0x2e) return { flags: SL_CURRENT, bytes: p.subarray(0, 0) };
    if (p.length === 2 && p[0] === 0x2e && p[1] === 0x2e) return { flags: SL_PARENT, bytes: p.subarray(0, 0) };
    return { flags: 0, bytes: p };
  });
  const entries: number[][] = [];
  let cur: number[] = [];
  const flush = (): void => { entries.push(cur); cur = []; };
  for (const r of records) {
    let at = 0;
    do {
      if (RripFlagged.size + cur.length + 2 > MAX_ENTRY) flush();
      const room = MAX_ENTRY - RripFlagged.size - cur.length - 2;
      const n = Math.min(room, r.bytes.length - at);
      if (n === 0 && r.bytes.length > at) { flush(); continue; }
      const more = at + n < r.bytes.length;
      cur.push(r.flags | (more ? SL_CONTINUE : 0), n, ...r.bytes.subarray(at, at + n));
      at += n;
    } while (at < r.bytes.length);
  }
  flush();
  return entries.map((body, i) => {
    const b = entry('SL', RripFlagged.size + body.length);
    RripFlagged.encode({ flags: i < entries.length - 1 ? SL_CONTINUE : 0 }, b);
    b.set(body, RripFlagged.size);
    return b;
  });
}

export function entryCL(lba: number): Uint8Array {
  const b = entry('CL', RripLocation.size);
  both32(viewOf(b), RripLocation.offsetOf('location'), lba);
  return b;
}

export function entryPL(lba: number): Uint8Array {
  const b = entry('PL', RripLocation.size);
  both32(viewOf(b), RripLocation.offsetOf('location'), lba);
  return b;
}

/** RRIP 4.1.5.3: RE, this directory was relocated here (readers hide it from the Rock Ridge view). */
export function entryRE(): Uint8Array {
  return entry('RE', 4);
}

/** zisofs: the file header is 16 bytes (4 units of 4) and blocks are 32 KiB (2^15), as xorriso --zisofs writes. */
export const ZISOFS_HEADER_DIV4 = 4;
export const ZISOFS_LOG2_BLOCK = 15;

export function entryZF(uncompressedSize: number): Uint8Array {
  const b = entry('ZF', ZisofsZF.size);
  ZisofsZF.encode({ algorithm: sig('pz'), header_size_div_4: ZISOFS_HEADER_DIV4, log2_of_block_size: ZISOFS_LOG2_BLOCK, uncompressed_size: uncompressedSize }, b);
  return b;
}
