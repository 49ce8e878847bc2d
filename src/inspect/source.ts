import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { VirtualDisk } from '../container/read/disk.js';
import { DiskwrightError } from '../errors.js';

/** Random access to an image's bytes (a raw file, or a container reader presenting the disk). */
export interface ImageSource {
  readonly size: number;
  /** Bytes `[offset, offset + length)` clipped to the source (shorter at its end). */
  read(offset: number, length: number): Uint8Array;
  close(): void;
  /** Container format and whole-file compression the disk was found in (virtual disks). */
  readonly format?: string;
  readonly compression?: string | undefined;
  /** Which ranges are holes (virtual disks): zero runs need not be read. */
  runs?(offset: number, length: number): readonly { kind: string; length: number }[];
}

/** The smallest file `inspect` and `diff` read: one 512-byte sector (an MBR, or a FAT boot sector). */
export const MIN_IMAGE_BYTES = 512;

/**
 * A raw image file. A file that cannot be opened, is not a regular file or is smaller than one
 * sector is a DiskwrightError naming it (one line from the CLI, exit 1).
 */
export function openRawImage(path: string): ImageSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new DiskwrightError('E_INPUT_READ', `cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { value: path });
  }
  const st = fstatSync(fd);
  const size = st.size;
  if (!st.isFile() || size < MIN_IMAGE_BYTES) {
    closeSync(fd);
    const what = st.isFile() ? `${size} bytes, smaller than one ${MIN_IMAGE_BYTES}-byte sector` : 'not a regular file';
    throw new DiskwrightError('E_NOT_AN_IMAGE', `${path} is not a disk image: ${what}`, { value: path });
  }
  return {
    size,
    read(offset, length) {
      const buf = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      let done = 0;
      while (done < buf.length) {
        const n = readSync(fd, buf, done, buf.length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      return buf;
    },
    close() { closeSync(fd); },
  };
}

/** A window of a source: one partition. */
export function subSource(src: ImageSource, offset: number, size: number): ImageSource {
  const runs = src.runs;
  return {
    size,
    read(o, l) { return o >= size ? new Uint8Array(0) : src.read(offset + o, Math.max(0, Math.min(l, size - o))); },
    ...(runs ? { runs: (o: number, l: number) => (o >= size ? [] : runs.call(src, offset + o, Math.max(0, Math.min(l, size - o)))) } : {}),
    close() {},
  };
}

/**
 * A virtual disk (container/read/open.ts `openDisk`: any container, any compression) as the source
 * `inspect`, `diff` and the file commands read; one smaller than a sector is E_NOT_AN_IMAGE, as a
 * raw file is.
 *
 * @example
 * const src = diskSource(await openDisk('disk.qcow2')); console.log(inspectImage(src)); src.close();
 */
export function diskSource(disk: VirtualDisk): ImageSource {
  if (disk.size < MIN_IMAGE_BYTES) {
    disk.close();
    const how = disk.format === 'raw' && disk.compression === undefined ? '' : ` (as ${[disk.compression, disk.format].filter(Boolean).join(' ')})`;
    throw new DiskwrightError('E_NOT_AN_IMAGE', `${disk.path} is not a disk image: ${disk.size} bytes${how}, smaller than one ${MIN_IMAGE_BYTES}-byte sector`, { value: disk.path });
  }
  return {
    size: disk.size, format: disk.format, compression: disk.compression,
    read: (offset, length) => disk.read(offset, length),
    runs: (offset, length) => disk.runs(offset, length),
    close: () => disk.close(),
  };
}
