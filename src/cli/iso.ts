/**
 * `diskwright iso DIR -o OUT`: a bare ISO 9660 image (Rock Ridge on) from a directory, with the
 * flags of issue 16: --label (the volume id), --joliet, --bios-boot and --efi-boot (El Torito
 * images, paths inside the ISO), --hybrid-mbr (isohybrid MBR code; with --efi-boot also the GPT
 * whose ESP is the EFI image, as grub-mkrescue), --zisofs and --owners host. An ISO is always its
 * exact size: no --size.
 *
 * @example
 * diskwright iso ./cd -o cd.iso --label NIXOS_ISO --joliet --bios-boot /boot/grub/i386-pc/eltorito.img --efi-boot /boot/grub/efiboot.img --hybrid-mbr boot_hybrid.img
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CAC } from 'cac';
import { registerQuick, type QuickFlags } from './quick.js';

/** GRUB's boot_hybrid.img names itself ("GRUB "); it loads core.img through the GRUB 2 boot info. */
function isGrubMbr(file: string): boolean {
  try {
    return readFileSync(file).subarray(0, 512).includes('GRUB');
  } catch {
    // Unreadable: the build names the file (E_HYBRID_MBR).
    return false;
  }
}

function applyIso(part: Record<string, unknown>, flags: QuickFlags): void {
  const iso: Record<string, unknown> = {};
  if (flags.joliet === true) iso.joliet = true;
  if (flags.zisofs === true) iso.zisofs = true;
  const bios = flags.biosBoot === undefined ? undefined : String(flags.biosBoot);
  const efi = flags.efiBoot === undefined ? undefined : String(flags.efiBoot);
  const mbr = flags.hybridMbr === undefined ? undefined : resolve(String(flags.hybridMbr));
  if (bios !== undefined || efi !== undefined) {
    const boot: Record<string, unknown> = {};
    // grub-mkrescue's recipe: the boot info table always, the GRUB 2 boot info with GRUB's hybrid MBR.
    if (bios !== undefined) boot.bios = { image: bios, ...(mbr !== undefined && isGrubMbr(mbr) ? { grub2BootInfo: true } : {}) };
    if (efi !== undefined) boot.efi = { image: efi };
    iso.boot = boot;
  }
  if (mbr !== undefined) iso.hybrid = { mbr, ...(efi !== undefined ? { gpt: true } : {}) };
  if (Object.keys(iso).length) part.iso9660 = iso;
}

/**
 * Register `diskwright iso`.
 *
 * @example
 * registerIso(cli); // diskwright iso ./cd -o cd.iso --joliet
 */
export function registerIso(cli: CAC): void {
  registerQuick(cli, {
    command: 'iso', description: 'Make an ISO 9660 image (Rock Ridge; Joliet, El Torito, isohybrid, zisofs on request) from a directory', filesystem: 'iso9660', part: 'iso',
    sized: false,
    flags: [
      ['--joliet', 'Add a Joliet tree (names for Windows)'],
      ['--bios-boot <path>', 'El Torito BIOS image: its path inside the ISO (GRUB\'s eltorito.img, isolinux.bin)'],
      ['--efi-boot <path>', 'El Torito EFI image: its path inside the ISO (a FAT image with \\EFI\\BOOT)'],
      ['--hybrid-mbr <file>', 'isohybrid MBR code (boot_hybrid.img, isohdpfx.bin); with --efi-boot also a GPT with the EFI image as ESP'],
      ['--zisofs', 'Compress files with zisofs (read transparently by Linux and xorriso)'],
    ],
    apply: applyIso,
    paths: [
      [/^partitions\[0\]\.iso9660\.boot\.bios\.image$/, '--bios-boot'], [/^partitions\[0\]\.iso9660\.boot\.efi\.image$/, '--efi-boot'],
      [/^partitions\[0\]\.iso9660\.hybrid(\.mbr)?$/, '--hybrid-mbr'], [/^partitions\[0\]\.iso9660\.zisofs$/, '--zisofs'],
    ],
    example: 'diskwright iso ./cd -o cd.iso --label CDROM --joliet',
  });
}
