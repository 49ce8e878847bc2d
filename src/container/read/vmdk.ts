import { inflateSync } from 'node:zlib';
import { SPARSE_MAGICNUMBER, SparseExtentHeader } from '../vmdk.js';
import { pace } from '../sink.js';
import { corrupt, type InputFile } from './file.js';
import { SparseScratch, type InputVolume } from './materialize.js';
import { ExtentCollector } from './volume.js';

const GD_AT_END = 0xffffffffffffffffn;
const FLAG_COMPRESSED = 1 << 16;
const FLAG_MARKERS = 1 << 17;

/**
 * A hosted sparse VMDK (monolithicSparse or streamOptimized, single extent) as a Volume. Compressed
 * grains are inflated into a sparse scratch file; uncompressed grains reference the input.
 */
export async function readVmdk(file: InputFile, signal?: AbortSignal): Promise<InputVolume> {
  let h = decodeHeader(file, 0);
  if (h.magicNumber !== SPARSE_MAGICNUMBER) throw corrupt(file.path, 'not a hosted sparse VMDK (monolithicFlat and split extents are not supported)');
  if (h.gdOffsetRaw === GD_AT_END) {
    // streamOptimized: the footer (a header copy with the directory's offset) is 1024 bytes from the end.
    h = decodeHeader(file, file.size - 1024);
    if (h.magicNumber !== SPARSE_MAGICNUMBER) throw corrupt(file.path, 'VMDK stream footer not found');
  }
  const size = h.capacity * 512;
  const grain = h.grainSize * 512;
  const compressed = (h.flags & FLAG_COMPRESSED) !== 0;
  const markers = (h.flags & FLAG_MARKERS) !== 0;
  const gdEntries = Math.ceil(h.capacity / h.grainSize / h.numGTEsPerGT);
  const gd = new DataView(file.read(Number(h.gdOffsetRaw) * 512, gdEntries * 4).buffer);
  const gtBytes = h.numGTEsPerGT * 4;

  const scratch = compressed ? new SparseScratch(size) : undefined;
  const out = compressed ? undefined : new ExtentCollector(file.path, file.size, size);
  try {
    for (let i = 0; i < gdEntries; i++) {
      const gtSector = gd.getUint32(i * 4, true);
      if (gtSector === 0) continue;
      const gt = new DataView(file.read(gtSector * 512, gtBytes).buffer);
      for (let j = 0; j < h.numGTEsPerGT; j++) {
        const p = pace(signal);
        if (p) await p;
        const sector = gt.getUint32(j * 4, true);
        if (sector <= 1) continue; // 0: unallocated, 1: zero grain
        const guest = (i * h.numGTEsPerGT + j) * grain;
        if (guest >= size) break;
        if (!scratch) { out!.add(guest, grain, sector * 512); continue; }
        let at = sector * 512;
        let length: number;
        if (markers) {
          const m = new DataView(file.read(at, 12).buffer);
          length = m.getUint32(8, true);
          at += 12;
        } else {
          length = new DataView(file.read(at + 8, 4).buffer).getUint32(0, true);
          at += 12;
        }
        const data = inflateSync(file.read(at, length));
        scratch.write(guest, data.subarray(0, grain));
      }
    }
    return scratch ? scratch.finish('vmdk') : { volume: out!.finish(), format: 'vmdk', cleanup: () => undefined };
  } catch (err) {
    scratch?.abort();
    throw err;
  }
}

interface Header { magicNumber: number; flags: number; capacity: number; grainSize: number; numGTEsPerGT: number; gdOffsetRaw: bigint }

function decodeHeader(file: InputFile, at: number): Header {
  const buf = file.read(at, 512);
  const dv = new DataView(buf.buffer);
  const f = (name: Parameters<typeof SparseExtentHeader.offsetOf>[0]): number => SparseExtentHeader.offsetOf(name);
  return {
    magicNumber: dv.getUint32(f('magicNumber'), true),
    flags: dv.getUint32(f('flags'), true),
    capacity: Number(dv.getBigUint64(f('capacity'), true)),
    grainSize: Number(dv.getBigUint64(f('grainSize'), true)),
    numGTEsPerGT: dv.getUint32(f('numGTEsPerGT'), true),
    gdOffsetRaw: dv.getBigUint64(f('gdOffset'), true),
  };
}
