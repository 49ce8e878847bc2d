import { bigIntOf } from '../../util/struct.js';
import { VHD_DISK_DYNAMIC, VHD_DISK_FIXED, VhdDynamicHeader, VhdFooter } from '../vhd.js';
import { corrupt, corruptAt, fieldNumber, type InputFile } from './file.js';
import type { InputVolume } from './materialize.js';
import { readRawVolumeAsync } from './raw.js';
import { ExtentCollector } from './volume.js';

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
 * A VHD (fixed or dynamic; no differencing) as a Volume of size current_size. The dynamic header,
 * the block allocation table and every block it points to are checked against the file first.
 */
export async function readVhd(file: InputFile, signal?: AbortSignal): Promise<InputVolume> {
  const footerAt = cookieOf(file.decode(VhdFooter, 0).cookie as Uint8Array) === 'conectix' ? 0 : Math.max(0, file.size - VhdFooter.size);
  const footer = file.decode(VhdFooter, footerAt);
  const size = fieldNumber(file, 'VHD footer', footerAt, footer, 'current_size');
  if (footer.disk_type === VHD_DISK_FIXED) {
    return { volume: await readRawVolumeAsync(file.path, Math.max(0, Math.min(size, file.size - VhdFooter.size)), file, signal), format: 'vhd-fixed', cleanup: () => undefined };
  }
  if (footer.disk_type === VHD_DISK_DIFFERENCING) throw corrupt(file.path, `VHD disk type ${footer.disk_type} (differencing) is not supported`);
  if (footer.disk_type !== VHD_DISK_DYNAMIC) throw corruptAt(file.path, 'VHD footer', footerAt, `disk_type ${footer.disk_type} is not fixed (2) or dynamic (3)`);

  const HDR = 'VHD dynamic disk header';
  const headerAt = file.within(HDR, bigIntOf(footer.data_offset), VhdDynamicHeader.size);
  const dh = file.decode(VhdDynamicHeader, headerAt);
  if (cookieOf(dh.cookie as Uint8Array) !== 'cxsparse') throw corruptAt(file.path, HDR, headerAt, 'no "cxsparse" cookie');
  // qemu block/vpc.c: a power-of-two block size of at least a sector, and a table that covers the disk.
  const bs = fieldNumber(file, HDR, headerAt, dh, 'block_size', 512);
  if ((bs & (bs - 1)) !== 0) throw corruptAt(file.path, HDR, headerAt, `block_size ${bs} is not a power of two`);
  const entries = fieldNumber(file, HDR, headerAt, dh, 'max_table_entries');
  if (entries * bs < size) throw corruptAt(file.path, HDR, headerAt, `max_table_entries ${entries} of ${bs}-byte blocks cover less than current_size ${size}`);
  const bitmap = Math.ceil(bs / 512 / 8 / 512) * 512;
  const batAt = file.within('VHD block allocation table', bigIntOf(dh.table_offset), entries * 4);
  const bat = file.read(batAt, entries * 4);
  const dv = new DataView(bat.buffer);
  const out = new ExtentCollector(file.path, file.size, size);
  for (let i = 0; i < entries && i * bs < size; i++) {
    const sector = dv.getUint32(i * 4);
    if (sector === BAT_UNUSED) continue;
    // The block's sector bitmap, then its data; data past the end of the file reads as zeros.
    const data = file.within(`VHD block ${i} (BAT entry at ${batAt + i * 4})`, sector * 512 + bitmap, 1);
    out.add(i * bs, Math.min(bs, file.size - data), data);
  }
  return { volume: out.finish(), format: 'vhd', cleanup: () => undefined };
}
