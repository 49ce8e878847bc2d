/**
 * FAT on-disk structures, declared once with the field names of the Microsoft FAT specification
 * ("Microsoft Extensible Firmware Initiative FAT32 File System Specification", fatgen103, 2000):
 * boot sector and BPB (§3.1–3.3), FSInfo (§5), directory entry (§6) and long-name entry (§7).
 */
import { defineStruct } from '../../util/struct.js';

/** fatgen103 §3.1: the BPB fields shared by FAT12, FAT16 and FAT32 (offsets 0x00–0x23). */
const BPB_COMMON = [
  { name: 'BS_jmpBoot', offset: 0x00, kind: { bytes: 3 } },
  { name: 'BS_OEMName', offset: 0x03, kind: { bytes: 8 } },
  { name: 'BPB_BytsPerSec', offset: 0x0b, kind: 'u16le' },
  { name: 'BPB_SecPerClus', offset: 0x0d, kind: 'u8' },
  { name: 'BPB_RsvdSecCnt', offset: 0x0e, kind: 'u16le' },
  { name: 'BPB_NumFATs', offset: 0x10, kind: 'u8' },
  { name: 'BPB_RootEntCnt', offset: 0x11, kind: 'u16le' },
  { name: 'BPB_TotSec16', offset: 0x13, kind: 'u16le' },
  { name: 'BPB_Media', offset: 0x15, kind: 'u8' },
  { name: 'BPB_FATSz16', offset: 0x16, kind: 'u16le' },
  { name: 'BPB_SecPerTrk', offset: 0x18, kind: 'u16le' },
  { name: 'BPB_NumHeads', offset: 0x1a, kind: 'u16le' },
  { name: 'BPB_HiddSec', offset: 0x1c, kind: 'u32le' },
  { name: 'BPB_TotSec32', offset: 0x20, kind: 'u32le' },
] as const;

/** The 0x55 0xAA signature at offsets 510–511 of the boot sector (fatgen103 §3.1, note after table). */
const SIGNATURE = { name: 'Signature_word', offset: 0x1fe, kind: 'u16le' } as const;

/** fatgen103 §3.2: boot sector of FAT12 and FAT16 volumes (first 512 bytes of sector 0). */
export const BootSector16 = defineStruct('FAT16 boot sector', 512, [
  ...BPB_COMMON,
  { name: 'BS_DrvNum', offset: 0x24, kind: 'u8' },
  { name: 'BS_Reserved1', offset: 0x25, kind: 'u8' },
  { name: 'BS_BootSig', offset: 0x26, kind: 'u8' },
  { name: 'BS_VolID', offset: 0x27, kind: 'u32le' },
  { name: 'BS_VolLab', offset: 0x2b, kind: { bytes: 11 } },
  { name: 'BS_FilSysType', offset: 0x36, kind: { bytes: 8 } },
  { name: 'BS_BootCode', offset: 0x3e, kind: { bytes: 448 } },
  SIGNATURE,
]);

/** fatgen103 §3.3: boot sector of FAT32 volumes. */
export const BootSector32 = defineStruct('FAT32 boot sector', 512, [
  ...BPB_COMMON,
  { name: 'BPB_FATSz32', offset: 0x24, kind: 'u32le' },
  { name: 'BPB_ExtFlags', offset: 0x28, kind: 'u16le' },
  { name: 'BPB_FSVer', offset: 0x2a, kind: 'u16le' },
  { name: 'BPB_RootClus', offset: 0x2c, kind: 'u32le' },
  { name: 'BPB_FSInfo', offset: 0x30, kind: 'u16le' },
  { name: 'BPB_BkBootSec', offset: 0x32, kind: 'u16le' },
  { name: 'BPB_Reserved', offset: 0x34, kind: { bytes: 12 } },
  { name: 'BS_DrvNum', offset: 0x40, kind: 'u8' },
  { name: 'BS_Reserved1', offset: 0x41, kind: 'u8' },
  { name: 'BS_BootSig', offset: 0x42, kind: 'u8' },
  { name: 'BS_VolID', offset: 0x43, kind: 'u32le' },
  { name: 'BS_VolLab', offset: 0x47, kind: { bytes: 11 } },
  { name: 'BS_FilSysType', offset: 0x52, kind: { bytes: 8 } },
  { name: 'BS_BootCode32', offset: 0x5a, kind: { bytes: 420 } },
  SIGNATURE,
]);

/** fatgen103 §5: the FAT32 FSInfo sector structure. */
export const FSInfo = defineStruct('FAT32 FSInfo', 512, [
  { name: 'FSI_LeadSig', offset: 0x000, kind: 'u32le' },
  { name: 'FSI_Reserved1', offset: 0x004, kind: { bytes: 480 } },
  { name: 'FSI_StrucSig', offset: 0x1e4, kind: 'u32le' },
  { name: 'FSI_Free_Count', offset: 0x1e8, kind: 'u32le' },
  { name: 'FSI_Nxt_Free', offset: 0x1ec, kind: 'u32le' },
  { name: 'FSI_Reserved2', offset: 0x1f0, kind: { bytes: 12 } },
  { name: 'FSI_TrailSig', offset: 0x1fc, kind: 'u32le' },
]);
export const FSI_LEAD_SIG = 0x41615252;
export const FSI_STRUC_SIG = 0x61417272;
export const FSI_TRAIL_SIG = 0xaa550000;

/** fatgen103 §6: a 32-byte short (8.3) directory entry. */
export const DirEntry = defineStruct('FAT directory entry', 32, [
  { name: 'DIR_Name', offset: 0x00, kind: { bytes: 11 } },
  { name: 'DIR_Attr', offset: 0x0b, kind: 'u8' },
  { name: 'DIR_NTRes', offset: 0x0c, kind: 'u8' },
  { name: 'DIR_CrtTimeTenth', offset: 0x0d, kind: 'u8' },
  { name: 'DIR_CrtTime', offset: 0x0e, kind: 'u16le' },
  { name: 'DIR_CrtDate', offset: 0x10, kind: 'u16le' },
  { name: 'DIR_LstAccDate', offset: 0x12, kind: 'u16le' },
  { name: 'DIR_FstClusHI', offset: 0x14, kind: 'u16le' },
  { name: 'DIR_WrtTime', offset: 0x16, kind: 'u16le' },
  { name: 'DIR_WrtDate', offset: 0x18, kind: 'u16le' },
  { name: 'DIR_FstClusLO', offset: 0x1a, kind: 'u16le' },
  { name: 'DIR_FileSize', offset: 0x1c, kind: 'u32le' },
]);

/** fatgen103 §7: a 32-byte long-name (VFAT) directory entry; name characters are UTF-16LE. */
export const LfnEntry = defineStruct('FAT long name entry', 32, [
  { name: 'LDIR_Ord', offset: 0x00, kind: 'u8' },
  { name: 'LDIR_Name1', offset: 0x01, kind: { bytes: 10 } },
  { name: 'LDIR_Attr', offset: 0x0b, kind: 'u8' },
  { name: 'LDIR_Type', offset: 0x0c, kind: 'u8' },
  { name: 'LDIR_Chksum', offset: 0x0d, kind: 'u8' },
  { name: 'LDIR_Name2', offset: 0x0e, kind: { bytes: 12 } },
  { name: 'LDIR_FstClusLO', offset: 0x1a, kind: 'u16le' },
  { name: 'LDIR_Name3', offset: 0x1c, kind: { bytes: 4 } },
]);

/** fatgen103 §6: DIR_Attr bits. */
export const ATTR_READ_ONLY = 0x01;
export const ATTR_HIDDEN = 0x02;
export const ATTR_SYSTEM = 0x04;
export const ATTR_VOLUME_ID = 0x08;
export const ATTR_DIRECTORY = 0x10;
export const ATTR_ARCHIVE = 0x20;
export const ATTR_LONG_NAME = 0x0f;
/** fatgen103 §7: LDIR_Ord flag of the last (physically first) long-name entry. */
export const LAST_LONG_ENTRY = 0x40;
/** DIR_NTRes bits Windows NT and Linux (`shortname=mixed`) use for all-lower-case base / extension. */
export const NTRES_LOWER_BASE = 0x08;
export const NTRES_LOWER_EXT = 0x10;

/**
 * Boot code for a volume nobody boots from BIOS: `int 0x18` (boot failure: the BIOS tries the next
 * device), then `cli; hlt` forever. The jump in BS_jmpBoot lands here.
 */
export const NOT_BOOTABLE_CODE = Uint8Array.from([0xcd, 0x18, 0xfa, 0xf4, 0xeb, 0xfd]);

export type FatType = 12 | 16 | 32;

export interface BootSectorParams {
  fatType: FatType;
  bytesPerSector: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  numFats: number;
  rootEntries: number;
  totalSectors: number;
  media: number;
  fatSectors: number;
  volumeId: number;
  /** 11 bytes, space padded. */
  label: Uint8Array;
  rootCluster: number;
  fsInfoSector: number;
  backupBootSector: number;
  /** Sectors before the volume on its disk (fatgen103 §3.1 BPB_HiddSec): the partition's start. */
  hiddenSectors?: number;
}

const OEM_NAME = new TextEncoder().encode('MSWIN4.1'); // fatgen103 §3.1 recommends it for compatibility

/** Encode sector 0 (one sector, `bytesPerSector` long) for the given geometry. */
export function encodeBootSector(p: BootSectorParams): Uint8Array {
  const buf = new Uint8Array(p.bytesPerSector);
  const fat32 = p.fatType === 32;
  // fatgen103 §3.1: EB xx 90; the jump skips the BPB to the boot code.
  const codeAt = fat32 ? BootSector32.offsetOf('BS_BootCode32') : BootSector16.offsetOf('BS_BootCode');
  const common = {
    BS_jmpBoot: Uint8Array.from([0xeb, codeAt - 2, 0x90]),
    BS_OEMName: OEM_NAME,
    BPB_BytsPerSec: p.bytesPerSector,
    BPB_SecPerClus: p.sectorsPerCluster,
    BPB_RsvdSecCnt: p.reservedSectors,
    BPB_NumFATs: p.numFats,
    BPB_RootEntCnt: fat32 ? 0 : p.rootEntries,
    BPB_TotSec16: !fat32 && p.totalSectors < 0x10000 ? p.totalSectors : 0,
    BPB_Media: p.media,
    BPB_FATSz16: fat32 ? 0 : p.fatSectors,
    BPB_SecPerTrk: 63,
    BPB_NumHeads: 255,
    BPB_HiddSec: p.hiddenSectors ?? 0,
    BPB_TotSec32: !fat32 && p.totalSectors < 0x10000 ? 0 : p.totalSectors,
    BS_DrvNum: 0x80,
    BS_Reserved1: 0,
    BS_BootSig: 0x29,
    BS_VolID: p.volumeId,
    BS_VolLab: p.label,
    BS_FilSysType: new TextEncoder().encode(fat32 ? 'FAT32   ' : p.fatType === 16 ? 'FAT16   ' : 'FAT12   '),
    Signature_word: 0xaa55,
  };
  if (fat32) {
    BootSector32.encode({
      ...common,
      BPB_FATSz32: p.fatSectors,
      BPB_ExtFlags: 0,
      BPB_FSVer: 0,
      BPB_RootClus: p.rootCluster,
      BPB_FSInfo: p.fsInfoSector,
      BPB_BkBootSec: p.backupBootSector,
      BS_BootCode32: NOT_BOOTABLE_CODE,
    }, buf);
  } else {
    BootSector16.encode({ ...common, BS_BootCode: NOT_BOOTABLE_CODE }, buf);
  }
  return buf;
}

/** Encode the FAT32 FSInfo sector (fatgen103 §5). */
export function encodeFsInfo(bytesPerSector: number, freeCount: number, nextFree: number): Uint8Array {
  const buf = new Uint8Array(bytesPerSector);
  FSInfo.encode({
    FSI_LeadSig: FSI_LEAD_SIG,
    FSI_StrucSig: FSI_STRUC_SIG,
    FSI_Free_Count: freeCount,
    FSI_Nxt_Free: nextFree,
    FSI_TrailSig: FSI_TRAIL_SIG,
  }, buf);
  return buf;
}
