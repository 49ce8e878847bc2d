/**
 * Reading the boot loaders' small host files (boot.img, core.img, GRUB's kernel and modules, a
 * variable store template) whole, at plan time, each checked against its limit before a buffer is
 * allocated (untrusted input: no allocation sized by an unchecked number).
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { DiskwrightError } from '../errors.js';

/** A host file's size, or E_SOURCE naming `path` (it may have gone since validation). */
export function fileSize(file: string, path: string): number {
  try {
    return statSync(file).size;
  } catch (e) {
    throw new DiskwrightError('E_SOURCE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path, value: file });
  }
}

/**
 * A boot loader's host file, read whole: one that is larger than `max` bytes is refused before any
 * buffer is allocated (E_BOOT_FILE naming `path`).
 *
 * @example
 * const bootImg = readSmallFile('/usr/lib/grub/i386-pc/boot.img', 512, 'bootloader.grub-bios.boot');
 */
export function readSmallFile(file: string, max: number, path: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new DiskwrightError('E_SOURCE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path, value: file });
  }
  try {
    const size = fstatSync(fd).size;
    if (size > max) throw new DiskwrightError('E_BOOT_FILE', `${file} has ${size} bytes; diskwright reads at most ${max} bytes of it`, { path, value: size });
    const buf = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, buf, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}
