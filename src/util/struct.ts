/**
 * One generic encoder/decoder for on-disk structures declared as field tables (docs/ARCHITECTURE.md §7: declare
 * each struct once with the spec's field names, explicit offsets and typed kinds). Byte order lives
 * in the kind; all access goes through DataView. 64-bit fields take numbers (checked to be safe
 * integers) or bigints; a value that does not fit its field is a RangeError, never truncated.
 *
 * Two shapes the C headers use besides plain fields are declared here too, so that no caller splits
 * or indexes by hand:
 * - arrays (`__le32 i_block[15]`): a field of kind `{ array: 'u32le', count: 15 }`;
 * - values stored in two fields (ext4's `s_blocks_count_lo` at 0x4 and `s_blocks_count_hi` at
 *   0x150): a split, declared once as `{ s_blocks_count: ['s_blocks_count_lo', 's_blocks_count_hi'] }`,
 *   encoded and decoded as the one logical value.
 */

/** One integer in a fixed byte order. */
export type ScalarKind =
  | 'u8' | 'u16le' | 'u32le' | 'u64le' | 'u16be' | 'u32be' | 'u64be'
  /** ECMA-119 7.2.3 / 7.3.3: little-endian then big-endian copy of the same value. */
  | 'u16both' | 'u32both';

export type FieldKind =
  | ScalarKind
  /** Opaque bytes (a UUID, a label). */
  | { bytes: number }
  /** A C array of `count` integers back to back (`__le32 i_block[EXT4_N_BLOCKS]`). */
  | { array: ScalarKind; count: number };

export interface Field {
  name: string;
  offset: number;
  kind: FieldKind;
}

/**
 * What encode takes: integers for scalar and split fields; bytes for byte fields; for arrays, a list
 * of integers (elements past its end are left as they are) or raw bytes (a C union such as ext4's
 * i_block, which holds block numbers, an extent tree or a symlink's text).
 */
export type FieldValue = number | bigint | Uint8Array | ArrayLike<number | bigint>;
/** What decode returns: integers as numbers (64-bit fields and splits above 2^53 as bigints), bytes as copies, arrays as lists. */
export type DecodedValue = number | bigint | Uint8Array | number[];
export type StructValues = Record<string, FieldValue | undefined>;

export function kindSize(kind: FieldKind): number {
  if (typeof kind === 'object') return 'bytes' in kind ? kind.bytes : scalarSize(kind.array) * kind.count;
  return scalarSize(kind);
}

function scalarSize(kind: ScalarKind): number {
  switch (kind) {
    case 'u8': return 1;
    case 'u16le': case 'u16be': return 2;
    case 'u32le': case 'u32be': case 'u16both': return 4;
    case 'u64le': case 'u64be': case 'u32both': return 8;
  }
}

/** Bits of value a scalar holds (a both-endian field stores its value twice). */
function scalarBits(kind: ScalarKind): number {
  switch (kind) {
    case 'u8': return 8;
    case 'u16le': case 'u16be': case 'u16both': return 16;
    case 'u32le': case 'u32be': case 'u32both': return 32;
    case 'u64le': case 'u64be': return 64;
  }
}

/**
 * A value kept in two fields of a struct: its low `loBits` in `lo`, the rest in `hi`. `write` and
 * `read` are the per-value fast path (no BigInt for values up to 2^53) for hot loops that address
 * fields directly instead of calling `encode`.
 */
export class SplitField {
  /** Bits the two fields hold together; larger values are a RangeError. */
  readonly bits: number;
  private readonly loKind: ScalarKind;
  private readonly hiKind: ScalarKind;
  private readonly loOffset: number;
  private readonly hiOffset: number;
  private readonly loBits: number;
  private readonly loMod: number;
  private readonly maxNumber: number;

  constructor(readonly structName: string, readonly name: string, readonly lo: Field, readonly hi: Field) {
    this.loKind = lo.kind as ScalarKind;
    this.hiKind = hi.kind as ScalarKind;
    this.loOffset = lo.offset;
    this.hiOffset = hi.offset;
    this.loBits = scalarBits(this.loKind);
    this.bits = this.loBits + scalarBits(this.hiKind);
    this.loMod = 2 ** this.loBits;
    this.maxNumber = Math.min(2 ** this.bits - 1, Number.MAX_SAFE_INTEGER);
  }

  /** Write `v` into the struct that starts at `dv[at]`. */
  write(dv: DataView, at: number, v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v <= this.maxNumber && Number.isInteger(v)) {
      const lo = v % this.loMod;
      putNumber(dv, at + this.loOffset, this.loKind, lo);
      putNumber(dv, at + this.hiOffset, this.hiKind, (v - lo) / this.loMod);
      return;
    }
    const b = checkInt(this.structName, this.name, v, this.bits);
    putBig(dv, at + this.loOffset, this.loKind, b & ((1n << BigInt(this.loBits)) - 1n));
    putBig(dv, at + this.hiOffset, this.hiKind, b >> BigInt(this.loBits));
  }

  /** The value of the struct at `dv[at]`: a number up to 2^53, else a bigint. */
  read(dv: DataView, at: number): number | bigint {
    const lo = readScalar(dv, at + this.loOffset, this.loKind);
    const hi = readScalar(dv, at + this.hiOffset, this.hiKind);
    if (typeof lo === 'number' && typeof hi === 'number') {
      const v = hi * this.loMod + lo;
      if (v <= Number.MAX_SAFE_INTEGER) return v;
    }
    return (BigInt(hi) << BigInt(this.loBits)) | BigInt(lo);
  }
}

export interface Struct<N extends string = string, L extends string = never> {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly Field[];
  readonly splits: readonly SplitField[];
  /**
   * Encode `values` into `buf` at `offset`; fields not given are left as they are (callers pass
   * zeroed buffers). A split's logical name takes the whole value; giving it and one of its parts
   * is an error.
   */
  encode(values: Partial<Record<N | L, FieldValue>>, buf: Uint8Array, offset?: number): void;
  /**
   * Decode every field and split; integers up to 2^53 come back as numbers, larger ones (a 64-bit
   * field or a split) as bigints, byte fields as copies. Reading never throws on a value.
   */
  decode(buf: Uint8Array, offset?: number): Record<N | L, DecodedValue>;
  /** Decode one field or split. */
  decodeField(buf: Uint8Array, field: N | L, offset?: number): DecodedValue;
  offsetOf(field: N): number;
  /** Bytes field `field` occupies. */
  sizeOf(field: N): number;
  /** The declared split `name`, for hot paths that write it directly. */
  split(name: L): SplitField;
}

function checkInt(structName: string, fieldName: string, v: number | bigint, bits: number): bigint {
  const b = typeof v === 'bigint' ? v : Number.isSafeInteger(v) ? BigInt(v) : NaN;
  if (typeof b !== 'bigint' || b < 0n || b >= 1n << BigInt(bits)) {
    throw new RangeError(`${structName}.${fieldName}: value ${String(v)} does not fit in ${bits} bits`);
  }
  return b;
}

/**
 * Declare a structure. Field offsets and sizes are checked against `size` at declaration time, and
 * each split against its fields: both parts exist and are integers, at most 64 bits together, and
 * the logical name is new or the name of its low part (as ext2_fs.h names `i_uid` and its
 * `l_i_uid_high`; that name then always means the whole value).
 *
 * @example
 * const Hdr = defineStruct('hdr', 16, [
 *   { name: 'magic', offset: 0x0, kind: 'u32le' },
 *   { name: 'count_lo', offset: 0x4, kind: 'u32le' },
 *   { name: 'list', offset: 0x8, kind: { array: 'u16le', count: 2 } },
 *   { name: 'count_hi', offset: 0xc, kind: 'u32le' },
 * ], { count: ['count_lo', 'count_hi'] });
 * Hdr.encode({ magic: 0x1234, count: 2 ** 40, list: [1, 2] }, buf);
 */
export function defineStruct<N extends string, L extends string = never>(
  name: string, size: number, fields: readonly (Field & { name: N })[], splitDecls?: { readonly [K in L]: readonly [lo: NoInfer<N>, hi: NoInfer<N>] },
): Struct<N, L> {
  const byName = new Map<string, Field>();
  for (const f of fields) {
    if (f.offset + kindSize(f.kind) > size) throw new Error(`struct ${name}: field ${f.name} runs past size ${size}`);
    if (byName.has(f.name)) throw new Error(`struct ${name}: field ${f.name} declared twice`);
    byName.set(f.name, f);
  }
  const splits: SplitField[] = [];
  const bySplit = new Map<string, SplitField>();
  const shadowed = new Set<string>();
  const inSplit = new Set<string>();
  for (const [logical, parts] of Object.entries(splitDecls ?? {}) as [string, readonly [N, N]][]) {
    const [lo, hi] = parts.map((p) => {
      const f = byName.get(p);
      if (!f) throw new Error(`struct ${name}: split ${logical} names no field ${p}`);
      if (typeof f.kind === 'object') throw new Error(`struct ${name}: split ${logical} part ${p} is not an integer field`);
      if (inSplit.has(p)) throw new Error(`struct ${name}: field ${p} is part of two splits`);
      inSplit.add(p);
      return f;
    }) as [Field, Field];
    if (byName.has(logical)) {
      if (logical !== lo.name) throw new Error(`struct ${name}: split ${logical} reuses the name of a field that is not its low part`);
      shadowed.add(logical);
    }
    const sf = new SplitField(name, logical, lo, hi);
    if (sf.bits > 64) throw new Error(`struct ${name}: split ${logical} holds ${sf.bits} bits, more than 64`);
    splits.push(sf);
    bySplit.set(logical, sf);
  }
  const plain = fields.filter((f) => !shadowed.has(f.name));

  return {
    name, size, fields, splits,
    offsetOf(field: N): number {
      const f = byName.get(field);
      if (!f) throw new Error(`struct ${name}: no field ${field}`);
      return f.offset;
    },
    sizeOf(field: N): number {
      const f = byName.get(field);
      if (!f) throw new Error(`struct ${name}: no field ${field}`);
      return kindSize(f.kind);
    },
    split(logical: L): SplitField {
      const sf = bySplit.get(logical);
      if (!sf) throw new Error(`struct ${name}: no split ${logical}`);
      return sf;
    },
    encode(values, buf, offset = 0) {
      const dv = new DataView(buf.buffer, buf.byteOffset + offset, size);
      const vals = values as Record<string, FieldValue | undefined>;
      for (const sf of splits) {
        const v = vals[sf.name];
        if (v === undefined) continue;
        if ((!shadowed.has(sf.name) && vals[sf.lo.name] !== undefined) || vals[sf.hi.name] !== undefined) {
          throw new Error(`struct ${name}: ${sf.name} given together with its part ${vals[sf.hi.name] !== undefined ? sf.hi.name : sf.lo.name}`);
        }
        if (typeof v !== 'number' && typeof v !== 'bigint') throw new TypeError(`${name}.${sf.name}: expected an integer`);
        sf.write(dv, 0, v);
      }
      for (const f of plain) {
        const v = vals[f.name];
        if (v === undefined) continue;
        writeField(name, dv, f, v);
      }
      for (const key of Object.keys(values)) {
        if (!byName.has(key) && !bySplit.has(key)) throw new Error(`struct ${name}: no field ${key}`);
      }
    },
    decode(buf, offset = 0) {
      const dv = new DataView(buf.buffer, buf.byteOffset + offset, size);
      const out: Record<string, DecodedValue> = {};
      for (const f of plain) out[f.name] = readField(dv, f);
      for (const sf of splits) out[sf.name] = sf.read(dv, 0);
      return out as Record<N | L, DecodedValue>;
    },
    decodeField(buf, field, offset = 0) {
      const dv = new DataView(buf.buffer, buf.byteOffset + offset, size);
      const sf = bySplit.get(field);
      if (sf) return sf.read(dv, 0);
      const f = byName.get(field);
      if (!f) throw new Error(`struct ${name}: no field ${field}`);
      return readField(dv, f);
    },
  };
}

function writeField(structName: string, dv: DataView, f: Field, v: FieldValue): void {
  const k = f.kind;
  if (typeof k !== 'object') {
    if (typeof v !== 'number' && typeof v !== 'bigint') throw new TypeError(`${structName}.${f.name}: expected an integer`);
    writeScalar(structName, f.name, dv, f.offset, k, v);
    return;
  }
  const bytes = kindSize(k);
  if ('bytes' in k || v instanceof Uint8Array) {
    if (!(v instanceof Uint8Array)) throw new TypeError(`${structName}.${f.name}: expected bytes`);
    if (v.length > bytes) throw new RangeError(`${structName}.${f.name}: ${v.length} bytes do not fit in ${bytes}`);
    new Uint8Array(dv.buffer, dv.byteOffset + f.offset, bytes).set(v);
    return;
  }
  if (typeof v !== 'object') throw new TypeError(`${structName}.${f.name}: expected a list of integers`);
  if (v.length > k.count) throw new RangeError(`${structName}.${f.name}: ${v.length} elements do not fit in ${k.count}`);
  const step = scalarSize(k.array);
  for (let i = 0; i < v.length; i++) writeScalar(structName, `${f.name}[${i}]`, dv, f.offset + i * step, k.array, v[i]!);
}

function writeScalar(structName: string, fieldName: string, dv: DataView, o: number, kind: ScalarKind, v: number | bigint): void {
  // Fast path for the common case, a small non-negative integer, without a BigInt round trip.
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
    switch (kind) {
      case 'u8': if (v < 0x100) { dv.setUint8(o, v); return; } break;
      case 'u16le': if (v < 0x10000) { dv.setUint16(o, v, true); return; } break;
      case 'u32le': if (v < 0x1_0000_0000) { dv.setUint32(o, v, true); return; } break;
      case 'u16be': if (v < 0x10000) { dv.setUint16(o, v, false); return; } break;
      case 'u32be': if (v < 0x1_0000_0000) { dv.setUint32(o, v, false); return; } break;
      default: break;
    }
  }
  putBig(dv, o, kind, checkInt(structName, fieldName, v, scalarBits(kind)));
}

/** Write a value already known to fit `kind` (the split fast path). */
function putNumber(dv: DataView, o: number, kind: ScalarKind, n: number): void {
  switch (kind) {
    case 'u8': dv.setUint8(o, n); break;
    case 'u16le': dv.setUint16(o, n, true); break;
    case 'u16be': dv.setUint16(o, n, false); break;
    case 'u32le': dv.setUint32(o, n, true); break;
    case 'u32be': dv.setUint32(o, n, false); break;
    case 'u64le': dv.setBigUint64(o, BigInt(n), true); break;
    case 'u64be': dv.setBigUint64(o, BigInt(n), false); break;
    case 'u16both': dv.setUint16(o, n, true); dv.setUint16(o + 2, n, false); break;
    case 'u32both': dv.setUint32(o, n, true); dv.setUint32(o + 4, n, false); break;
  }
}

/** Write a checked bigint that fits `kind`. */
function putBig(dv: DataView, o: number, kind: ScalarKind, b: bigint): void {
  if (kind === 'u64le' || kind === 'u64be') dv.setBigUint64(o, b, kind === 'u64le');
  else putNumber(dv, o, kind, Number(b));
}

function readField(dv: DataView, f: Field): DecodedValue {
  const k = f.kind;
  if (typeof k !== 'object') {
    const v = readScalar(dv, f.offset, k);
    return typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  if ('bytes' in k) return new Uint8Array(dv.buffer.slice(dv.byteOffset + f.offset, dv.byteOffset + f.offset + k.bytes));
  const out: number[] = [];
  const step = scalarSize(k.array);
  for (let i = 0; i < k.count; i++) out.push(toNumber(readScalar(dv, f.offset + i * step, k.array)));
  return out;
}

function readScalar(dv: DataView, o: number, kind: ScalarKind): number | bigint {
  switch (kind) {
    case 'u8': return dv.getUint8(o);
    case 'u16le': return dv.getUint16(o, true);
    case 'u16be': return dv.getUint16(o, false);
    case 'u32le': return dv.getUint32(o, true);
    case 'u32be': return dv.getUint32(o, false);
    case 'u64le': return dv.getBigUint64(o, true);
    case 'u64be': return dv.getBigUint64(o, false);
    case 'u16both': return dv.getUint16(o, true);
    case 'u32both': return dv.getUint32(o, true);
  }
}

function toNumber(v: number | bigint): number {
  if (typeof v === 'number') return v;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`64-bit value ${v} exceeds 2^53`);
  return Number(v);
}

/**
 * A decoded integer as a number when it is at most 2^53, else undefined (a 64-bit field read from
 * an untrusted image: callers name the field in their error).
 *
 * @example
 * const size = safeNumber(Qcow2Header.decode(buf).size) ?? fail('virtual size past 2^53');
 */
export function safeNumber(v: DecodedValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  throw new TypeError('safeNumber: not an integer field');
}

/**
 * A decoded integer as a bigint, whichever way decode returned it.
 *
 * @example
 * const attrs = bigIntOf(GptEntry.decode(buf).Attributes); // bit 60 is above 2^53
 */
export function bigIntOf(v: DecodedValue): bigint {
  if (typeof v === 'number' || typeof v === 'bigint') return BigInt(v);
  throw new TypeError('bigIntOf: not an integer field');
}
