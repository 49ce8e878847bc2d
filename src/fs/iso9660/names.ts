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

/** The name's characters (code points); bytes that are not UTF-8 become U+FFFD, one per bad sequence. */
function chars(raw: Uint8Array): string[] {
  return [...decoder.decode(raw)];
}

/** A character as a d-character: ASCII letters raised (as C's toupper), digits and `_` kept, anything else `_`. */
function dChar(c: string): string {
  if (c.length !== 1) return '_';
  const code = c.charCodeAt(0);
  if (code >= 0x61 && code <= 0x7a) return String.fromCharCode(code - 0x20);
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f ? c : '_';
}

/** ECMA-119 level 2 file identifier (without version), as libisofs iso_2_fileid. */
export function isoFileId(raw: Uint8Array): string {
  const cs = chars(raw);
  let dot = -1;
  for (let i = cs.length - 1; i >= 0; i--) if (cs[i] === '.') { dot = i; break; }
  let name: string[], ext: string[];
  if (dot < 0 || dot === cs.length - 1) {
    name = cs.slice(0, 30);
    ext = [];
  } else {
    const fullName = cs.slice(0, dot);
    const fullExt = cs.slice(dot + 1);
    const long = cs.length > 31;
    const extLen = long && fullExt.length > 3 ? (fullName.length < 27 ? 30 - fullName.length : 3) : fullExt.length;
    ext = fullExt.slice(0, extLen);
    name = fullName.slice(0, long ? 30 - extLen : fullName.length);
  }
  return `${name.map(dChar).join('')}.${ext.map(dChar).join('')}`;
}

/** ECMA-119 level 2 directory identifier, as libisofs iso_2_dirid: 31 d-characters. */
export function isoDirId(raw: Uint8Array): string {
  const id = chars(raw).slice(0, 31).map(dChar).join('');
  return id === '' ? '_' : id;
}

/** The Joliet name's UCS-2 code units before uniqueness (files keep their extension within 64). */
export function jolietUnits(raw: Uint8Array, isDir: boolean): number[] {
  const units = chars(raw).map((c) => {
    const cp = c.codePointAt(0)!;
    if (cp > 0xffff || cp < 0x20 || (cp >= 0xd800 && cp <= 0xdfff) || '*/:;?\\'.includes(c)) return 0x5f;
    return cp;
  });
  if (units.length <= 64) return units;
  if (isDir) return units.slice(0, 64);
  const dot = units.lastIndexOf(0x2e);
  if (dot <= 0) return units.slice(0, 64);
  const name = units.slice(0, dot);
  const ext = units.slice(dot + 1);
  const extLen = ext.length > 3 ? (name.length < 61 ? 63 - name.length : 3) : ext.length;
  return [...name.slice(0, 63 - extLen), 0x2e, ...ext.slice(0, extLen)];
}

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

/** Joliet names as UCS-2 code units (64 at most; files keep their extension). */
export const jolietVariant: NameVariant<number[]> = {
  key: (n) => String.fromCharCode(...n),
  withNumber(n, digits) {
    const d = [...digits].map((c) => c.charCodeAt(0));
    const dot = n.lastIndexOf(0x2e);
    if (dot <= 0) return [...n.slice(0, Math.max(0, 64 - d.length)), ...d];
    const name = n.slice(0, dot);
    let ext = n.slice(dot + 1);
    if (ext.length + d.length > 63) ext = ext.slice(0, 63 - d.length);
    return [...name.slice(0, Math.max(0, 63 - ext.length - d.length)), ...d, 0x2e, ...ext];
  },
};

/**
 * Make `wanted` unique within one directory: a name is kept by the entry whose raw name it is
 * unchanged (`exact`), else by its first holder in the given order (the directory's byte order of
 * raw names); each other one gets the smallest number that makes a name no other entry wants or has.
 */
export function uniqueNames<T>(wanted: readonly T[], variant: NameVariant<T>, exact?: readonly boolean[]): T[] {
  const taken = new Set<string>();
  for (const w of wanted) taken.add(variant.key(w));
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
  const [an, ae] = splitId(a);
  const [bn, be] = splitId(b);
  return an < bn ? -1 : an > bn ? 1 : ae < be ? -1 : ae > be ? 1 : 0;
}

function splitId(id: string): [string, string] {
  const dot = id.indexOf('.');
  return dot < 0 ? [id, ''] : [id.slice(0, dot), id.slice(dot + 1)];
}

/** Joliet records in UCS-2 code-unit order (as libisofs sorts them). */
export function compareUnits(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** UCS-2 big-endian bytes of code units. */
export function ucs2(units: readonly number[]): Buffer {
  const out = Buffer.alloc(units.length * 2);
  for (let i = 0; i < units.length; i++) out.writeUInt16BE(units[i]!, i * 2);
  return out;
}

/** A text (volume id, ids) as UCS-2 big-endian, characters outside UCS-2 as `_`. */
export function ucs2Text(s: string): Buffer {
  return ucs2([...s].map((c) => { const cp = c.codePointAt(0)!; return cp > 0xffff ? 0x5f : cp; }));
}
