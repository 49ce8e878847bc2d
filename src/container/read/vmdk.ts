import { inflateSync } from 'node:zlib';
import { bigIntOf, type DecodedValue } from '../../util/struct.js';
import { FLAG_COMPRESSED, FLAG_MARKERS, GD_AT_END, Marker, SPARSE_MAGICNUMBER, SparseExtentHeader } from '../vmdk.js';
import { pace } from '../sink.js';
import { corrupt, corruptAt, fieldNumber, type InputFile } from './file.js';
import { SparseScratch, type InputVolume } from './materialize.js';
import { ExtentCollector } from './volume.js';

/** qemu block/vmdk.c limits: grains up to 0x200000 sectors, up to 512 entries per grain table, a grain directory of up to 32 Mi entries. */
const MAX_GRAIN_SECTORS = 0x200000;
const MAX_GTES_PER_GT = 512;
const MAX_GD_ENTRIES = 32 << 20;
/** A grain marker's header before its compressed bytes: lba (u64) and size (u32) of `Marker`. */
const GRAIN_MARKER_HEAD = Marker.offsetOf('size') + Marker.sizeOf('size');

/**
 * A hosted sparse VMDK (monolithicSparse or streamOptimized, single extent) as a Volume. Compressed
 * grains are inflated into a sparse scratch file; uncompressed grains reference the input. The
 * header's counts, the grain directory, every grain table and grain are checked against the file first.
 */
export async function readVmdk(file: InputFile, signal?: AbortSignal): Promise<InputVolume> {
  let at = 0;
  let h = file.decode(SparseExtentHeader, at);
  if (h.magicNumber !== SPARSE_MAGICNUMBER) throw corrupt(file.path, 'not a hosted sparse VMDK (monolithicFlat and split extents are not supported)');
  if (bigIntOf(h.gdOffset) === GD_AT_END) {
    // streamOptimized: the footer (a header copy with the directory's offset) is 1024 bytes from the end.
    at = file.within('VMDK footer', file.size - 1024, SparseExtentHeader.size);
    h = file.decode(SparseExtentHeader, at);
    if (h.magicNumber !== SPARSE_MAGICNUMBER) throw corrupt(file.path, 'VMDK stream footer not found');
  }
  const HDR = at === 0 ? 'VMDK header' : 'VMDK footer';
  const field = (name: string, min?: number, max?: number): number => fieldNumber(file, HDR, at, h as Record<string, DecodedValue>, name, min, max);
  const capacity = field('capacity', 0, Math.floor(Number.MAX_SAFE_INTEGER / 512));
  const grainSectors = field('grainSize', 1, MAX_GRAIN_SECTORS);
  const gtes = field('numGTEsPerGT', 1, MAX_GTES_PER_GT);
  const flags = h.flags as number;
  const size = capacity * 512;
  const grain = grainSectors * 512;
  const compressed = (flags & FLAG_COMPRESSED) !== 0;
  const markers = (flags & FLAG_MARKERS) !== 0;
  const gdEntries = Math.ceil(capacity / grainSectors / gtes);
  if (gdEntries > MAX_GD_ENTRIES) throw corruptAt(file.path, HDR, at, `a grain directory of ${gdEntries} entries is larger than ${MAX_GD_ENTRIES}`);
  const gdAt = file.within('VMDK grain directory', bigIntOf(h.gdOffset) * 512n, gdEntries * 4);
  const gd = new DataView(file.read(gdAt, gdEntries * 4).buffer);
  const gtBytes = gtes * 4;

  const scratch = compressed ? new SparseScratch(size) : undefined;
  const out = compressed ? undefined : new ExtentCollector(file.path, file.size, size);
  try {
    for (let i = 0; i < gdEntries; i++) {
      const gtSector = gd.getUint32(i * 4, true);
      if (gtSector === 0) continue;
      const gtAt = file.within(`VMDK grain table ${i} (directory entry at ${gdAt + i * 4})`, gtSector * 512, gtBytes);
      const gt = new DataView(file.read(gtAt, gtBytes).buffer);
      for (let j = 0; j < gtes; j++) {
        const p = pace(signal);
        if (p) await p;
        const sector = gt.getUint32(j * 4, true);
        if (sector <= 1) continue; // 0: unallocated, 1: zero grain
        const guest = (i * gtes + j) * grain;
        if (guest >= size) break;
        const grainAt = file.within(`VMDK grain (table ${i} entry ${j} at ${gtAt + j * 4})`, sector * 512, 1);
        if (!scratch) { out!.add(guest, Math.min(grain, file.size - grainAt), grainAt); continue; }
        // A compressed grain: lba and size (the same 12 bytes with or without markers), then deflate data.
        const m = file.decode(Marker, grainAt);
        const length = m.size as number;
        const what = `VMDK compressed grain${markers ? ' marker' : ''}`;
        if (length === 0 || length > 2 * grain) throw corruptAt(file.path, what, grainAt, `size ${length} is not between 1 and twice the ${grain}-byte grain`);
        const dataAt = file.within(what, grainAt + GRAIN_MARKER_HEAD, length);
        let data: Uint8Array;
        try {
          data = inflateSync(file.read(dataAt, length), { maxOutputLength: grain });
        } catch (err) {
          throw corruptAt(file.path, what, grainAt, `does not inflate to a grain (${(err as Error).message})`);
        }
        scratch.write(guest, data.subarray(0, grain));
      }
    }
    return scratch ? scratch.finish('vmdk') : { volume: out!.finish(), format: 'vmdk', cleanup: () => undefined };
  } catch (err) {
    scratch?.abort();
    throw err;
  }
}
