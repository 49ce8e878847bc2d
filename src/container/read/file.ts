import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DiskwrightError } from '../../errors.js';
import { safeNumber, type DecodedValue, type Struct } from '../../util/struct.js';

/**
 * Positional reads of an input image, with errors that name the file. Readers decode with the
 * writers' struct declarations and check every count, offset and pointer against the file size
 * before they read or allocate by it (`within`, `number`; qemu's qcow2_validate_table is the model).
 */
export class InputFile {
  readonly fd: number;
  readonly size: number;
  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw new DiskwrightError('E_INPUT_READ', `cannot open ${path}: ${(e as Error).message}`, { value: path, cause: e });
    }
    this.size = fstatSync(this.fd).size;
  }
  /** Read exactly `length` bytes at `offset` (zeros past the end of the file). */
  read(offset: number, length: number, into?: Uint8Array): Uint8Array {
    const buf = into ?? new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, offset + done);
      if (n === 0) { buf.fill(0, done, length); break; }
      done += n;
    }
    return buf;
  }
  /** Decode `struct` at `offset` (bytes past the end of the file read as zeros). */
  decode<N extends string, L extends string>(struct: Struct<N, L>, offset: number): Record<N | L, DecodedValue> {
    return struct.decode(this.read(offset, struct.size));
  }
  /**
   * `[offset, offset + length)` of `structure` lies inside the file: its offset as a number, else
   * E_IMAGE_CORRUPT naming the structure and offset. Check before reading or allocating by a field.
   */
  within(structure: string, offset: number | bigint, length: number | bigint): number {
    const o = BigInt(offset), l = BigInt(length);
    if (o < 0n || l < 0n || o + l > BigInt(this.size)) {
      throw corruptAt(this.path, structure, offset, `its ${l} bytes run past the end of the ${this.size}-byte file`);
    }
    return Number(o);
  }
  close(): void { closeSync(this.fd); }
}

export function corrupt(path: string, what: string): DiskwrightError {
  return new DiskwrightError('E_IMAGE_CORRUPT', `${path}: ${what}`, { value: path });
}

/** E_IMAGE_CORRUPT naming the file, the structure and its byte offset in the file. */
export function corruptAt(path: string, structure: string, offset: number | bigint, what: string): DiskwrightError {
  return new DiskwrightError('E_IMAGE_CORRUPT', `${path}: ${structure} at offset ${offset}: ${what}`, { value: path });
}

/**
 * A decoded integer field that must be a number in `[min, max]` (defaults: 0 to 2^53), else
 * E_IMAGE_CORRUPT naming `structure.field` at `offset`.
 */
export function fieldNumber(file: InputFile, structure: string, offset: number, values: Record<string, DecodedValue>, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = values[field]!;
  const n = safeNumber(v);
  if (n === undefined || n < min || n > max) throw corruptAt(file.path, structure, offset, `${field} ${String(v)} is not between ${min} and ${max}`);
  return n;
}
