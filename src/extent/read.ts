import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { DiskwrightError } from '../errors.js';
import type { Extent, Volume } from './extent.js';

const shown = (path: string | Buffer): string => path.toString();
const reason = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/**
 * Open an input file for reading its data (at plan or emit time). O_NONBLOCK: a path replaced by a
 * FIFO since planning must not block the build forever; the opened descriptor is then checked to
 * be a regular file (of `size` bytes when given). Every failure is a one-line DiskwrightError
 * naming the file.
 */
export function openInput(path: string | Buffer, size?: number): number {
  const fd = openUnchecked(path);
  try {
    checkOpened(fd, path, size);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/** open(2) for reading, O_NONBLOCK (see openInput), without the checks. */
function openUnchecked(path: string | Buffer): number {
  try {
    return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new DiskwrightError('E_INPUT_READ', `cannot open input file ${shown(path)}: ${reason(e)}`, { value: shown(path), cause: e });
  }
}

/** fstat an opened input: still a regular file, of `size` bytes when given; else the error naming it. */
function checkOpened(fd: number, path: string | Buffer, size?: number): void {
  let st;
  try {
    st = fstatSync(fd);
  } catch (e) {
    throw new DiskwrightError('E_INPUT_READ', `cannot read input file ${shown(path)}: ${reason(e)}`, { value: shown(path), cause: e });
  }
  if (!st.isFile()) {
    throw new DiskwrightError('E_INPUT_CHANGED', `input file ${shown(path)} is no longer a regular file (it changed since planning)`, { value: shown(path) });
  }
  if (size !== undefined && st.size !== size) {
    throw new DiskwrightError('E_INPUT_CHANGED', `input file ${shown(path)} changed size between planning and writing (${size} -> ${st.size} bytes)`, { value: shown(path) });
  }
}

/** readSync with host errors (EIO, EACCES…) as a one-line DiskwrightError naming the file. */
export function readInput(fd: number, path: string | Buffer, buf: Uint8Array, offset: number, length: number, position: number): number {
  try {
    return readSync(fd, buf, offset, length, position);
  } catch (e) {
    throw new DiskwrightError('E_INPUT_READ', `cannot read input file ${shown(path)} at byte ${position}: ${reason(e)}`, { value: shown(path), cause: e });
  }
}

/**
 * Reads extent data with synchronous calls on cached descriptors (docs/ARCHITECTURE.md §6: per-call promise
 * overhead dominates on small files; sync reads into large buffers measure fastest here).
 *
 * Every input is checked once per open (still a regular file, still its planned size). A file read
 * up to its end into a buffer with a byte to spare (the common case: a small file copied whole into
 * the emit buffer) is checked by that read itself, without an fstat: one byte more is asked for, and
 * the file must end exactly where planned. Any other open is checked with fstat before its first
 * read, and any surprise (a short read, a read error) is explained by an fstat of the descriptor.
 * Small trees are mostly small files, so this is one system call fewer per file (open, read, close).
 */
export class ExtentReader {
  /** Open descriptors by path; Buffer paths (names that are not UTF-8) are keyed by their bytes. */
  private readonly fds = new Map<string, number>();

  private remember(key: string, fd: number): void {
    // Keep few descriptors open: files are read in allocation order, so the previous file is done.
    if (this.fds.size >= 64) this.closeAll();
    this.fds.set(key, fd);
  }

  /** Copy `length` bytes of `ext` starting `skip` bytes into it, into `buf` at `bufOffset`. */
  read(ext: Extent, skip: number, buf: Uint8Array, bufOffset: number, length: number): void {
    const src = ext.source;
    switch (src.kind) {
      case 'bytes': {
        const at = (src.at ?? 0) + skip;
        buf.set(src.data.subarray(at, at + length), bufOffset);
        return;
      }
      case 'fill':
        buf.fill(src.byte, bufOffset, bufOffset + length);
        return;
      case 'file': {
        const path = src.path;
        const key = typeof path === 'string' ? path : `\0${path.toString('latin1')}`;
        const position = src.offset + skip;
        let fd = this.fds.get(key);
        // Checked by this read: it ends where the file must end and the buffer has a byte to spare.
        let probe = 0;
        if (fd === undefined) {
          fd = openUnchecked(path);
          if (position + length === src.size && bufOffset + length < buf.length) probe = 1;
          else {
            try { checkOpened(fd, path, src.size); } catch (e) { closeSync(fd); throw e; }
          }
          this.remember(key, fd);
        }
        this.readFully(fd, src.path, src.size, buf, bufOffset, length, position, probe);
        return;
      }
    }
  }

  /**
   * Read `length` bytes at `position`, plus `probe` (0 or 1) bytes that must not exist: with a probe,
   * the file must end at `position + length`. Whatever goes wrong is explained from an fstat.
   */
  private readFully(fd: number, path: string | Buffer, size: number, buf: Uint8Array, bufOffset: number, length: number, position: number, probe: number): void {
    const want = length + probe;
    let done = 0;
    while (done < want) {
      let n: number;
      try {
        n = readSync(fd, buf, bufOffset + done, want - done, position + done);
      } catch (e) {
        checkOpened(fd, path, size);
        throw new DiskwrightError('E_INPUT_READ', `cannot read input file ${shown(path)} at byte ${position + done}: ${reason(e)}`, { value: shown(path), cause: e });
      }
      if (n === 0) break;
      done += n;
      // A regular file's read returns less than asked only at its end: that is the probe's answer.
      if (probe && done >= length) break;
    }
    if (done === length) return;
    checkOpened(fd, path, size);
    if (done > length) throw new DiskwrightError('E_INPUT_CHANGED', `input file ${shown(path)} is longer than planned (it changed since planning)`, { value: shown(path) });
    throw new DiskwrightError('E_INPUT_CHANGED', `input file ${shown(path)} is shorter than planned`, { value: shown(path) });
  }

  closeAll(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/** A run of data to write: `[offset, offset + data.length)`. */
export interface Chunk {
  offset: number;
  data: Uint8Array;
}

/**
 * Walk a volume's extents in order and yield data chunks of at most `chunkSize` bytes, coalescing
 * adjacent extents into one buffer (many small files become few large writes). Holes are skipped.
 * The yielded buffer is reused: consume it before asking for the next chunk.
 */
export function* chunks(vol: Volume, chunkSize = 4 << 20, reader = new ExtentReader()): Generator<Chunk> {
  const buf = new Uint8Array(chunkSize);
  let bufStart = -1;
  let bufLen = 0;
  try {
    for (const ext of vol.extents) {
      let skip = 0;
      while (skip < ext.length) {
        const at = ext.offset + skip;
        // A gap shorter than a page cannot leave a whole 4 KiB hole in the output: write it as
        // zeros so the tails of small files do not split the output into one write per file.
        const gap = at - (bufStart + bufLen);
        if (bufLen > 0 && gap > 0 && gap < 4096 && bufLen + gap < chunkSize) {
          buf.fill(0, bufLen, bufLen + gap);
          bufLen += gap;
        }
        if (bufLen > 0 && (bufStart + bufLen !== at || bufLen === chunkSize)) {
          yield { offset: bufStart, data: buf.subarray(0, bufLen) };
          bufLen = 0;
        }
        if (bufLen === 0) bufStart = at;
        const n = Math.min(ext.length - skip, chunkSize - bufLen);
        reader.read(ext, skip, buf, bufLen, n);
        bufLen += n;
        skip += n;
      }
    }
    if (bufLen > 0) yield { offset: bufStart, data: buf.subarray(0, bufLen) };
  } finally {
    reader.closeAll();
  }
}

/** Read `[offset, offset+length)` of a volume into a new buffer, zeros in the holes. */
export function readRange(vol: Volume, offset: number, length: number, reader = new ExtentReader()): Uint8Array {
  const out = new Uint8Array(length);
  const end = offset + length;
  // binary search the first extent ending after offset
  let lo = 0;
  let hi = vol.extents.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = vol.extents[mid]!;
    if (e.offset + e.length <= offset) lo = mid + 1; else hi = mid;
  }
  for (let i = lo; i < vol.extents.length; i++) {
    const e = vol.extents[i]!;
    if (e.offset >= end) break;
    const from = Math.max(offset, e.offset);
    const to = Math.min(end, e.offset + e.length);
    reader.read(e, from - e.offset, out, from - offset, to - from);
  }
  return out;
}
