/**
 * FAT names (fatgen103 §6–7): 8.3 short names, VFAT long names and the short-name checksum.
 *
 * Rules, decided here and documented in docs (see plan.ts for the directory-level checks):
 * - Tree names are UTF-8; anything else is an error. Trailing dots and spaces are dropped, as
 *   Windows and Linux do when they create a file on FAT; a name that is only dots/spaces is an error.
 * - A name that is a valid 8.3 name in one case per part (`README.TXT`, `readme.txt`,
 *   `README.txt`) is stored as a short entry alone, lower-case parts flagged in DIR_NTRes
 *   (0x08 base, 0x10 extension) the way Windows NT and Linux do. Every other name gets long-name
 *   entries plus a generated short name `BASE~N.EXT` whose N is the smallest free in the directory.
 */
import { DiskwrightError } from '../../errors.js';
import { LfnEntry, ATTR_LONG_NAME, LAST_LONG_ENTRY, NTRES_LOWER_BASE, NTRES_LOWER_EXT } from './bootsector.js';

/** Characters a long name may not hold (fatgen103 §7, "Long names"), besides controls below 0x20 and DEL. */
const LONG_FORBIDDEN = '"*/:<>?\\|';
/** Characters valid in a short name besides A–Z and 0–9 (fatgen103 §6.1). */
const SHORT_EXTRA = "$%'-_@~`!(){}^#&";

/**
 * Both character rules as one table by code unit (ASCII only: every other unit is neither forbidden
 * nor valid in a short name), so the name checks run per code unit, without a string per character:
 * FORBIDDEN_LONG for long names, SHORT_OK for upper-case short-name characters.
 */
const FORBIDDEN_LONG = 1, SHORT_OK = 2;
const CHAR_CLASS = (() => {
  const t = new Uint8Array(128);
  for (let c = 0; c < 0x20; c++) t[c] = FORBIDDEN_LONG;
  t[0x7f] = FORBIDDEN_LONG;
  for (const ch of LONG_FORBIDDEN) t[ch.charCodeAt(0)] = FORBIDDEN_LONG;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = SHORT_OK;
  for (let c = 0x30; c <= 0x39; c++) t[c] = SHORT_OK;
  for (const ch of SHORT_EXTRA) t[ch.charCodeAt(0)] = SHORT_OK;
  return t;
})();
const isAsciiLower = (c: number): boolean => c >= 0x61 && c <= 0x7a;
/** True when every code unit of `s` is ASCII: then String#toUpperCase maps a–z and nothing else. */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
const MAX_LONG_UNITS = 255;
const UNITS_PER_LFN = 13;

/** Byte offsets of the 13 name units in a long-name entry: LDIR_Name1 (5), LDIR_Name2 (6), LDIR_Name3 (2). */
const LFN_UNIT_AT = [
  ...[0, 1, 2, 3, 4].map((i) => LfnEntry.offsetOf('LDIR_Name1') + 2 * i),
  ...[0, 1, 2, 3, 4, 5].map((i) => LfnEntry.offsetOf('LDIR_Name2') + 2 * i),
  ...[0, 1].map((i) => LfnEntry.offsetOf('LDIR_Name3') + 2 * i),
];
const LFN_ORD = LfnEntry.offsetOf('LDIR_Ord');
const LFN_ATTR = LfnEntry.offsetOf('LDIR_Attr');
const LFN_TYPE = LfnEntry.offsetOf('LDIR_Type');
const LFN_CHKSUM = LfnEntry.offsetOf('LDIR_Chksum');
const LFN_CLUS = LfnEntry.offsetOf('LDIR_FstClusLO');

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A tree name as text for paths and messages (invalid UTF-8 shown with U+FFFD); ASCII, nearly every name, without a UTF-8 decode. */
export function nameText(raw: Buffer): string {
  for (let i = 0; i < raw.length; i++) if (raw[i]! > 0x7f) return raw.toString('utf8');
  return raw.toString('latin1');
}

/** The long name FAT stores for a tree name: UTF-8 decoded, trailing dots/spaces dropped; errors name `where`. */
export function fatLongName(raw: Buffer, where: string, specPath: string): string {
  let s: string;
  // Almost every name is ASCII: then the bytes are the string (latin1 decodes them 1:1, and ASCII is valid UTF-8).
  let ascii = true;
  for (let i = 0; i < raw.length; i++) if (raw[i]! > 0x7f) { ascii = false; break; }
  if (ascii) s = raw.toString('latin1');
  else {
    try {
      s = decoder.decode(raw);
    } catch {
      throw new DiskwrightError('E_FAT_NAME', `${where}: the name is not valid UTF-8 (${raw.toString('hex')}); FAT long names are Unicode: rename the file`, { path: specPath, value: where });
    }
  }
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 0x2e || s.charCodeAt(end - 1) === 0x20)) end--;
  const trimmed = end === s.length ? s : s.slice(0, end);
  if (trimmed.length === 0) {
    throw new DiskwrightError('E_FAT_NAME', `${where}: a FAT name cannot consist only of dots and spaces`, { path: specPath, value: where });
  }
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed.charCodeAt(i);
    if (c < 0x80 && CHAR_CLASS[c] === FORBIDDEN_LONG) {
      throw new DiskwrightError('E_FAT_NAME', `${where}: FAT names cannot contain ${JSON.stringify(trimmed[i])} (forbidden: control characters and " * / : < > ? \\ |)`, { path: specPath, value: where });
    }
  }
  const units = trimmed.length; // UTF-16 code units, what LDIR_Name* hold
  if (units > MAX_LONG_UNITS) {
    throw new DiskwrightError('E_FAT_NAME', `${where}: the name is ${units} UTF-16 units long; FAT long names hold at most ${MAX_LONG_UNITS}`, { path: specPath, value: where });
  }
  return trimmed;
}

/** The key under which FAT considers two names equal: case-insensitive (trailing dots/spaces are already gone). */
export function fatNameKey(longName: string): string {
  if (isAscii(longName)) return longName.toUpperCase();
  // Character by character, as FAT's up-case table maps one UTF-16 unit to one ('ß' stays 'ß',
  // where String#toUpperCase would make it 'SS').
  let out = '';
  for (const ch of longName) {
    const up = ch.toUpperCase();
    out += up.length === ch.length ? up : ch;
  }
  return out;
}

type Case = 'none' | 'upper' | 'lower' | 'mixed';
/** The case of the ASCII letters of s[from, to). */
function caseOf(s: string, from: number, to: number): Case {
  let up = false, low = false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) up = true;
    else if (isAsciiLower(c)) low = true;
  }
  return up && low ? 'mixed' : up ? 'upper' : low ? 'lower' : 'none';
}

/** An 11-byte DIR_Name: 8 base + 3 extension bytes, space padded (fatgen103 §6.1). */
export function shortNameBytes(base: string, ext: string): Uint8Array {
  const out = new Uint8Array(11).fill(0x20);
  for (let i = 0; i < base.length; i++) out[i] = base.charCodeAt(i);
  for (let i = 0; i < ext.length; i++) out[8 + i] = ext.charCodeAt(i);
  // fatgen103 §6.1: a first byte of 0xE5 is stored as 0x05 (cannot happen with ASCII-only names).
  if (out[0] === 0xe5) out[0] = 0x05;
  return out;
}

export interface ExactShort {
  name: Uint8Array;
  /** DIR_NTRes lower-case flags. */
  ntRes: number;
  /** The 8.3 key ("BASE.EXT") used for uniqueness within a directory. */
  key: string;
}

/** The short entry for a long name that is itself a valid 8.3 name (one case per part), else undefined. */
export function exactShortName(longName: string): ExactShort | undefined {
  if (longName.charCodeAt(0) === 0x2e) return undefined;
  const dot = longName.indexOf('.');
  if (dot !== longName.lastIndexOf('.')) return undefined;
  const baseEnd = dot < 0 ? longName.length : dot;
  const extLength = dot < 0 ? 0 : longName.length - dot - 1;
  if (baseEnd < 1 || baseEnd > 8 || extLength > 3 || (dot >= 0 && extLength === 0)) return undefined;
  // Every character (but the dot) printable ASCII and, upper-cased, valid in a short name.
  for (let i = 0; i < longName.length; i++) {
    if (i === dot) continue;
    const c = longName.charCodeAt(i);
    if (c > 0x7e || CHAR_CLASS[isAsciiLower(c) ? c - 0x20 : c] !== SHORT_OK) return undefined;
  }
  const cb = caseOf(longName, 0, baseEnd), ce = dot < 0 ? 'none' : caseOf(longName, dot + 1, longName.length);
  if (cb === 'mixed' || ce === 'mixed') return undefined;
  const B = longName.slice(0, baseEnd).toUpperCase(), E = dot < 0 ? '' : longName.slice(dot + 1).toUpperCase();
  return {
    name: shortNameBytes(B, E),
    ntRes: (cb === 'lower' ? NTRES_LOWER_BASE : 0) | (ce === 'lower' ? NTRES_LOWER_EXT : 0),
    key: E ? `${B}.${E}` : B,
  };
}

/**
 * The basis of a generated short name (fatgen103 §7, "The Basis-Name Generation Algorithm"):
 * upper-cased, spaces and leading dots removed, characters 8.3 forbids replaced by '_', base cut
 * at 8 and extension (after the last dot) at 3 characters.
 */
export function shortBasis(longName: string): { base: string; ext: string } {
  // Per code point of the upper-cased string: spaces and dots dropped, short-name characters kept,
  // anything else (every non-ASCII character, a surrogate pair counting as one) one '_'.
  const clean = (s: string): string => {
    const up = s.toUpperCase();
    let out = '';
    for (let i = 0; i < up.length; i++) {
      const c = up.charCodeAt(i);
      if (c === 0x20 || c === 0x2e) continue;
      if (c < 0x80 && CHAR_CLASS[c] === SHORT_OK) { out += up[i]; continue; }
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < up.length && (up.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
      out += '_';
    }
    return out;
  };
  const stripped = longName.replace(/^\.+/, '');
  const dot = stripped.lastIndexOf('.');
  const base = clean(dot < 0 ? stripped : stripped.slice(0, dot));
  const ext = dot < 0 ? '' : clean(stripped.slice(dot + 1));
  return { base: (base || '_').slice(0, 8), ext: ext.slice(0, 3) };
}

/**
 * Generates `BASE~N.EXT` names that never collide within one directory. `taken` holds every short
 * key in use (exact 8.3 names first, so generated ones avoid them). The search for N resumes where
 * the last name with the same basis stopped, so thousands of similar names stay linear.
 */
export class ShortNameGenerator {
  private readonly next = new Map<string, number>();
  constructor(private readonly taken: Set<string>) {}

  generate(longName: string): ExactShort {
    const { base, ext } = shortBasis(longName);
    const basisKey = `${base}.${ext}`;
    // fatgen103 §7: no numeric tail when the basis is the long name itself, up to case
    // ("Deep" -> DEEP, "Makefile.Am" -> MAKEFILE.AM), and free.
    const plain = ext ? `${base}.${ext}` : base;
    if (plain === longName.toUpperCase() && !this.taken.has(plain)) {
      this.taken.add(plain);
      return { name: shortNameBytes(base, ext), ntRes: 0, key: plain };
    }
    for (let n = this.next.get(basisKey) ?? 1; n <= 999999; n++) {
      const tail = `~${n}`;
      const b = base.slice(0, 8 - tail.length) + tail;
      const key = ext ? `${b}.${ext}` : b;
      if (this.taken.has(key)) continue;
      this.taken.add(key);
      this.next.set(basisKey, n + 1);
      return { name: shortNameBytes(b, ext), ntRes: 0, key };
    }
    throw new DiskwrightError('E_FAT_NAME', `too many names with the short-name basis ${basisKey} in one directory`, { value: longName });
  }
}

/** fatgen103 §7: the checksum of an 11-byte short name, stored in every long-name entry. */
export function shortNameChecksum(name: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = ((((sum & 1) << 7) | (sum >> 1)) + name[i]!) & 0xff;
  return sum;
}

/** Number of 32-byte long-name entries a long name needs. */
export function lfnEntryCount(longName: string): number {
  return Math.ceil(longName.length / UNITS_PER_LFN);
}

/**
 * Encode the long-name entries for `longName` into `buf` at `offset`, in on-disk order (the entry
 * with the highest ordinal, flagged LAST_LONG_ENTRY, first). The name is NUL-terminated when it does
 * not fill the last entry, then padded with 0xFFFF (fatgen103 §7). Returns the bytes written.
 */
export function encodeLfnEntries(longName: string, checksum: number, buf: Uint8Array, offset: number): number {
  const n = lfnEntryCount(longName);
  for (let k = 0; k < n; k++) {
    const ord = n - k; // physical entry k holds ordinal n - k
    const at = offset + k * 32;
    buf[at + LFN_ORD] = ord | (k === 0 ? LAST_LONG_ENTRY : 0);
    buf[at + LFN_ATTR] = ATTR_LONG_NAME;
    buf[at + LFN_TYPE] = 0;
    buf[at + LFN_CHKSUM] = checksum;
    buf[at + LFN_CLUS] = 0;
    buf[at + LFN_CLUS + 1] = 0;
    const first = (ord - 1) * UNITS_PER_LFN;
    for (let j = 0; j < UNITS_PER_LFN; j++) {
      const i = first + j;
      const u = i < longName.length ? longName.charCodeAt(i) : i === longName.length ? 0 : 0xffff;
      buf[at + LFN_UNIT_AT[j]!] = u & 0xff;
      buf[at + LFN_UNIT_AT[j]! + 1] = u >> 8;
    }
  }
  return n * 32;
}
