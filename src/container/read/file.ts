import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DiskwrightError } from '../../errors.js';

/** Positional reads of an input image, with errors that name the file. */
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
  close(): void { closeSync(this.fd); }
}

export function corrupt(path: string, what: string): DiskwrightError {
  return new DiskwrightError('E_IMAGE_CORRUPT', `${path}: ${what}`, { value: path });
}
