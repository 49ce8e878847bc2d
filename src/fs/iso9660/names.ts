/**
 * Names in the two plain trees, derived deterministically from the raw names (Rock Ridge keeps
 * the raw names themselves, in NM entries):
 * - ECMA-119 identifiers as xorriso writes them by default (libisofs `iso_2_fileid`/`iso_2_dirid`):
 *   d-characters only (7.4.1: A-Z 0-9 _; lower case is raised, every other character becomes `_`),
 *   files `NAME.EXT` with at most 30 characters besides the dot (the extension kept, at least 3 of
 *   it), a dot added when there is no extension, directories at most 31 characters; the version
 *   `;1` is added by the record writer.
 * - Joliet (Joliet specification 1995, 3.2 and 3.3): UCS-2 big-endian, at most 64 characters
 *   (the extension kept), `* / : ; ? \` and control characters replaced by `_`, characters
 *   outside UCS-2 replaced by `_`.
 * Names that end up equal in one directory are told apart by a number replacing their last
 * characters (`NAME1.TXT`, `NAME2.TXT`), given in the directory's byte order of the raw names, so
 * the result does not depend on anything but the tree.
 *
 * @example
 * isoFileId(Buffer.from('vmlinuz-6.1.0.tar.gz')); // 'VMLINUZ_6_1_0_TAR.GZ'
 * uniqueNames(['A.TXT', 'A.TXT'], isoVariant);     // ['A.TXT', 'A1.TXT']
 */

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * A name as text: its bytes decoded as UTF-8, bad sequences as U+FFFD (one per bad sequence). Most
 * names are ASCII, whose bytes are their characters.
 */
export function nameText(raw: Uint8Array): string {
  for (let i = 0; i < raw.length; i++) if (raw[i]! >= 0x80) return decoder.decode(raw);
  return Buffer.isBuffer(raw) ? raw.toString('latin1') : Buffer.from(raw).toString('latin1');
}

/**
 * A text's characters (code points): the text itself when each of its code units is one (no
 * surrogate pair), else an array. Both forms index, slice and measure alike.
 */
type Chars = string | string[];
const SURROGATE = /[\ud800-\udfff]/;
const charsOf = (text: string): Chars => (SURROGATE.test(text) ? [...text] : text);

/** Anything but an ASCII letter, digit or `_`: not a d-character once letters are raised. */
const NOT_D = /[^A-Za-z0-9_]/g;

/**
 * Characters `[from, to)` as d-characters: ASCII letters raised (as C's toupper), digits and `_`
 * kept, anything else `_` (a character outside the BMP, two code units in a string, is one `_`).
 */
function dChars(cs: Chars, from: number, to: number): string {
  if (typeof cs === 'string') return cs.slice(from, to).replace(NOT_D, '_').toUpperCase();
  let out = '';
  for (let i = from; i < to; i++) out += cs[i]!.length === 1 ? cs[i]!.replace(NOT_D, '_').toUpperCase() : '_';
  return out;
}

/** ECMA-119 level 2 file identifier (without version), as libisofs iso_2_fileid. */
export function isoFileId(raw: Uint8Array): string {
  return isoFileIdOf(nameText(raw));
}

/** isoFileId of a name's text (see nameText). */
export function isoFileIdOf(text: string): string {
  const cs = charsOf(text);
  const dot = cs.lastIndexOf('.');
  if (dot < 0 || dot === cs.length - 1) return `${dChars(cs, 0, Math.min(30, cs.length))}.`;
  const nameLen = dot;
  const fullExtLen = cs.length - dot - 1;
  const long = cs.length > 31;
  const extLen = long && fullExtLen > 3 ? (nameLen < 27 ? 30 - nameLen : 3) : fullExtLen;
  return `${dChars(cs, 0, long ? Math.min(nameLen, 30 - extLen) : nameLen)}.${dChars(cs, dot + 1, dot + 1 + Math.min(extLen, fullExtLen))}`;
}

/** ECMA-119 level 2 directory identifier, as libisofs iso_2_dirid: 31 d-characters. */
export function isoDirId(raw: Uint8Array): string {
  return isoDirIdOf(nameText(raw));
}

/** isoDirId of a name's text (see nameText). */
export function isoDirIdOf(text: string): string {
  const cs = charsOf(text);
  const id = dChars(cs, 0, Math.min(31, cs.length));
  return id === '' ? '_' : id;
}

/**
 * Characters Joliet cannot hold: controls, `* / : ; ? \` and characters outside UCS-2 (a surrogate
 * pair is one character; the decoder never leaves a lone surrogate).
 */
const NOT_JOLIET = /[\ud800-\udbff][\udc00-\udfff]|[\x00-\x1f*/:;?\\]/g;

/**
 * The Joliet name before uniqueness (files keep their extension within 64), as a string of UCS-2
 * code units: JavaScript compares such strings in code-unit order, the order Joliet records take.
 */
export function jolietName(raw: Uint8Array, isDir: boolean): string {
  return jolietNameOf(nameText(raw), isDir);
}

/** jolietName of a name's text (see nameText); the text itself when Joliet holds it as it is. */
export function jolietNameOf(text: string, isDir: boolean): string {
  const units = text.replace(NOT_JOLIET, '_');
  if (units.length <= 64) return units;
  if (isDir) return units.slice(0, 64);
  const dot = units.lastIndexOf('.');
  if (dot <= 0) return units.slice(0, 64);
  const name = units.slice(0, dot);
  const ext = units.slice(dot + 1);
  const extLen = ext.length > 3 ? (name.length < 61 ? 63 - name.length : 3) : ext.length;
  return `${name.slice(0, 63 - extLen)}.${ext.slice(0, extLen)}`;
}

/** The Joliet name's UCS-2 code units before uniqueness (jolietName as numbers). */
export function jolietUnits(raw: Uint8Array, isDir: boolean): number[] {
  return toUnits(jolietName(raw, isDir));
}

const toUnits = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/** How a name of one tree is split and shortened to make room for a number. */
export interface NameVariant<T> {
  key(name: T): string;
  /** `name` with `digits` replacing its last characters before the extension, within its length limit. */
  withNumber(name: T, digits: string): T;
}

/** ECMA-119 identifiers: `NAME.EXT` (files, 30 characters besides the dot) or `NAME` (directories, 31). */
export const isoVariant: NameVariant<string> = {
  key: (n) => n,
  withNumber(n, digits) {
    const dot = n.indexOf('.');
    if (dot < 0) return n.slice(0, Math.max(0, 31 - digits.length)) + digits;
    let name = n.slice(0, dot);
    let ext = n.slice(dot + 1);
    const room = 30 - ext.length - digits.length;
    if (room < 0) ext = ext.slice(0, ext.length + room);
    name = name.slice(0, Math.max(0, Math.min(name.length, 30 - ext.length - digits.length)));
    return `${name}${digits}.${ext}`;
  },
};

/** Joliet names as strings of UCS-2 code units (64 at most; files keep their extension). */
export const jolietNameVariant: NameVariant<string> = {
  key: (n) => n,
  withNumber(n, digits) {
    const dot = n.lastIndexOf('.');
    if (dot <= 0) return n.slice(0, Math.max(0, 64 - digits.length)) + digits;
    const name = n.slice(0, dot);
    let ext = n.slice(dot + 1);
    if (ext.length + digits.length > 63) ext = ext.slice(0, 63 - digits.length);
    return `${name.slice(0, Math.max(0, 63 - ext.length - digits.length))}${digits}.${ext}`;
  },
};

/** Joliet names as UCS-2 code units (jolietNameVariant on numbers). */
export const jolietVariant: NameVariant<number[]> = {
  key: (n) => String.fromCharCode(...n),
  withNumber: (n, digits) => toUnits(jolietNameVariant.withNumber(String.fromCharCode(...n), digits)),
};

/**
 * Make `wanted` unique within one directory: a name is kept by the entry whose raw name it is
 * unchanged (`exact`), else by its first holder in the given order (the directory's byte order of
 * raw names); each other one gets the smallest number that makes a name no other entry wants or has.
 */
export function uniqueNames<T>(wanted: readonly T[], variant: NameVariant<T>, exact?: readonly boolean[]): T[] {
  const taken = new Set<string>();
  for (const w of wanted) taken.add(variant.key(w));
  // No two alike (nearly every directory): every name is kept.
  if (taken.size === wanted.length) return wanted.slice();
  const seen = new Set<string>();
  if (exact) wanted.forEach((w, i) => { if (exact[i]) seen.add(variant.key(w)); });
  // The next number to try per wanted name: a group of n equal names costs O(n), not O(n^2).
  const next = new Map<string, number>();
  return wanted.map((w, i) => {
    const k = variant.key(w);
    if (exact?.[i]) return w;
    if (!seen.has(k)) { seen.add(k); return w; }
    for (let i = next.get(k) ?? 1; ; i++) {
      const candidate = variant.withNumber(w, String(i));
      const ck = variant.key(candidate);
      if (!taken.has(ck)) {
        taken.add(ck);
        seen.add(ck);
        next.set(k, i + 1);
        return candidate;
      }
    }
  });
}

/**
 * ECMA-119 9.3 order of directory records: by file name, then extension, each compared as if the
 * shorter were padded with spaces (every d-character sorts after a space, so a plain comparison
 * with the shorter prefix first is the same), then by version (all ours are 1).
 */
export function compareIsoIds(a: string, b: string): number {
  const ad = a.indexOf('.'), bd = b.indexOf('.');
  const an = ad < 0 ? a.length : ad, bn = bd < 0 ? b.length : bd;
  const byName = compareRange(a, 0, an, b, 0, bn);
  return byName !== 0 ? byName : compareRange(a, ad < 0 ? a.length : ad + 1, a.length, b, bd < 0 ? b.length : bd + 1, b.length);
}

/** Code-unit order of `a[af, at)` and `b[bf, bt)`, a prefix first. */
function compareRange(a: string, af: number, at: number, b: string, bf: number, bt: number): number {
  const n = Math.min(at - af, bt - bf);
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(af + i) - b.charCodeAt(bf + i);
    if (d !== 0) return d;
  }
  return (at - af) - (bt - bf);
}

/** UCS-2 big-endian bytes of code units. */
export function ucs2(units: readonly number[]): Buffer {
  const out = Buffer.alloc(units.length * 2);
  for (let i = 0; i < units.length; i++) out.writeUInt16BE(units[i]!, i * 2);
  return out;
}

/** UCS-2 big-endian bytes of a string of UCS-2 code units (a Joliet name). */
export function ucs2Name(units: string): Buffer {
  return Buffer.from(units, 'utf16le').swap16();
}

/** A text (volume id, ids) as UCS-2 big-endian, characters outside UCS-2 as `_`. */
export function ucs2Text(s: string): Buffer {
  return ucs2([...s].map((c) => { const cp = c.codePointAt(0)!; return cp > 0xffff ? 0x5f : cp; }));
}
