import { VDI_SIGNATURE, VdiHeader } from '../vdi.js';
import { corrupt, type InputFile } from './file.js';
import type { InputVolume } from './materialize.js';
import { ExtentCollector } from './volume.js';

/** A VDI image (dynamic or fixed, no parent) as a Volume: allocated blocks reference the file. */
export function readVdi(file: InputFile): InputVolume {
  const h = VdiHeader.decode(file.read(0, 512)) as Record<string, number>;
  if (h.u32Signature !== VDI_SIGNATURE) throw corrupt(file.path, 'not a VDI image');
  const bs = h.cbBlock!;
  const size = h.cbDisk!;
  const map = file.read(h.offBlocks!, h.cBlocks! * 4);
  const dv = new DataView(map.buffer);
  const out = new ExtentCollector(file.path, file.size, size);
  for (let i = 0; i < h.cBlocks!; i++) {
    const idx = dv.getUint32(i * 4, true);
    if (idx >= 0xfffffffe) continue; // unallocated or discarded (zeros)
    out.add(i * bs, bs, h.offData! + idx * (bs + h.cbBlockExtra!) + h.cbBlockExtra!);
  }
  return { volume: out.finish(), format: 'vdi', cleanup: () => undefined };
}
