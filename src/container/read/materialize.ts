import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskwrightError } from '../../errors.js';
import type { Extent, Volume } from '../../extent/extent.js';
import { isZero } from '../blocks.js';
import { pace, registerTemporary } from '../sink.js';
import type { MappedDisk } from './disk.js';
import { readRawVolumeAsync } from './raw.js';

/** A Volume plus what to remove once it has been written out. */
export interface InputVolume {
  volume: Volume;
  /** The input's format as detected. */
  format: string;
  cleanup(): void;
}

/**
 * Compressed inputs (qcow2 compressed clusters, VMDK grains, containers inside a compressed
 * stream) cannot be referenced in place: their clusters are inflated, one at a time, into a sparse
 * scratch file at their guest offsets, and the Volume references that file. Only data is written;
 * holes stay holes, so a mostly-empty disk costs neither time nor space.
 */
export class SparseScratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'diskwright-convert-'));
  readonly path = join(this.dir, 'disk');
  /** Removed by the CLI's signal handler and at exit if still there. */
  private readonly forget = registerTemporary(this.dir);
  private readonly fd = openSync(this.path, 'w');
  private end = 0;
  constructor(private readonly size: number) {}

  /** Write `data` at `guestOffset`; returns the extent that references it. */
  put(guestOffset: number, data: Uint8Array): Extent {
    const len = Math.max(0, Math.min(data.length, this.size - guestOffset));
    let off = 0;
    try {
      while (off < len) off += writeSync(this.fd, data, off, len - off, guestOffset + off);
    } catch (e) {
      // A sparse file cannot reach every offset a header can claim (EFBIG), or the disk is full.
      throw new DiskwrightError('E_OUTPUT', `cannot write the scratch file ${this.path} at offset ${guestOffset + off}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { value: this.path, cause: e });
    }
    this.end = Math.max(this.end, guestOffset + len);
    return { offset: guestOffset, length: len, source: { kind: 'file', path: this.path, offset: guestOffset, size: -1 } };
  }

  /** Done writing: the file's final size, which every extent's source records. */
  finish(extents: Extent[]): void {
    closeSync(this.fd);
    const size = statSync(this.path).size;
    for (const e of extents) if (e.source.kind === 'file' && e.source.path === this.path) e.source.size = size;
  }

  abort(): void {
    try { closeSync(this.fd); } catch { /* closed */ }
    rmSync(this.dir, { recursive: true, force: true });
    this.forget();
  }
}

/** Guest bytes mapped per step while a disk becomes a Volume (bounds the runs held at once). */
const WINDOW = 64 << 20;
/** Zero detection granularity for bytes copied to scratch. */
const ZERO_BLOCK = 64 << 10;

/**
 * A VirtualDisk as a Volume for the container writers (`convert`): allocated clusters of an
 * uncompressed container reference its file; compressed clusters, and every cluster of a container
 * read through a decoded stream, are copied into a sparse scratch file (all-zero 64 KiB blocks
 * left as holes); a raw image (or a fixed VHD's data) is scanned for zero blocks, which become
 * holes. `cleanup` removes the scratch file.
 */
export async function diskVolume(disk: MappedDisk, signal?: AbortSignal): Promise<{ volume: Volume; cleanup(): void }> {
  const plain = disk.plainPath;
  if (plain && (disk.format === 'raw' || disk.format === 'vhd-fixed')) {
    // A fixed VHD's data is the file up to its footer; past it (a file cut short) are zeros.
    const dataEnd = disk.format === 'raw' ? disk.size : Math.max(0, Math.min(disk.size, disk.fileSize - 512));
    const v = await readRawVolumeAsync(plain, dataEnd, undefined, signal);
    return { volume: { size: disk.size, extents: v.extents }, cleanup: () => undefined };
  }
  const extents: Extent[] = [];
  let scratch: SparseScratch | undefined;
  try {
    const fileSize = plain ? statSync(plain).size : 0;
    for (let w = 0; w < disk.size; w += WINDOW) {
      let guest = w;
      for (const r of disk.runs(w, Math.min(WINDOW, disk.size - w))) {
        const p = pace(signal);
        if (p) await p;
        if (r.kind === 'data' && plain) {
          const len = Math.max(0, Math.min(r.length, fileSize - r.at));
          const last = extents[extents.length - 1];
          if (last && last.source.kind === 'file' && last.source.path === plain && last.offset + last.length === guest && last.source.offset + last.length === r.at) last.length += len;
          else if (len > 0) extents.push({ offset: guest, length: len, source: { kind: 'file', path: plain, offset: r.at, size: fileSize } });
        } else if (r.kind !== 'zero') {
          scratch ??= new SparseScratch(disk.size);
          for (let o = 0; o < r.length; o += ZERO_BLOCK) {
            const n = Math.min(ZERO_BLOCK, r.length - o);
            const data = disk.read(guest + o, n);
            if (!isZero(data)) extents.push(scratch.put(guest + o, data));
          }
        }
        guest += r.length;
      }
    }
    const merged = mergeExtents(extents);
    scratch?.finish(merged);
    const s = scratch;
    return { volume: { size: disk.size, extents: merged }, cleanup: () => s?.abort() };
  } catch (e) {
    scratch?.abort();
    throw e;
  }
}

/** Coalesce extents that continue each other in the same file. */
function mergeExtents(extents: Extent[]): Extent[] {
  const out: Extent[] = [];
  for (const e of extents) {
    const last = out[out.length - 1];
    if (last && last.source.kind === 'file' && e.source.kind === 'file' && last.source.path === e.source.path
      && last.offset + last.length === e.offset && last.source.offset + last.length === e.source.offset) {
      last.length += e.length;
      continue;
    }
    out.push(e);
  }
  return out;
}
