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
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new DiskwrightError('E_INPUT_READ', `cannot open input file ${shown(path)}: ${reason(e)}`, { value: shown(path), cause: e });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new DiskwrightError('E_INPUT_CHANGED', `input file ${shown(path)} is no longer a regular file (it changed since planning)`, { value: shown(path) });
    }
    if (size !== undefined && st.size !== size) {
      throw new DiskwrightError('E_INPUT_CHANGED', `input file ${shown(path)} changed size between planning and writing (${size} -> ${st.size} bytes)`, { value: shown(path) });
    }
  } catch (e) {
    closeSync(fd);
    if (e instanceof DiskwrightError) throw e;
    throw new DiskwrightError('E_INPUT_READ', `cannot read input file ${shown(path)}: ${reason(e)}`, { value: shown(path), cause: e });
  }
  return fd;
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
 */
export class ExtentReader {
  private readonly fds = new Map<string, number>();

  private fd(path: string | Buffer, size: number): number {
    // Buffer paths (names that are not UTF-8) are keyed by their bytes.
    const key = typeof path === 'string' ? path : `\0${path.toString('latin1')}`;
    let fd = this.fds.get(key);
    if (fd === undefined) {
      // Checked at every open (a file reopened after closeAll may have been replaced meanwhile).
      fd = openInput(path, size);
      // Keep few descriptors open: files are read in allocation order, so the previous file is done.
      if (this.fds.size >= 64) this.closeAll();
      this.fds.set(key, fd);
    }
    return fd;
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
        const fd = this.fd(src.path, src.size);
        let done = 0;
        while (done < length) {
          const n = readInput(fd, src.path, buf, bufOffset + done, length - done, src.offset + skip + done);
          if (n === 0) throw new DiskwrightError('E_INPUT_CHANGED', `input file ${shown(src.path)} is shorter than planned`, { value: shown(src.path) });
          done += n;
        }
        return;
      }
    }
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
