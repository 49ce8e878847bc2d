/**
 * isohybrid: the system area (the first 32 KiB, ECMA-119 6.2.1: "reserved for system use") of an
 * ISO that also boots from a USB stick, and the structures after the ISO. One layout per input, as
 * xorriso 1.5 writes them (checked field by field against `xorriso -report_system_area plain` in
 * test/iso9660/hybrid.test.ts):
 *
 * - MBR boot code (sector 0): GRUB's boot_hybrid.img (`--grub2-mbr`) or syslinux's isohdpfx*.bin
 *   (`-isohybrid-mbr`), with the 512-byte LBA of what it loads as u64 at 0x1b0: the BIOS El Torito
 *   image × 4 + 4 for GRUB (diskboot.img, after cdboot.img's 2048 bytes), × 4 for isohdpfx
 *   (isolinux.bin itself).
 * - `gpt`: a protective MBR (one 0xEE entry, UEFI 2.10 §5.2.3) and a GPT whose 248-entry array fills
 *   the system area (LBA 2-63, so the first usable LBA is the first ISO block after it), with the ESP
 *   over the El Torito EFI image (`--efi-boot-part --efi-boot-image`, grub-mkrescue's layout) or
 *   over an ESP appended after the ISO as partition 2 (`-append_partition 2 ... -appended_part_as_gpt`,
 *   Ubuntu's layout), the rest of the ISO covered by basic-data "Gap" partitions (read-only,
 *   required), and the backup array and header in a 2048-byte-aligned tail after everything.
 * - without `gpt`: MBR partitions — 1: the ISO from sector 0, active (type 0x00 when the ESP lies
 *   inside it, as `-isohybrid-gpt-basdat` writes it: EDK2's MBR check skips type-0 entries when it
 *   looks for overlapping partitions; else 0x17 for isohdpfx, 0x83 for GRUB, as xorriso); 2: type
 *   0xEF over the EFI image or the appended ESP (`-append_partition 2 0xef`, Debian's layout).
 *   (xorriso writes no partition at all for `--grub2-mbr` alone; a USB stick then has no ESP.)
 *
 * @example
 * const h = planHybrid({ isoSectors, biosImage, efiImage, mbrCode, gpt: true, seed });
 * // h.systemArea at offset 0, each h.tail entry at its offset, image size h.totalSize
 */
import { DiskwrightError } from '../../errors.js';
import { crc32 } from '../../util/crc32.js';
import { deriveBytes, deriveUuid } from '../../util/ids.js';
import { defineStruct } from '../../util/struct.js';
import { encodeEntries, encodeHeader, GPT_ENTRY_SIZE, type GptGeometry, type GptPartition } from '../../table/gpt.js';
import { encodeMbr, MBR_PARTITION_OFFSET, MbrPartitionRecord, type MbrEntry } from '../../table/mbr.js';
import { MBR_PROTECTIVE_TYPE, PARTITION_TYPES } from '../../table/types.js';
import type { BootImageRef } from './eltorito.js';

export interface HybridInput {
  /** 2048-byte blocks of the ISO before any appended data. */
  isoSectors: number;
  biosImage?: BootImageRef;
  efiImage?: BootImageRef;
  /** MBR boot code: GRUB's boot_hybrid.img (512 bytes) or syslinux's isohdpfx*.bin (432 bytes). */
  mbrCode?: Uint8Array;
  gpt: boolean;
  /** An ESP volume appended after the ISO (becomes partition 2), `volumeSize` bytes. */
  appendedEsp?: { volumeSize: number };
  seed: string;
  /** Spec path of the hybrid options, for errors (default `iso9660.hybrid`). */
  specPath?: string;
}

export interface HybridPlan {
  /** Bytes for offset 0 of the image (512 bytes, or the whole 32 KiB system area with a GPT). */
  systemArea: Uint8Array;
  /** Size of the whole image in bytes, a multiple of 2048. */
  totalSize: number;
  /** Structures after the ISO (the backup GPT), at absolute offsets. */
  tail: { offset: number; data: Uint8Array }[];
  /** Where the appended ESP volume goes (bytes), with `appendedEsp`. */
  appendedEspOffset?: number;
}

const SECTOR = 512;
const BLOCK = 2048;
const PER_BLOCK = BLOCK / SECTOR;
/** ECMA-119 6.2.1: the system area is blocks 0-15. */
export const SYSTEM_AREA_BYTES = 16 * BLOCK;
/** xorriso's GPT: the entry array fills LBA 2-63 of the system area: (32768 - 2 * 512) / 128 = 248 entries. */
export const ISO_GPT_ENTRIES = (SYSTEM_AREA_BYTES - 2 * SECTOR) / GPT_ENTRY_SIZE;
const ENTRY_SECTORS = (ISO_GPT_ENTRIES * GPT_ENTRY_SIZE) / SECTOR;
const FIRST_USABLE = SYSTEM_AREA_BYTES / SECTOR;

/*
 * The fields the hybrid MBR code reads (syslinux utils/isohybrid.c and GRUB's boot_hybrid.img, which
 * keep 0x1b0-0x1b7 free for them before the UEFI 2.10 Table 5.1 disk signature at 0x1b8).
 */
export const HybridMbrFields = defineStruct('HybridMBR', 512, [
  { name: 'boot_code', offset: 0x000, kind: { bytes: 0x1b0 } },
  { name: 'boot_image_lba', offset: 0x1b0, kind: 'u64le' },
]);

/** GPT attributes xorriso gives the partitions over ISO data: bit 60 read-only, bit 0 required (UEFI 2.10 Table 5.8). */
const READ_ONLY_REQUIRED = (1n << 60n) | 1n;
const ESP = PARTITION_TYPES.esp!;
const BASIC_DATA = PARTITION_TYPES['basic-data']!.gpt!;
/** MBR types of the partition over the ISO (xorriso): 0x17 with isohdpfx, 0x83 with GRUB, 0x00 under an ESP. */
const MBR_ISO_ISOLINUX = 0x17;
const MBR_ISO_GRUB = 0x83;
const MBR_EMPTY = 0x00;

type MbrKind = 'grub' | 'isolinux';

/** Which hybrid MBR `code` is: its messages name it ("GRUB " / "isolinux.bin missing or corrupt"). */
export function mbrKind(code: Uint8Array, path: string): MbrKind {
  const text = Buffer.from(code.buffer, code.byteOffset, code.length).toString('latin1');
  if (text.includes('isolinux')) return 'isolinux';
  if (text.includes('GRUB')) return 'grub';
  throw new DiskwrightError('E_HYBRID_MBR', 'the hybrid MBR code is neither GRUB\'s boot_hybrid.img nor syslinux\'s isohdpfx.bin (it names neither GRUB nor isolinux), so where it expects the boot image is unknown; use one of those files', { path, value: code.length });
}

/**
 * The system area, tail and total size of a hybrid ISO (see the module comment for the layouts).
 * Bad input is a DiskwrightError naming `specPath`: MBR code of the wrong size or kind, MBR code
 * without a BIOS image, an image past what an MBR can address.
 *
 * @example
 * planHybrid({ isoSectors: 1276, biosImage: { path: '/b.img', lba: 37, size: 29485 }, mbrCode, gpt: false, seed: 's' }).systemArea.length; // 512
 */
export function planHybrid(h: HybridInput): HybridPlan {
  const path = h.specPath ?? 'iso9660.hybrid';
  const isoEnd = h.isoSectors * PER_BLOCK;
  // Where the ESP is (512-byte sectors) and whether it lies inside the ISO. xorriso counts an
  // appended ESP, and the GPT entry of one inside, in whole 2048-byte blocks (the next block starts
  // something else), but the MBR entry of one inside in 512-byte sectors of the file.
  const blocks = (bytes: number): number => Math.ceil(bytes / BLOCK) * PER_BLOCK;
  const esp = h.appendedEsp
    ? { start: isoEnd, sectors: blocks(h.appendedEsp.volumeSize), inside: false }
    : h.efiImage ? { start: h.efiImage.lba * PER_BLOCK, sectors: h.gpt ? blocks(h.efiImage.size) : Math.ceil(h.efiImage.size / SECTOR), inside: true } : undefined;
  if (esp?.inside && esp.start + esp.sectors > isoEnd) throw new Error(`planHybrid: the EFI image (LBA ${esp.start}, ${esp.sectors} sectors) is not inside the ISO (${isoEnd} sectors)`);
  const dataEnd = esp && !esp.inside ? esp.start + esp.sectors : isoEnd;

  let code: Uint8Array | undefined;
  let kind: MbrKind | undefined;
  if (h.mbrCode) {
    if (h.mbrCode.length < HybridMbrFields.sizeOf('boot_code') || h.mbrCode.length > SECTOR) {
      throw new DiskwrightError('E_HYBRID_MBR', `the hybrid MBR code is ${h.mbrCode.length} bytes; expected 432 to 512 (GRUB's boot_hybrid.img or syslinux's isohdpfx.bin)`, { path: `${path}.mbr`, value: h.mbrCode.length });
    }
    kind = mbrKind(h.mbrCode, `${path}.mbr`);
    if (!h.biosImage) throw new DiskwrightError('E_HYBRID_MBR', 'the hybrid MBR code loads the BIOS El Torito image, but there is none; set boot.bios.image or drop hybrid.mbr', { path: `${path}.mbr`, value: undefined });
    code = new Uint8Array(HybridMbrFields.size);
    HybridMbrFields.encode({
      boot_code: h.mbrCode.subarray(0, HybridMbrFields.sizeOf('boot_code')),
      boot_image_lba: BigInt(h.biosImage.lba) * 4n + (kind === 'grub' ? 4n : 0n),
    }, code);
  }
  const mbrId = new DataView(deriveBytes(h.seed, 'iso-mbr-id', 4).buffer).getUint32(0, true);

  if (!h.gpt) {
    if (dataEnd > 0xffffffff) throw new DiskwrightError('E_HYBRID_SIZE', `the image (${dataEnd} sectors of 512 bytes) is past what an MBR partition can address (2^32 - 1 sectors); use hybrid.gpt`, { path, value: dataEnd });
    const isoType = esp?.inside ? MBR_EMPTY : kind === 'isolinux' ? MBR_ISO_ISOLINUX : MBR_ISO_GRUB;
    const entries: MbrEntry[] = [{ bootable: true, type: isoType, start: 0, size: isoEnd }];
    if (esp) entries.push({ bootable: false, type: ESP.mbr!, start: esp.start, size: esp.sectors });
    const result: HybridPlan = { systemArea: encodeMbr(entries, mbrId, code), totalSize: dataEnd * SECTOR, tail: [] };
    if (esp && !esp.inside) result.appendedEspOffset = esp.start * SECTOR;
    return result;
  }

  // The backup array and header go right after the data, the image rounded up to whole 2048-byte
  // blocks (as xorriso, which leaves one free usable sector there).
  const total = Math.ceil((dataEnd + 1 + ENTRY_SECTORS) / PER_BLOCK) * PER_BLOCK;
  const geo: GptGeometry = {
    sectorSize: SECTOR, totalSectors: total, entryCount: ISO_GPT_ENTRIES, primaryEntriesLba: 2,
    firstUsableLba: FIRST_USABLE, lastUsableLba: total - 2 - ENTRY_SECTORS, backupEntriesLba: total - 1 - ENTRY_SECTORS,
  };
  const parts = gptPartitions(isoEnd, esp, h.seed);
  const entries = encodeEntries(parts, ISO_GPT_ENTRIES);
  const crc = crc32(entries);
  const diskGuid = deriveUuid(h.seed, 'iso-gpt-disk');
  const systemArea = new Uint8Array(SYSTEM_AREA_BYTES);
  // Protective MBR (UEFI 2.10 §5.2.3, Table 5.4): one 0xEE entry from LBA 1 over the whole disk,
  // EndingCHS 0xFFFFFF as src/table/gpt.ts writes it.
  const mbr = encodeMbr([{ bootable: false, type: MBR_PROTECTIVE_TYPE, start: 1, size: Math.min(total - 1, 0xffffffff) }], mbrId, code);
  mbr.set([0xff, 0xff, 0xff], MBR_PARTITION_OFFSET + MbrPartitionRecord.offsetOf('EndingCHS'));
  systemArea.set(mbr, 0);
  systemArea.set(encodeHeader(geo, diskGuid, crc, false), SECTOR);
  systemArea.set(entries, 2 * SECTOR);
  const result: HybridPlan = {
    systemArea, totalSize: total * SECTOR,
    tail: [
      { offset: geo.backupEntriesLba * SECTOR, data: entries },
      { offset: (total - 1) * SECTOR, data: encodeHeader(geo, diskGuid, crc, true) },
    ],
  };
  if (esp && !esp.inside) result.appendedEspOffset = esp.start * SECTOR;
  return result;
}

/**
 * The GPT entries: the ISO's blocks after the system area as basic-data "Gap" partitions around an
 * ESP inside it ("EFI boot partition"), or the whole ISO as Gap0 and the appended ESP as entry 2
 * ("Appended2", no attributes) — xorriso's names, types and attribute bits.
 */
function gptPartitions(isoEnd: number, esp: { start: number; sectors: number; inside: boolean } | undefined, seed: string): GptPartition[] {
  const ranges: { first: number; end: number; type: string; name: string; attributes: bigint }[] = [];
  let gap = 0;
  const addGap = (first: number, end: number): void => {
    if (end > first) ranges.push({ first, end, type: BASIC_DATA, name: `Gap${gap++}`, attributes: READ_ONLY_REQUIRED });
  };
  if (esp?.inside) {
    addGap(FIRST_USABLE, esp.start);
    ranges.push({ first: esp.start, end: esp.start + esp.sectors, type: ESP.gpt!, name: 'EFI boot partition', attributes: READ_ONLY_REQUIRED });
    addGap(esp.start + esp.sectors, isoEnd);
  } else {
    addGap(FIRST_USABLE, isoEnd);
    if (esp) ranges.push({ first: esp.start, end: esp.start + esp.sectors, type: ESP.gpt!, name: `Appended${ranges.length + 1}`, attributes: 0n });
  }
  return ranges.map((r, i) => ({
    typeGuid: r.type, uuid: deriveUuid(seed, `iso-gpt-partition:${i + 1}`),
    firstLba: r.first, lastLba: r.end - 1, attributes: r.attributes, name: r.name,
  }));
}
