/**
 * El Torito boot structures ("El Torito" Bootable CD-ROM Format Specification 1.0, Phoenix/IBM,
 * 1995): the boot record volume descriptor (§2.0), the boot catalog (§2.x: validation entry,
 * initial/default entry, section header, section entry) for no-emulation BIOS and EFI images, and
 * the bytes that xorriso's `-boot-info-table` and `--grub2-boot-info` patch into the BIOS boot image
 * inside the ISO (the source file is never changed).
 *
 * @example
 * const catalog = encodeBootCatalog({ bios: { path: '/boot/grub/i386-pc/eltorito.img', lba: 37, size: 29485, loadSize: 4 } });
 */
import { DiskwrightError } from '../../errors.js';
import { defineStruct } from '../../util/struct.js';

/** A boot image placed in the ISO: its path (for messages), first 2048-byte block and size in bytes. */
export interface BootImageRef { path: string; lba: number; size: number }

/** ISO 9660 logical block size (ECMA-119 6.1.2 as used by every El Torito medium). */
const BLOCK = 2048;
/** El Torito counts sectors in "virtual sectors" of 512 bytes (§2.2 Figure 3, Sector Count). */
const VIRTUAL_SECTOR = 512;

/* El Torito §2.0 (= ECMA-119 8.2): the boot record volume descriptor, at block 17. */
export const BootRecordVolumeDescriptor = defineStruct('BootRecordVolumeDescriptor', BLOCK, [
  { name: 'boot_record_indicator', offset: 0x00, kind: 'u8' },
  { name: 'iso_identifier', offset: 0x01, kind: { bytes: 5 } },
  { name: 'version', offset: 0x06, kind: 'u8' },
  { name: 'boot_system_identifier', offset: 0x07, kind: { bytes: 32 } },
  { name: 'boot_identifier', offset: 0x27, kind: { bytes: 32 } },
  { name: 'boot_catalog_pointer', offset: 0x47, kind: 'u32le' },
]);

/* El Torito §2.1 Figure 2: the validation entry, first 32 bytes of the catalog. */
export const ValidationEntry = defineStruct('ValidationEntry', 32, [
  { name: 'header_id', offset: 0x00, kind: 'u8' },
  { name: 'platform_id', offset: 0x01, kind: 'u8' },
  { name: 'reserved', offset: 0x02, kind: 'u16le' },
  { name: 'id_string', offset: 0x04, kind: { bytes: 24 } },
  { name: 'checksum', offset: 0x1c, kind: 'u16le' },
  { name: 'key_55', offset: 0x1e, kind: 'u8' },
  { name: 'key_aa', offset: 0x1f, kind: 'u8' },
]);

/* El Torito §2.2 Figure 3: the initial/default entry (the BIOS image, or the only image). */
export const DefaultEntry = defineStruct('InitialDefaultEntry', 32, [
  { name: 'boot_indicator', offset: 0x00, kind: 'u8' },
  { name: 'boot_media_type', offset: 0x01, kind: 'u8' },
  { name: 'load_segment', offset: 0x02, kind: 'u16le' },
  { name: 'system_type', offset: 0x04, kind: 'u8' },
  { name: 'sector_count', offset: 0x06, kind: 'u16le' },
  { name: 'load_rba', offset: 0x08, kind: 'u32le' },
]);

/* El Torito §2.3 Figure 4: a section header entry. */
export const SectionHeaderEntry = defineStruct('SectionHeaderEntry', 32, [
  { name: 'header_indicator', offset: 0x00, kind: 'u8' },
  { name: 'platform_id', offset: 0x01, kind: 'u8' },
  { name: 'section_entries', offset: 0x02, kind: 'u16le' },
  { name: 'id_string', offset: 0x04, kind: { bytes: 28 } },
]);

/* El Torito §2.4 Figure 5: a section entry. */
export const SectionEntry = defineStruct('SectionEntry', 32, [
  { name: 'boot_indicator', offset: 0x00, kind: 'u8' },
  { name: 'boot_media_type', offset: 0x01, kind: 'u8' },
  { name: 'load_segment', offset: 0x02, kind: 'u16le' },
  { name: 'system_type', offset: 0x04, kind: 'u8' },
  { name: 'sector_count', offset: 0x06, kind: 'u16le' },
  { name: 'load_rba', offset: 0x08, kind: 'u32le' },
  { name: 'selection_criteria_type', offset: 0x0c, kind: 'u8' },
  { name: 'selection_criteria', offset: 0x0d, kind: { bytes: 19 } },
]);

/*
 * The boot info table mkisofs invented for ISOLINUX and GRUB's cdboot.img (genisoimage's
 * `struct eltorito_boot_info`, `-boot-info-table`): bytes 8..63 of the boot file.
 */
export const BootInfoTable = defineStruct('eltorito_boot_info', 56, [
  { name: 'bi_pvd', offset: 0x00, kind: 'u32le' },
  { name: 'bi_file', offset: 0x04, kind: 'u32le' },
  { name: 'bi_length', offset: 0x08, kind: 'u32le' },
  { name: 'bi_csum', offset: 0x0c, kind: 'u32le' },
  { name: 'bi_reserved', offset: 0x10, kind: { bytes: 40 } },
]);
/** Where the boot info table sits in the boot file, and where its checksum starts. */
export const BOOT_INFO_TABLE_OFFSET = 8;
const BOOT_INFO_CHECKSUM_FROM = BOOT_INFO_TABLE_OFFSET + BootInfoTable.size;

/*
 * GRUB 2's i386-pc El Torito image is cdboot.img (one 2048-byte block) followed by core.img, whose
 * first 512 bytes are diskboot.img; `blocklist_default_start` (grub-core/boot/i386/pc/diskboot.S,
 * at 0x1f4 of that sector) is the first 512-byte LBA of the rest of core.img. cdboot.img does not
 * need it, but booting the same ISO as a disk (boot_hybrid.img → diskboot.img) does.
 */
export const DiskbootBlocklist = defineStruct('diskboot_blocklist', 12, [
  { name: 'blocklist_default_start', offset: 0x0, kind: 'u64le' },
  { name: 'blocklist_default_len', offset: 0x8, kind: 'u16le' },
  { name: 'blocklist_default_seg', offset: 0xa, kind: 'u16le' },
]);
/** cdboot.img's block, then diskboot.img's blocklist field: file offset 2548 (xorriso `--grub2-boot-info`). */
export const GRUB2_BOOT_INFO_OFFSET = BLOCK + 0x1f4;

/** §2.1 Platform ID: 0 = 80x86 (BIOS); 0xEF = EFI (UEFI 2.3 §12.3.2.1, "ISO-9660 and El Torito"). */
export const PLATFORM_BIOS = 0x00;
export const PLATFORM_EFI = 0xef;
/** §2.2 Boot Indicator 0x88 = bootable; §2.3 Header Indicator 0x91 = final header. */
const BOOTABLE = 0x88;
const FINAL_HEADER = 0x91;
/** §2.2 Boot media type 0 = no emulation. */
const NO_EMULATION = 0;
/** §2.0: "EL TORITO SPECIFICATION" padded with zeros; ECMA-119 8.2: type 0, "CD001", version 1. */
const EL_TORITO_ID = Buffer.from('EL TORITO SPECIFICATION', 'latin1');
const CD001 = Buffer.from('CD001', 'latin1');

/**
 * The 2048-byte boot record volume descriptor pointing at the catalog's block.
 *
 * @example
 * const brvd = encodeBootRecord(36); // goes at block 17, right after the PVD
 */
export function encodeBootRecord(catalogLba: number): Uint8Array {
  const out = new Uint8Array(BLOCK);
  BootRecordVolumeDescriptor.encode({
    boot_record_indicator: 0, iso_identifier: CD001, version: 1,
    boot_system_identifier: EL_TORITO_ID, boot_catalog_pointer: catalogLba,
  }, out);
  return out;
}

/**
 * The catalog's Sector Count for an EFI image: its size in 512-byte sectors, counted in whole
 * 2048-byte blocks, or 0 when that does not fit the 16-bit field — what xorriso 1.5 writes. UEFI
 * 2.3 §12.3.2.1 takes 0 to mean "up to the end of the medium", and the FAT file system says its
 * own size.
 *
 * @example
 * efiSectorCount(2 * 1024 * 1024); // 4096
 */
export function efiSectorCount(sizeBytes: number): number {
  const sectors = Math.ceil(sizeBytes / BLOCK) * (BLOCK / VIRTUAL_SECTOR);
  return sectors > 0xffff ? 0 : sectors;
}

/**
 * The 2048-byte boot catalog: the validation entry (its platform that of the default entry), the
 * default entry (the BIOS image, else the EFI one), then for BIOS + EFI one final section header
 * with platform 0xEF and its section entry. Every image is bootable, no emulation, load segment 0
 * (= 0x7C0 for BIOS), system type 0, as xorriso's `-no-emul-boot`.
 *
 * @example
 * encodeBootCatalog({ bios: { ...bios, loadSize: 4 }, efi: { ...efi, sectors: efiSectorCount(efi.size) } });
 */
export function encodeBootCatalog(entries: { bios?: BootImageRef & { loadSize: number }; efi?: BootImageRef & { sectors: number } }): Uint8Array {
  const { bios, efi } = entries;
  const first = bios ? { platform: PLATFORM_BIOS, img: bios, count: bios.loadSize } : efi ? { platform: PLATFORM_EFI, img: efi, count: efi.sectors } : undefined;
  if (!first) throw new Error('encodeBootCatalog: no boot image');
  const out = new Uint8Array(BLOCK);
  ValidationEntry.encode({ header_id: 1, platform_id: first.platform, key_55: 0x55, key_aa: 0xaa }, out, 0);
  // §2.1: the checksum word makes the sum of all 16 words of the entry zero.
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum += out[i]! | (out[i + 1]! << 8);
  ValidationEntry.encode({ checksum: (0x10000 - (sum & 0xffff)) & 0xffff }, out, 0);
  DefaultEntry.encode({
    boot_indicator: BOOTABLE, boot_media_type: NO_EMULATION, load_segment: 0, system_type: 0,
    sector_count: first.count, load_rba: first.img.lba,
  }, out, 32);
  if (bios && efi) {
    SectionHeaderEntry.encode({ header_indicator: FINAL_HEADER, platform_id: PLATFORM_EFI, section_entries: 1 }, out, 64);
    SectionEntry.encode({
      boot_indicator: BOOTABLE, boot_media_type: NO_EMULATION, load_segment: 0, system_type: 0,
      sector_count: efi.sectors, load_rba: efi.lba, selection_criteria_type: 0,
    }, out, 96);
  }
  return out;
}

/** Bytes read per step when summing a boot file (a boot file may be large; memory stays flat). */
const CHECKSUM_CHUNK = 1 << 16;

/**
 * What to overlay on the BIOS boot image inside the ISO, sorted by offset in the file:
 * - `grub2BootInfo`: `blocklist_default_start` at 2548 = LBA × 4 + 5 (the 512-byte sector after
 *   cdboot.img's 4 and diskboot.img's 1), as xorriso `--grub2-boot-info`;
 * - `bootInfoTable`: bytes 8..63 = PVD block, file block, file length, the 32-bit little-endian sum of
 *   the file's words from byte 64 on (a short last word zero-padded, summed over the bytes as the ISO
 *   holds them, i.e. after the GRUB 2 patch, as xorriso does) and 40 zero bytes, as `-boot-info-table`.
 * `read(from, length)` returns the file's original bytes. A file too short for a patch is an
 * E_BOOT_IMAGE error naming `opts.path` (the spec path of the image).
 *
 * @example
 * for (const p of bootImagePatches(img, 16, read, { bootInfoTable: true, grub2BootInfo: true })) overlay(img.lba * 2048 + p.at, p.data);
 */
export function bootImagePatches(
  img: BootImageRef, pvdLba: number, read: (from: number, length: number) => Uint8Array,
  opts: { bootInfoTable: boolean; grub2BootInfo: boolean; path?: string },
): { at: number; data: Uint8Array }[] {
  const out: { at: number; data: Uint8Array }[] = [];
  const tooShort = (what: string, need: number): DiskwrightError => new DiskwrightError('E_BOOT_IMAGE',
    `the BIOS boot image ${img.path} (${img.size} bytes) is too short for ${what} (needs at least ${need} bytes); use the El Torito image of the boot loader (GRUB's eltorito.img, isolinux.bin) or turn ${what} off`,
    { path: opts.path, value: img.path });
  let grub: Uint8Array | undefined;
  if (opts.grub2BootInfo) {
    if (img.size < GRUB2_BOOT_INFO_OFFSET + 8) throw tooShort('grub2BootInfo', GRUB2_BOOT_INFO_OFFSET + 8);
    // Only the start is patched: grub-mkimage already wrote the length and segment.
    const field = new Uint8Array(DiskbootBlocklist.size);
    DiskbootBlocklist.encode({ blocklist_default_start: BigInt(img.lba) * 4n + 5n }, field);
    grub = field.slice(0, DiskbootBlocklist.sizeOf('blocklist_default_start'));
    out.push({ at: GRUB2_BOOT_INFO_OFFSET, data: grub });
  }
  if (opts.bootInfoTable) {
    if (img.size < BOOT_INFO_CHECKSUM_FROM) throw tooShort('bootInfoTable', BOOT_INFO_CHECKSUM_FROM);
    if (img.size > 0xffffffff) throw new DiskwrightError('E_BOOT_IMAGE', `the BIOS boot image ${img.path} (${img.size} bytes) is larger than the boot info table's 32-bit length field`, { path: opts.path, value: img.path });
    const table = new Uint8Array(BootInfoTable.size);
    BootInfoTable.encode({ bi_pvd: pvdLba, bi_file: img.lba, bi_length: img.size, bi_csum: checksum(img.size, read, grub) }, table);
    out.unshift({ at: BOOT_INFO_TABLE_OFFSET, data: table });
  }
  return out;
}

/** The boot info table checksum over bytes [64, size) with the GRUB 2 patch (if any) applied. */
function checksum(size: number, read: (from: number, length: number) => Uint8Array, grub: Uint8Array | undefined): number {
  let sum = 0;
  for (let from = BOOT_INFO_CHECKSUM_FROM; from < size; from += CHECKSUM_CHUNK) {
    const length = Math.min(CHECKSUM_CHUNK, size - from);
    const got = read(from, length);
    if (got.length !== length) throw new Error(`boot image read returned ${got.length} bytes, expected ${length}`);
    // Words are aligned to the file (from byte 64); chunks are multiples of 4, so a chunk starts a word.
    const chunk = new Uint8Array(Math.ceil(length / 4) * 4);
    chunk.set(got);
    if (grub) {
      const g0 = GRUB2_BOOT_INFO_OFFSET - from;
      for (let i = 0; i < grub.length; i++) if (g0 + i >= 0 && g0 + i < length) chunk[g0 + i] = grub[i]!;
    }
    const dv = new DataView(chunk.buffer);
    for (let i = 0; i < chunk.length; i += 4) sum = (sum + dv.getUint32(i, true)) >>> 0;
  }
  return sum;
}
