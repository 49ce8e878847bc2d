import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Random access to an image's bytes (a raw file, or a container reader presenting the disk). */
export interface ImageSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

/** A raw image file. */
export function openRawImage(path: string): ImageSource {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
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
  return {
    size,
    read(o, l) { return src.read(offset + o, Math.max(0, Math.min(l, size - o))); },
    close() {},
  };
}
