import type { Volume } from '../../extent/extent.js';
import { dataRegions } from '../../extent/holes.js';
import { isZero } from '../blocks.js';
import { pace } from '../sink.js';
import { InputFile } from './file.js';
import { ExtentCollector } from './volume.js';

/** Granularity of hole detection in raw inputs. */
const GRAIN = 4096;
const READ = 4 << 20;
const COARSE = 64 << 10;

/**
 * A raw image (a prebuilt filesystem, or the data part of a fixed VHD) as a Volume: its non-zero
 * 4 KiB blocks, coalesced, reference the file; zero blocks become holes, so the writers leave them
 * unallocated. Only the regions the file system says hold data are read (SEEK_DATA/SEEK_HOLE,
 * extent/holes.ts `dataRegions`); in them, zero tests go coarse to fine (4 MiB, 64 KiB, 4 KiB), so empty regions
 * cost one memcmp per 4 MiB. The result is the same as reading every byte.
 */
export function readRawVolume(path: string, size?: number, file?: InputFile): Volume {
  const f = file ?? new InputFile(path);
  try {
    const scan = scanRaw(path, size, f);
    for (let r = scan.next(); ; r = scan.next()) if (r.done) return r.value;
  } finally {
    if (!file) f.close();
  }
}

/** readRawVolume that yields to the event loop between reads (signals) and stops on `signal`. */
export async function readRawVolumeAsync(path: string, size?: number, file?: InputFile, signal?: AbortSignal): Promise<Volume> {
  const f = file ?? new InputFile(path);
  try {
    const scan = scanRaw(path, size, f);
    for (let r = scan.next(); ; r = scan.next()) {
      if (r.done) return r.value;
      await pace(signal);
    }
  } finally {
    if (!file) f.close();
  }
}

/** The scan, one 4 MiB read per step, over the data regions (grain-aligned) or the whole file. */
function* scanRaw(path: string, size: number | undefined, file: InputFile): Generator<void, Volume> {
  const total = size ?? file.size;
  const out = new ExtentCollector(path, file.size, total);
  const buf = new Uint8Array(READ);
  const plain = file.plainPath;
  const regions = (plain !== undefined ? dataRegions(plain, Math.min(total, file.size)) : undefined) ?? [{ start: 0, end: total }];
  let done = 0;
  for (const r of regions) {
    // Grains stay at multiples of GRAIN from 0, as a scan of every byte would cut them.
    const from = Math.max(done, Math.floor(r.start / GRAIN) * GRAIN);
    const to = Math.min(total, Math.ceil(r.end / GRAIN) * GRAIN);
    for (let off = from; off < to; off += READ) {
      yield;
      const n = Math.min(READ, to - off);
      const chunk = file.read(off, n, buf).subarray(0, n);
      if (isZero(chunk)) continue;
      for (let c = 0; c < n; c += COARSE) {
        const coarse = chunk.subarray(c, Math.min(n, c + COARSE));
        if (isZero(coarse)) continue;
        for (let g = 0; g < coarse.length; g += GRAIN) {
          const len = Math.min(GRAIN, coarse.length - g);
          if (!isZero(coarse.subarray(g, g + len))) out.add(off + c + g, len, off + c + g);
        }
      }
    }
    done = Math.max(done, to);
  }
  return out.finish();
}
