import { VDI_SIGNATURE, VdiHeader } from '../vdi.js';
import { pushRun, type Mapping, type Run } from './disk.js';
import { corrupt, corruptAt, fieldNumber, type InputFile } from './file.js';

/** Block map entries at or above this are unallocated or discarded blocks (zeros). */
const VDI_FIRST_FREE = 0xfffffffe;
const HDR = 'VDI header';

/**
 * The mapping of a VDI image (dynamic or fixed, no parent; VirtualBox VDICore.h, qemu
 * block/vdi.c). The header and the block map are checked against the file when opened; each block
 * a map entry names when a range is mapped.
 */
export class VdiMapping implements Mapping {
  readonly size: number;
  private readonly bs: number;
  private readonly extra: number;
  private readonly blocks: number;
  private readonly mapAt: number;
  private readonly offData: number;
  private readonly map32: DataView;

  constructor(private readonly file: InputFile) {
    const h = file.decode(VdiHeader, 0);
    if (h.u32Signature !== VDI_SIGNATURE) throw corrupt(file.path, 'not a VDI image');
    this.size = fieldNumber(file, HDR, 0, h, 'cbDisk');
    this.bs = fieldNumber(file, HDR, 0, h, 'cbBlock', 512);
    if ((this.bs & (this.bs - 1)) !== 0) throw corruptAt(file.path, HDR, 0, `cbBlock ${this.bs} is not a power of two`);
    this.extra = fieldNumber(file, HDR, 0, h, 'cbBlockExtra');
    this.blocks = fieldNumber(file, HDR, 0, h, 'cBlocks');
    if (this.blocks * this.bs < this.size) throw corruptAt(file.path, HDR, 0, `cBlocks ${this.blocks} of ${this.bs} bytes cover less than cbDisk ${this.size}`);
    this.mapAt = file.within('VDI block map', h.offBlocks as number, this.blocks * 4);
    this.offData = h.offData as number;
    const used = Math.ceil(this.size / this.bs);
    const map = file.read(this.mapAt, used * 4);
    this.map32 = new DataView(map.buffer, map.byteOffset, map.byteLength);
  }

  map(offset: number, length: number): Run[] {
    const out: Run[] = [];
    for (let pos = offset, end = offset + length; pos < end;) {
      const i = Math.floor(pos / this.bs);
      const next = Math.min(end, (i + 1) * this.bs);
      const idx = this.map32.getUint32(i * 4, true);
      const entryAt = this.mapAt + i * 4;
      if (idx >= VDI_FIRST_FREE) pushRun(out, { kind: 'zero', length: next - pos }); // unallocated or discarded
      else {
        if (idx >= this.blocks) throw corruptAt(this.file.path, 'VDI block map', entryAt, `block ${i} points to block ${idx}, past the ${this.blocks} blocks of the image`);
        // Data past the end of the file reads as zeros; the block must start inside it.
        const data = this.file.within(`VDI block ${i} (map entry at ${entryAt})`, this.offData + idx * (this.bs + this.extra) + this.extra, 1);
        pushRun(out, { kind: 'data', length: next - pos, at: data + pos - i * this.bs });
      }
      pos = next;
    }
    return out;
  }
}
