import { BootSector16, BootSector32 } from '../fs/fat/bootsector.js';
import { COMPAT_HAS_JOURNAL, EXT4_SUPER_MAGIC, INCOMPAT_64BIT, INCOMPAT_EXTENTS, RO_COMPAT_METADATA_CSUM, Superblock } from '../fs/ext4/superblock.js';
import { formatUuid } from '../util/ids.js';
import { SECTOR, SYSTEM_AREA_SECTORS, VolumeDescriptor } from '../fs/iso9660/structs.js';
import { SQUASHFS_MAGIC, SuperBlock as SquashfsSuperBlock } from '../fs/squashfs/format.js';
import { safeNumber, type DecodedValue } from '../util/struct.js';
import type { ImageSource } from './source.js';

export interface FoundFilesystem {
  type: 'ext4' | 'ext3' | 'ext2' | 'vfat' | 'iso9660' | 'squashfs' | 'unknown';
  label?: string;
  uuid?: string;
  size?: number;
  details?: Record<string, string | number>;
}

/*
 * Every filesystem is probed through its writer's declarations: ext4 `Superblock`, FAT
 * `BootSector16`/`BootSector32`, squashfs `SuperBlock` (fs/squashfs/format.ts), ISO 9660
 * `VolumeDescriptor` (fs/iso9660/structs.ts).
 */

/** ECMA-119 8.4: the Primary Volume Descriptor, at logical sector 16 (byte 32768). */
const PVD_OFFSET = SYSTEM_AREA_SECTORS * SECTOR;

/** Text of a space- or NUL-padded field. */
const text = (b: DecodedValue): string => Buffer.from(b as Uint8Array).toString('latin1').replace(/[\0 ]+$/, '');
/** A decoded integer for the report: bigints above 2^53 (garbage) as the nearest number. */
const num = (v: DecodedValue): number => safeNumber(v) ?? Number(v as bigint);
/** `buf` padded with zeros to `size` (a superblock cut short by the end of the partition reads as zeros). */
function padded(buf: Uint8Array, size: number): Uint8Array {
  if (buf.length >= size) return buf;
  const out = new Uint8Array(size);
  out.set(buf);
  return out;
}

/** Identify the filesystem at the start of `src` from its superblock or boot sector. */
export function probeFilesystem(src: ImageSource): FoundFilesystem {
  // ext2/3/4: superblock at byte 1024, s_magic 0xEF53 (kernel ext4 docs, "Super Block").
  const raw = src.read(1024, Superblock.size);
  if (raw.length >= Superblock.offsetOf('s_blocks_count_hi') + 4) {
    const sb = Superblock.decode(padded(raw, Superblock.size));
    if (sb.s_magic === EXT4_SUPER_MAGIC) {
      const compat = sb.s_feature_compat as number, incompat = sb.s_feature_incompat as number, roCompat = sb.s_feature_ro_compat as number;
      const blockSize = 1024 << (sb.s_log_block_size as number);
      const blocks = num(incompat & INCOMPAT_64BIT ? sb.s_blocks_count : sb.s_blocks_count_lo);
      const type = incompat & INCOMPAT_EXTENTS || incompat & INCOMPAT_64BIT || roCompat & RO_COMPAT_METADATA_CSUM ? 'ext4' : compat & COMPAT_HAS_JOURNAL ? 'ext3' : 'ext2';
      return {
        type, label: text(sb.s_volume_name), uuid: formatUuid(sb.s_uuid as Uint8Array), size: blocks * blockSize,
        details: {
          blockSize, blocks, inodes: num(sb.s_inodes_count), freeBlocks: num(sb.s_free_blocks_count_lo), freeInodes: num(sb.s_free_inodes_count),
          featureCompat: '0x' + compat.toString(16), featureIncompat: '0x' + incompat.toString(16), featureRoCompat: '0x' + roCompat.toString(16),
        },
      };
    }
  }
  const head = src.read(0, 512);
  if (head.length >= SquashfsSuperBlock.size) {
    const sq = SquashfsSuperBlock.decode(head);
    if (sq.s_magic === SQUASHFS_MAGIC) return { type: 'squashfs', size: num(sq.bytes_used), details: { inodes: num(sq.inodes), blockSize: num(sq.block_size) } };
  }
  const pvdBytes = src.read(PVD_OFFSET, VolumeDescriptor.size);
  if (pvdBytes.length >= VolumeDescriptor.size) {
    const pvd = VolumeDescriptor.decode(pvdBytes);
    if (text(pvd.standard_identifier) === 'CD001') {
      return { type: 'iso9660', label: text(pvd.volume_identifier), size: num(pvd.volume_space_size) * num(pvd.logical_block_size), details: { systemId: text(pvd.system_identifier) } };
    }
  }
  // FAT: boot signature 0x55AA and a sane BPB (fatgen103 §3.1, "Boot Sector and BPB").
  if (head.length === BootSector16.size) {
    const bs = BootSector16.decode(head);
    const bytesPerSector = bs.BPB_BytsPerSec as number;
    const secPerClus = bs.BPB_SecPerClus as number;
    if (bs.Signature_word === 0xaa55 && [512, 1024, 2048, 4096].includes(bytesPerSector) && secPerClus > 0) {
      const totalSectors = (bs.BPB_TotSec16 as number) || (bs.BPB_TotSec32 as number);
      const fatSize16 = bs.BPB_FATSz16 as number;
      const isFat32 = fatSize16 === 0;
      // FAT32 keeps its volume id and label after its own BPB fields (fatgen103 §3.3).
      const ext = isFat32 ? BootSector32.decode(head) : bs;
      const id = ext.BS_VolID as number;
      const rootEntries = bs.BPB_RootEntCnt as number;
      const fatSize = isFat32 ? (BootSector32.decodeField(head, 'BPB_FATSz32') as number) : fatSize16;
      const dataSectors = totalSectors - ((bs.BPB_RsvdSecCnt as number) + (bs.BPB_NumFATs as number) * fatSize + Math.ceil((rootEntries * 32) / bytesPerSector));
      const clusters = Math.floor(dataSectors / secPerClus);
      const fatType = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
      return {
        type: 'vfat', label: text(ext.BS_VolLab), uuid: `${(id >>> 16).toString(16).padStart(4, '0')}-${(id & 0xffff).toString(16).padStart(4, '0')}`.toUpperCase(),
        size: totalSectors * bytesPerSector, details: { fatType, clusters, bytesPerSector, sectorsPerCluster: secPerClus },
      };
    }
  }
  return { type: 'unknown' };
}
