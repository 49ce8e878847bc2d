import type { Volume } from '../../extent/extent.js';
import { isZero } from '../blocks.js';
import { InputFile } from './file.js';
import { ExtentCollector } from './volume.js';

/** Granularity of hole detection in raw inputs. */
const GRAIN = 4096;

/**
 * A raw image (or the data part of a fixed VHD) as a Volume: its non-zero 4 KiB blocks, coalesced,
 * reference the file; zero blocks become holes, so the writers leave them unallocated.
 */
export function readRawVolume(path: string, size?: number, file = new InputFile(path)): Volume {
  const total = size ?? file.size;
  const out = new ExtentCollector(path, file.size, total);
  const buf = new Uint8Array(4 << 20);
  for (let off = 0; off < total; off += buf.length) {
    const n = Math.min(buf.length, total - off);
    file.read(off, n, buf);
    for (let g = 0; g < n; g += GRAIN) {
      const len = Math.min(GRAIN, n - g);
      if (!isZero(buf.subarray(g, g + len))) out.add(off + g, len, off + g);
    }
  }
  return out.finish();
}
