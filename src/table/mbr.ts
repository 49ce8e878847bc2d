import { defineStruct } from '../util/struct.js';

/* Legacy MBR (UEFI 2.10 §5.2.1, Table 5.1/5.2): boot code, signature, 4 entries, 0xAA55. */
export const MbrPartitionRecord = defineStruct('MBRPartitionRecord', 16, [
  { name: 'BootIndicator', offset: 0x0, kind: 'u8' },
  { name: 'StartingCHS', offset: 0x1, kind: { bytes: 3 } },
  { name: 'OSType', offset: 0x4, kind: 'u8' },
  { name: 'EndingCHS', offset: 0x5, kind: { bytes: 3 } },
  { name: 'StartingLBA', offset: 0x8, kind: 'u32le' },
  { name: 'SizeInLBA', offset: 0xc, kind: 'u32le' },
]);

export const Mbr = defineStruct('LegacyMBR', 512, [
  { name: 'BootCode', offset: 0x0, kind: { bytes: 440 } },
  { name: 'UniqueMBRDiskSignature', offset: 0x1b8, kind: 'u32le' },
  { name: 'Unknown', offset: 0x1bc, kind: 'u16le' },
  { name: 'Signature', offset: 0x1fe, kind: 'u16le' },
]);
export const MBR_PARTITION_OFFSET = 0x1be;

export interface MbrEntry {
  bootable: boolean;
  type: number;
  /** In sectors. */
  start: number;
  size: number;
}

/**
 * CHS address for an LBA, as fdisk writes it for 255 heads x 63 sectors; LBAs past the CHS range get
 * the "maximum" marker FE FF FF (UEFI 2.10 §5.2.1: CHS is ignored by UEFI; kept for old BIOSes).
 */
export function chs(lba: number): Uint8Array {
  const heads = 255, sectors = 63;
  const c = Math.floor(lba / (heads * sectors));
  if (c > 1023) return Uint8Array.from([0xfe, 0xff, 0xff]);
  const h = Math.floor(lba / sectors) % heads;
  const s = (lba % sectors) + 1;
  return Uint8Array.from([h, ((c >> 2) & 0xc0) | s, c & 0xff]);
}

/**
 * Encode a 512-byte MBR sector. `sector0` may carry boot code to keep (bytes 0..439).
 * Entries are written in order into the four slots.
 */
export function encodeMbr(entries: readonly MbrEntry[], diskSignature: number, bootCode?: Uint8Array): Uint8Array {
  const buf = new Uint8Array(512);
  if (bootCode) buf.set(bootCode.subarray(0, 440));
  Mbr.encode({ UniqueMBRDiskSignature: diskSignature >>> 0, Signature: 0xaa55 }, buf);
  entries.forEach((e, i) => {
    const last = e.start + e.size - 1;
    MbrPartitionRecord.encode({
      BootIndicator: e.bootable ? 0x80 : 0,
      StartingCHS: chs(e.start),
      OSType: e.type,
      EndingCHS: chs(last),
      StartingLBA: e.start,
      SizeInLBA: e.size,
    }, buf, MBR_PARTITION_OFFSET + 16 * i);
  });
  return buf;
}
