/**
 * One generic encoder/decoder for on-disk structures declared as field tables (STYLE.md: declare
 * each struct once with the spec's field names, explicit offsets and typed kinds). Byte order lives
 * in the kind; all access goes through DataView. 64-bit fields take numbers (checked to be safe
 * integers) or bigints; a value that does not fit its field is a RangeError, never truncated.
 */

export type FieldKind =
  | 'u8' | 'u16le' | 'u32le' | 'u64le' | 'u16be' | 'u32be' | 'u64be'
  /** ECMA-119 7.2.3 / 7.3.3: little-endian then big-endian copy of the same value. */
  | 'u16both' | 'u32both'
  | { bytes: number };

export interface Field {
  name: string;
  offset: number;
  kind: FieldKind;
}

export type FieldValue = number | bigint | Uint8Array;
export type StructValues = Record<string, FieldValue | undefined>;

export function kindSize(kind: FieldKind): number {
  if (typeof kind === 'object') return kind.bytes;
  switch (kind) {
    case 'u8': return 1;
    case 'u16le': case 'u16be': return 2;
    case 'u32le': case 'u32be': case 'u16both': return 4;
    case 'u64le': case 'u64be': case 'u32both': return 8;
  }
}

export interface Struct<N extends string = string> {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly Field[];
  /** Encode `values` into `buf` at `offset`; fields not given are left as they are (callers pass zeroed buffers). */
  encode(values: Partial<Record<N, FieldValue>>, buf: Uint8Array, offset?: number): void;
  /** Decode every field; integers up to 2^53 come back as numbers, byte fields as copies. */
  decode(buf: Uint8Array, offset?: number): Record<N, number | Uint8Array>;
  offsetOf(field: N): number;
}

function checkInt(structName: string, f: Field, v: number | bigint, bits: number): bigint {
  const b = typeof v === 'bigint' ? v : Number.isSafeInteger(v) ? BigInt(v) : NaN;
  if (typeof b !== 'bigint' || b < 0n || b >= 1n << BigInt(bits)) {
    throw new RangeError(`${structName}.${f.name}: value ${String(v)} does not fit in ${bits} bits`);
  }
  return b;
}

/**
 * Declare a structure. Field offsets and sizes are checked against `size` at declaration time.
 *
 * @example
 * const Hdr = defineStruct('hdr', 8, [{ name: 'magic', offset: 0x0, kind: 'u32le' }, { name: 'len', offset: 0x4, kind: 'u32le' }]);
 * Hdr.encode({ magic: 0x1234, len: 8 }, buf);
 */
export function defineStruct<N extends string>(name: string, size: number, fields: readonly (Field & { name: N })[]): Struct<N> {
  const byName = new Map<string, Field>();
  for (const f of fields) {
    if (f.offset + kindSize(f.kind) > size) throw new Error(`struct ${name}: field ${f.name} runs past size ${size}`);
    byName.set(f.name, f);
  }
  return {
    name, size, fields,
    offsetOf(field: N): number {
      const f = byName.get(field);
      if (!f) throw new Error(`struct ${name}: no field ${field}`);
      return f.offset;
    },
    encode(values, buf, offset = 0) {
      const dv = new DataView(buf.buffer, buf.byteOffset + offset, size);
      for (const f of fields) {
        const v = (values as Record<string, FieldValue | undefined>)[f.name];
        if (v === undefined) continue;
        writeField(name, dv, f, v);
      }
      for (const key of Object.keys(values)) {
        if (!byName.has(key)) throw new Error(`struct ${name}: no field ${key}`);
      }
    },
    decode(buf, offset = 0) {
      const dv = new DataView(buf.buffer, buf.byteOffset + offset, size);
      const out: Record<string, number | Uint8Array> = {};
      for (const f of fields) out[f.name] = readField(dv, f);
      return out as Record<N, number | Uint8Array>;
    },
  };
}

function writeField(structName: string, dv: DataView, f: Field, v: FieldValue): void {
  const o = f.offset;
  // Fast path for the common case, a small non-negative integer, without a BigInt round trip.
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
    switch (f.kind) {
      case 'u8': if (v < 0x100) { dv.setUint8(o, v); return; } break;
      case 'u16le': if (v < 0x10000) { dv.setUint16(o, v, true); return; } break;
      case 'u32le': if (v < 0x1_0000_0000) { dv.setUint32(o, v, true); return; } break;
      case 'u16be': if (v < 0x10000) { dv.setUint16(o, v, false); return; } break;
      case 'u32be': if (v < 0x1_0000_0000) { dv.setUint32(o, v, false); return; } break;
      default: break;
    }
  }
  if (typeof f.kind === 'object') {
    if (!(v instanceof Uint8Array)) throw new TypeError(`${structName}.${f.name}: expected bytes`);
    if (v.length > f.kind.bytes) throw new RangeError(`${structName}.${f.name}: ${v.length} bytes do not fit in ${f.kind.bytes}`);
    new Uint8Array(dv.buffer, dv.byteOffset + o, f.kind.bytes).set(v);
    return;
  }
  if (v instanceof Uint8Array) throw new TypeError(`${structName}.${f.name}: expected an integer`);
  switch (f.kind) {
    case 'u8': dv.setUint8(o, Number(checkInt(structName, f, v, 8))); break;
    case 'u16le': dv.setUint16(o, Number(checkInt(structName, f, v, 16)), true); break;
    case 'u16be': dv.setUint16(o, Number(checkInt(structName, f, v, 16)), false); break;
    case 'u32le': dv.setUint32(o, Number(checkInt(structName, f, v, 32)), true); break;
    case 'u32be': dv.setUint32(o, Number(checkInt(structName, f, v, 32)), false); break;
    case 'u64le': dv.setBigUint64(o, checkInt(structName, f, v, 64), true); break;
    case 'u64be': dv.setBigUint64(o, checkInt(structName, f, v, 64), false); break;
    case 'u16both': { const n = Number(checkInt(structName, f, v, 16)); dv.setUint16(o, n, true); dv.setUint16(o + 2, n, false); break; }
    case 'u32both': { const n = Number(checkInt(structName, f, v, 32)); dv.setUint32(o, n, true); dv.setUint32(o + 4, n, false); break; }
  }
}

function readField(dv: DataView, f: Field): number | Uint8Array {
  const o = f.offset;
  if (typeof f.kind === 'object') return new Uint8Array(dv.buffer.slice(dv.byteOffset + o, dv.byteOffset + o + f.kind.bytes));
  switch (f.kind) {
    case 'u8': return dv.getUint8(o);
    case 'u16le': return dv.getUint16(o, true);
    case 'u16be': return dv.getUint16(o, false);
    case 'u32le': return dv.getUint32(o, true);
    case 'u32be': return dv.getUint32(o, false);
    case 'u64le': return toNumber(dv.getBigUint64(o, true));
    case 'u64be': return toNumber(dv.getBigUint64(o, false));
    case 'u16both': return dv.getUint16(o, true);
    case 'u32both': return dv.getUint32(o, true);
  }
}

function toNumber(b: bigint): number {
  if (b > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`64-bit value ${b} exceeds 2^53`);
  return Number(b);
}
