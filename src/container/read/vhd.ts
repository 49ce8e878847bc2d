import { bigIntOf } from '../../util/struct.js';
import { VHD_DISK_DYNAMIC, VHD_DISK_FIXED, VhdDynamicHeader, VhdFooter } from '../vhd.js';
import { pushRun, type Mapping, type Run } from './disk.js';
import { corrupt, corruptAt, fieldNumber, type InputFile } from './file.js';

const decoder = new TextDecoder('latin1');
const cookieOf = (b: Uint8Array): string => decoder.decode(b);
const VHD_DISK_DIFFERENCING = 4;
/** BAT entry of a block that is not allocated (reads as zeros). */
const BAT_UNUSED = 0xffffffff;

/** True when the file has a VHD footer at its start (dynamic) or end (fixed). */
export function isVhd(file: InputFile): boolean {
  if (cookieOf(file.decode(VhdFooter, 0).cookie as Uint8Array) === 'conectix') return true;
  return file.size >= VhdFooter.size && cookieOf(file.decode(VhdFooter, file.size - VhdFooter.size).cookie as Uint8Array) === 'conectix';
}

/**
 * The mapping of a VHD (fixed or dynamic; no differencing) of size current_size ("Virtual Hard Disk
 * Image Format Specification": "Hard Disk Footer Format", "Dynamic Disk Header Format", "Block
 * Allocation Table and Data Blocks"). The dynamic header and the BAT are checked against the file
 * when opened; each block a BAT entry names when a range is mapped.
 */
export class VhdMapping implements Mapping {
  readonly size: number;
  readonly format: 'vhd' | 'vhd-fixed';
  private readonly bs: number = 0;
  private readonly bitmap: number = 0;
  private readonly batAt: number = 0;
  private readonly bat: DataView | undefined;

  constructor(private readonly file: InputFile) {
    const footerAt = cookieOf(file.decode(VhdFooter, 0).cookie as Uint8Array) === 'conectix' ? 0 : Math.max(0, file.size - VhdFooter.size);
    const footer = file.decode(VhdFooter, footerAt);
    if (cookieOf(footer.cookie as Uint8Array) !== 'conectix') throw corrupt(file.path, 'not a VHD image');
    this.size = fieldNumber(file, 'VHD footer', footerAt, footer, 'current_size');
    if (footer.disk_type === VHD_DISK_FIXED) {
      this.format = 'vhd-fixed';
      return;
    }
    this.format = 'vhd';
    if (footer.disk_type === VHD_DISK_DIFFERENCING) throw corrupt(file.path, `VHD disk type ${footer.disk_type} (differencing) is not supported`);
    if (footer.disk_type !== VHD_DISK_DYNAMIC) throw corruptAt(file.path, 'VHD footer', footerAt, `disk_type ${footer.disk_type} is not fixed (2) or dynamic (3)`);
    const HDR = 'VHD dynamic disk header';
    const headerAt = file.within(HDR, bigIntOf(footer.data_offset), VhdDynamicHeader.size);
    const dh = file.decode(VhdDynamicHeader, headerAt);
    if (cookieOf(dh.cookie as Uint8Array) !== 'cxsparse') throw corruptAt(file.path, HDR, headerAt, 'no "cxsparse" cookie');
    // qemu block/vpc.c: a power-of-two block size of at least a sector, and a table that covers the disk.
    this.bs = fieldNumber(file, HDR, headerAt, dh, 'block_size', 512);
    if ((this.bs & (this.bs - 1)) !== 0) throw corruptAt(file.path, HDR, headerAt, `block_size ${this.bs} is not a power of two`);
    const entries = fieldNumber(file, HDR, headerAt, dh, 'max_table_entries');
    if (entries * this.bs < this.size) throw corruptAt(file.path, HDR, headerAt, `max_table_entries ${entries} of ${this.bs}-byte blocks cover less than current_size ${this.size}`);
    // Each block starts with its sector bitmap, padded to a sector.
    this.bitmap = Math.ceil(this.bs / 512 / 8 / 512) * 512;
    const used = Math.ceil(this.size / this.bs);
    this.batAt = file.within('VHD block allocation table', bigIntOf(dh.table_offset), entries * 4);
    const bat = file.read(this.batAt, used * 4);
    this.bat = new DataView(bat.buffer, bat.byteOffset, bat.byteLength);
  }

  map(offset: number, length: number): Run[] {
    const out: Run[] = [];
    if (!this.bat) {
      // Fixed: the disk's bytes, then the footer; a file cut short reads as zeros, never as its footer.
      const dataEnd = Math.max(0, this.file.size - VhdFooter.size);
      pushRun(out, { kind: 'data', length: Math.max(0, Math.min(length, dataEnd - offset)), at: offset });
      pushRun(out, { kind: 'zero', length: length - Math.max(0, Math.min(length, dataEnd - offset)) });
      return out;
    }
    for (let pos = offset, end = offset + length; pos < end;) {
      const i = Math.floor(pos / this.bs);
      const next = Math.min(end, (i + 1) * this.bs);
      const sector = this.bat.getUint32(i * 4);
      if (sector === BAT_UNUSED) pushRun(out, { kind: 'zero', length: next - pos });
      else {
        // Data past the end of the file reads as zeros; the block must start inside it.
        const data = this.file.within(`VHD block ${i} (BAT entry at ${this.batAt + i * 4})`, sector * 512 + this.bitmap, 1);
        pushRun(out, { kind: 'data', length: next - pos, at: data + pos - i * this.bs });
      }
      pos = next;
    }
    return out;
  }
}
