import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskwrightError } from '../../errors.js';
import type { Volume } from '../../extent/extent.js';
import { registerTemporary } from '../sink.js';
import { ExtentCollector } from './volume.js';

/** A Volume plus what to remove once it has been written out. */
export interface InputVolume {
  volume: Volume;
  /** The input's format as detected. */
  format: string;
  cleanup(): void;
}

/**
 * Compressed inputs (qcow2 compressed clusters, VMDK grains, whole-file zstd/xz/...) cannot be
 * referenced in place: their clusters are inflated, one at a time, into a sparse scratch file at
 * their guest offsets, and the Volume references that file. Only data clusters are written; holes
 * stay holes, so a mostly-empty disk costs neither time nor space.
 */
export class SparseScratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'diskwright-convert-'));
  readonly path = join(this.dir, 'disk');
  /** Removed by the CLI's signal handler and at exit if still there. */
  private readonly forget = registerTemporary(this.dir);
  private readonly fd = openSync(this.path, 'w');
  private readonly ranges: [number, number][] = [];
  constructor(private readonly size: number) {}

  write(guestOffset: number, data: Uint8Array): void {
    const len = Math.min(data.length, this.size - guestOffset);
    if (len <= 0) return;
    let off = 0;
    try {
      while (off < len) off += writeSync(this.fd, data, off, len - off, guestOffset + off);
    } catch (e) {
      // A sparse file cannot reach every offset a header can claim (EFBIG), or the disk is full.
      throw new DiskwrightError('E_OUTPUT', `cannot write the scratch file ${this.path} at offset ${guestOffset + off}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { value: this.path, cause: e });
    }
    const last = this.ranges[this.ranges.length - 1];
    if (last && last[0] + last[1] === guestOffset) last[1] += len;
    else this.ranges.push([guestOffset, len]);
  }

  finish(format: string): InputVolume {
    closeSync(this.fd);
    const ranges = this.ranges.sort((a, b) => a[0] - b[0]);
    const out = new ExtentCollector(this.path, statSync(this.path).size, this.size);
    for (const [o, l] of ranges) out.add(o, l, o);
    return { volume: out.finish(), format, cleanup: () => { rmSync(this.dir, { recursive: true, force: true }); this.forget(); } };
  }

  abort(): void {
    try { closeSync(this.fd); } catch { /* closed */ }
    rmSync(this.dir, { recursive: true, force: true });
    this.forget();
  }
}
