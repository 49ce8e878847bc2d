import { DiskwrightError } from '../errors.js';
import { placeVolume, sliceExtent, VolumeBuilder, type Extent, type Volume } from '../extent/extent.js';
import type { ResolvedSpec } from '../spec/types.js';
import type { DiskLayout } from './layout.js';
import { tableScheme } from './schemes.js';

export { gptPartitions } from './gpt.js';

/**
 * The disk as one extent list: the table's structures (its scheme's writer), each partition's
 * volume at its offset, raw blobs. Boot code from a raw blob in the table's code area (the first
 * 440 bytes of an MBR) is merged into sector 0; its bytes come from `readBlob` (the host's
 * `readFileSync` in src/build.ts: this module stays free of node:fs for the browser build).
 */
export function assembleDisk(spec: ResolvedSpec, layout: DiskLayout, volumes: ReadonlyMap<number, Volume>, readBlob?: (path: string) => Uint8Array): Volume {
  const scheme = tableScheme(spec.table);
  const b = new VolumeBuilder();
  let bootCode: Uint8Array | undefined;
  const blobs = spec.raw.filter((r) => {
    if (scheme.bootCodeBytes > 0 && r.offset + r.size <= scheme.bootCodeBytes) {
      bootCode ??= new Uint8Array(scheme.bootCodeBytes);
      if (!readBlob) throw new DiskwrightError('E_SOURCE', `raw blob ${r.source} cannot be read in this build (no host files)`, { value: r.source });
      bootCode.set(readBlob(r.source), r.offset);
      return false;
    }
    return true;
  });
  for (const t of scheme.write(spec, layout, bootCode)) b.addBytes(t.offset, t.bytes);
  // Blobs marked inPartition (genimage's in-partition) overwrite the partition's bytes there.
  const cuts = blobs.filter((r) => r.inPartition).map((r) => [r.offset, r.offset + r.size] as const);
  for (const q of layout.placements) {
    const vol = volumes.get(q.part.index);
    if (vol) for (const e of placeVolume(vol, q.offset)) for (const piece of cutAround(e, cuts)) b.add(piece);
  }
  for (const r of blobs) b.addFile(r.offset, r.source, 0, r.size, r.size);
  return b.finish(layout.size, 'disk');
}

/** The parts of `e` outside every `[from, to)` in `cuts`. */
function cutAround(e: Extent, cuts: readonly (readonly [number, number])[]): Extent[] {
  let pieces = [e];
  for (const [from, to] of cuts) {
    pieces = pieces.flatMap((p) => {
      if (to <= p.offset || from >= p.offset + p.length) return [p];
      const out: Extent[] = [];
      if (from > p.offset) out.push(sliceExtent(p, p.offset, from));
      if (to < p.offset + p.length) out.push(sliceExtent(p, to, p.offset + p.length));
      return out;
    });
  }
  return pieces;
}
