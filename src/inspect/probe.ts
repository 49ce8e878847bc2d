import { formatUuid } from '../util/ids.js';
import type { ImageSource } from './source.js';

export interface FoundFilesystem {
  type: 'ext4' | 'ext3' | 'ext2' | 'vfat' | 'iso9660' | 'squashfs' | 'unknown';
  label?: string;
  uuid?: string;
  size?: number;
  details?: Record<string, string | number>;
}

const le16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const le32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const text = (b: Uint8Array, o: number, n: number): string => Buffer.from(b.subarray(o, o + n)).toString('latin1').replace(/[\0 ]+$/, '');

/** Identify the filesystem at the start of `src` from its superblock or boot sector. */
export function probeFilesystem(src: ImageSource): FoundFilesystem {
  // ext2/3/4: superblock at byte 1024, s_magic 0xEF53 at 0x38 (kernel ext4 docs, "Super Block").
  const sb = src.read(1024, 1024);
  if (sb.length >= 0x154 && le16(sb, 0x38) === 0xef53) {
    const compat = le32(sb, 0x5c), incompat = le32(sb, 0x60), roCompat = le32(sb, 0x64);
    const blockSize = 1024 << le32(sb, 0x18);
    const blocks = le32(sb, 0x4) + (incompat & 0x80 ? le32(sb, 0x150) * 2 ** 32 : 0);
    const type = incompat & 0x40 /* extents */ || incompat & 0x80 || roCompat & 0x400 ? 'ext4' : compat & 0x4 /* has_journal */ ? 'ext3' : 'ext2';
    return {
      type, label: text(sb, 0x78, 16), uuid: formatUuid(sb.subarray(0x68, 0x78)), size: blocks * blockSize,
      details: { blockSize, blocks, inodes: le32(sb, 0x0), freeBlocks: le32(sb, 0xc), freeInodes: le32(sb, 0x10), featureCompat: '0x' + compat.toString(16), featureIncompat: '0x' + incompat.toString(16), featureRoCompat: '0x' + roCompat.toString(16) },
    };
  }
  // squashfs: "hsqs" magic at 0.
  const head = src.read(0, 512);
  if (head.length >= 96 && le32(head, 0) === 0x73717368) {
    return { type: 'squashfs', size: Number(new DataView(head.buffer, head.byteOffset).getBigUint64(40, true)), details: { inodes: le32(head, 4), blockSize: le32(head, 12) } };
  }
  // ISO 9660: "CD001" at 32769 (ECMA-119 8.4).
  const pvd = src.read(32768, 2048);
  if (pvd.length >= 2048 && text(pvd, 1, 5) === 'CD001') {
    return { type: 'iso9660', label: text(pvd, 40, 32), size: le32(pvd, 80) * le16(pvd, 128), details: { systemId: text(pvd, 8, 32) } };
  }
  // FAT: boot signature 0x55AA and a sane BPB (Microsoft FAT spec, "Boot Sector and BPB").
  if (head.length === 512 && head[510] === 0x55 && head[511] === 0xaa && [512, 1024, 2048, 4096].includes(le16(head, 11)) && head[13]! > 0) {
    const bytesPerSector = le16(head, 11);
    const totalSectors = le16(head, 19) || le32(head, 32);
    const fatSize16 = le16(head, 22);
    const isFat32 = fatSize16 === 0;
    const o = isFat32 ? 64 : 36;
    const id = le32(head, o + 3);
    const rootEntries = le16(head, 17);
    const fatSize = isFat32 ? le32(head, 36) : fatSize16;
    const dataSectors = totalSectors - (le16(head, 14) + head[16]! * fatSize + Math.ceil((rootEntries * 32) / bytesPerSector));
    const clusters = Math.floor(dataSectors / head[13]!);
    const fatType = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
    return {
      type: 'vfat', label: text(head, o + 7, 11), uuid: `${(id >>> 16).toString(16).padStart(4, '0')}-${(id & 0xffff).toString(16).padStart(4, '0')}`.toUpperCase(),
      size: totalSectors * bytesPerSector, details: { fatType, clusters, bytesPerSector, sectorsPerCluster: head[13]! },
    };
  }
  return { type: 'unknown' };
}
