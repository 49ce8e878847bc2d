import { VHD_DISK_FIXED, VhdDynamicHeader, VhdFooter } from '../vhd.js';
import { corrupt, type InputFile } from './file.js';
import type { InputVolume } from './materialize.js';
import { readRawVolumeAsync } from './raw.js';
import { ExtentCollector } from './volume.js';

const decoder = new TextDecoder('latin1');

/** True when the file has a VHD footer at its start (dynamic) or end (fixed). */
export function isVhd(file: InputFile): boolean {
  return decoder.decode(file.read(0, 8)) === 'conectix' || (file.size >= 512 && decoder.decode(file.read(file.size - 512, 8)) === 'conectix');
}

/** A VHD (fixed or dynamic; no differencing) as a Volume of size current_size. */
export async function readVhd(file: InputFile, signal?: AbortSignal): Promise<InputVolume> {
  const atStart = decoder.decode(file.read(0, 8)) === 'conectix';
  const fb = new DataView(file.read(atStart ? 0 : file.size - 512, 512).buffer);
  const footer = {
    current_size: Number(fb.getBigUint64(VhdFooter.offsetOf('current_size'))),
    disk_type: fb.getUint32(VhdFooter.offsetOf('disk_type')),
    data_offset: Number(fb.getBigUint64(VhdFooter.offsetOf('data_offset'))),
  };
  const size = footer.current_size;
  if (footer.disk_type === VHD_DISK_FIXED) {
    return { volume: await readRawVolumeAsync(file.path, Math.min(size, file.size - 512), file, signal), format: 'vhd-fixed', cleanup: () => undefined };
  }
  if (footer.disk_type !== 3) throw corrupt(file.path, `VHD disk type ${footer.disk_type} (differencing) is not supported`);
  // (decode() would reject the all-ones data_offset of the dynamic header: read the fields needed.)
  const hb = new DataView(file.read(footer.data_offset, 1024).buffer);
  const dh = {
    table_offset: Number(hb.getBigUint64(VhdDynamicHeader.offsetOf('table_offset'))),
    max_table_entries: hb.getUint32(VhdDynamicHeader.offsetOf('max_table_entries')),
    block_size: hb.getUint32(VhdDynamicHeader.offsetOf('block_size')),
  };
  const bs = dh.block_size;
  const bitmap = Math.ceil(bs / 512 / 8 / 512) * 512;
  const bat = file.read(dh.table_offset, dh.max_table_entries * 4);
  const dv = new DataView(bat.buffer);
  const out = new ExtentCollector(file.path, file.size, size);
  for (let i = 0; i < dh.max_table_entries; i++) {
    const sector = dv.getUint32(i * 4);
    if (sector === 0xffffffff) continue;
    out.add(i * bs, bs, sector * 512 + bitmap);
  }
  return { volume: out.finish(), format: 'vhd', cleanup: () => undefined };
}
