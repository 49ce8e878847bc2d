import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DiskwrightError } from '../../errors.js';
import { safeNumber, type DecodedValue, type Struct } from '../../util/struct.js';

/**
 * Where an input's bytes come from when they are not a file's own: a decoded stream (zstd frames
 * decoded on demand, read/zstd.ts). `pread` returns the bytes it put at `buf[offset..]`, 0 at the end.
 */
export interface ByteSource {
  readonly size: number;
  /** A file on disk holding exactly these bytes, if there is one (a decoded scratch copy). */
  readonly file?: string;
  pread(buf: Uint8Array, offset: number, length: number, position: number): number;
  close(): void;
}

/** The bytes of the file `path` as a ByteSource (a scratch copy read under the input's name). */
export function fileSource(path: string): ByteSource {
  const fd = openSync(path, 'r');
  return {
    size: fstatSync(fd).size, file: path,
    pread: (buf, offset, length, position) => readSync(fd, buf, offset, length, position),
    close: () => closeSync(fd),
  };
}

/**
 * Positional reads of an input image, with errors that name the file. Readers decode with the
 * writers' struct declarations and check every count, offset and pointer against the file size
 * before they read or allocate by it (`within`, `number`; qemu's qcow2_validate_table is the model).
 * The bytes are the file's own, or those of a decoded `source` (errors still name `path`).
 */
export class InputFile {
  private readonly fd: number | undefined;
  readonly size: number;
  /** The file on disk holding exactly these bytes (`path`, or a decoded copy), if any. */
  readonly plainPath: string | undefined;
  constructor(readonly path: string, private readonly source?: ByteSource) {
    this.plainPath = source ? source.file : path;
    if (source) {
      this.size = source.size;
      return;
    }
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw new DiskwrightError('E_INPUT_READ', `cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { value: path, cause: e });
    }
    const st = fstatSync(this.fd);
    if (!st.isFile() && !st.isBlockDevice()) {
      closeSync(this.fd);
      throw new DiskwrightError('E_NOT_AN_IMAGE', `${path} is not a disk image: not a regular file`, { value: path });
    }
    this.size = st.size;
  }
  /** Read exactly `length` bytes at `offset` (zeros past the end of the file). */
  read(offset: number, length: number, into?: Uint8Array): Uint8Array {
    const buf = into ?? new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = this.source ? this.source.pread(buf, done, length - done, offset + done) : readSync(this.fd!, buf, done, length - done, offset + done);
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
    // A structure placed relative to the end (a footer) of a file too short to hold it.
    if (o < 0n) throw corruptAt(this.path, structure, 0, `the ${this.size}-byte file is too short to hold it (${-o} bytes missing)`);
    if (l < 0n || o + l > BigInt(this.size)) {
      throw corruptAt(this.path, structure, offset, `its ${l} bytes run past the end of the ${this.size}-byte file`);
    }
    return Number(o);
  }
  close(): void {
    if (this.source) this.source.close();
    else closeSync(this.fd!);
  }
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
