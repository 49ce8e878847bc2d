import { VDI_SIGNATURE, VdiHeader } from '../vdi.js';
import { corrupt, corruptAt, fieldNumber, type InputFile } from './file.js';
import type { InputVolume } from './materialize.js';
import { ExtentCollector } from './volume.js';

/** Block map entries at or above this are unallocated or discarded blocks (zeros). */
const VDI_FIRST_FREE = 0xfffffffe;
const HDR = 'VDI header';

/**
 * A VDI image (dynamic or fixed, no parent) as a Volume: allocated blocks reference the file. The
 * block map and every block it points to are checked against the file first (qemu block/vdi.c).
 */
export function readVdi(file: InputFile): InputVolume {
  const h = file.decode(VdiHeader, 0);
  if (h.u32Signature !== VDI_SIGNATURE) throw corrupt(file.path, 'not a VDI image');
  const size = fieldNumber(file, HDR, 0, h, 'cbDisk');
  const bs = fieldNumber(file, HDR, 0, h, 'cbBlock', 512);
  if ((bs & (bs - 1)) !== 0) throw corruptAt(file.path, HDR, 0, `cbBlock ${bs} is not a power of two`);
  const extra = fieldNumber(file, HDR, 0, h, 'cbBlockExtra');
  const blocks = fieldNumber(file, HDR, 0, h, 'cBlocks');
  if (blocks * bs < size) throw corruptAt(file.path, HDR, 0, `cBlocks ${blocks} of ${bs} bytes cover less than cbDisk ${size}`);
  const mapAt = file.within('VDI block map', h.offBlocks as number, blocks * 4);
  const offData = h.offData as number;
  const map = file.read(mapAt, blocks * 4);
  const dv = new DataView(map.buffer);
  const out = new ExtentCollector(file.path, file.size, size);
  for (let i = 0; i < blocks && i * bs < size; i++) {
    const idx = dv.getUint32(i * 4, true);
    if (idx >= VDI_FIRST_FREE) continue; // unallocated or discarded (zeros)
    if (idx >= blocks) throw corruptAt(file.path, 'VDI block map', mapAt + i * 4, `block ${i} points to block ${idx}, past the ${blocks} blocks of the image`);
    // Data past the end of the file reads as zeros.
    const data = file.within(`VDI block ${i} (map entry at ${mapAt + i * 4})`, offData + idx * (bs + extra) + extra, 1);
    out.add(i * bs, Math.min(bs, file.size - data), data);
  }
  return { volume: out.finish(), format: 'vdi', cleanup: () => undefined };
}
