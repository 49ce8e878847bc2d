/**
 * Where a host file holds data, from the file system itself (lseek(2) SEEK_DATA/SEEK_HOLE), so that
 * its holes are never read: a sparse input file at plan time (ext4's data ranges) and a sparse raw
 * image (`convert`, `filesystem: image`). Node has no binding for these whence values; they come
 * from fs-ext-extra-prebuilt, whose binaries ship inside its npm package, loaded on first use.
 * Where it cannot load (or the file system refuses), callers read every byte as before: the answer
 * is an optimisation, never a difference in output.
 *
 * @example
 * const regions = dataRegions('disk.raw', size) ?? [{ start: 0, end: size }];
 */
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';

/** lseek(2) whence values of Linux (and FreeBSD, Solaris): the next data at or after, the next hole. */
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

interface SeekModule { seekSync(fd: number, offset: number, whence: number): number }
let seeker: SeekModule | null | undefined;

/**
 * lseek with SEEK_DATA/SEEK_HOLE: Node has no binding for it, so it comes from fs-ext-extra-prebuilt
 * (its binaries ship inside the npm package), loaded on first use; null where it cannot load (then
 * every byte is read, as before).
 */
function seekModule(): SeekModule | null {
  if (seeker !== undefined) return seeker;
  try {
    const m = createRequire(import.meta.url)('fs-ext-extra-prebuilt') as Partial<SeekModule>;
    seeker = typeof m.seekSync === 'function' ? (m as SeekModule) : null;
  } catch {
    seeker = null;
  }
  return seeker;
}

/**
 * The regions of `path` that may hold data, `[start, end)` sorted, from SEEK_DATA/SEEK_HOLE; the
 * file system answers from its own block map, so a sparse image's holes are never read. Undefined
 * when that cannot be asked (no module, a filesystem or file that refuses: the caller reads it all).
 * A filesystem without hole tracking answers "all data", which is also right.
 */
export function dataRegions(path: string | Buffer, size: number): { start: number; end: number }[] | undefined {
  const m = process.platform === 'linux' ? seekModule() : null;
  if (!m) return undefined;
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return undefined; }
  try {
    const out: { start: number; end: number }[] = [];
    let pos = 0;
    while (pos < size) {
      let start: number;
      try {
        start = m.seekSync(fd, pos, SEEK_DATA);
      } catch (e) {
        // ENXIO: no data at or after pos (the rest is a hole).
        if ((e as NodeJS.ErrnoException).code === 'ENXIO') break;
        return undefined;
      }
      if (!(start >= pos) || start >= size) break;
      const end = Math.min(size, m.seekSync(fd, start, SEEK_HOLE));
      if (!(end > start)) return undefined;
      out.push({ start, end });
      pos = end;
    }
    return out;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
