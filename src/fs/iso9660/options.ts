/**
 * The `iso9660:` option block: declared once here (types, limits, defaults and the JSON Schema's
 * descriptions), checked and resolved by `resolveIso9660Options`. Paths inside the ISO (boot
 * images, the boot catalog) are made absolute (`/boot/grub/eltorito.img`); what depends on the tree
 * (the files exist, are regular files) is checked by the planner.
 *
 * @example
 * resolveIso9660Options({ joliet: true, boot: { bios: { image: 'boot/grub/i386-pc/eltorito.img' } } }, 'partitions[0].iso9660');
 * // boot.bios.image: '/boot/grub/i386-pc/eltorito.img', boot.catalog: '/boot.catalog', loadSize 4
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import * as v from 'valibot';
import { DiskwrightError, show } from '../../errors.js';
import { Bool, Closed, Int, Text } from '../../util/schema.js';
import { validator } from '../../util/validator.js';
import type { OptionsContext } from '../types.js';

/** ECMA-119 8.4.5 / 8.4.12-8.4.15: the identifier fields' widths in bytes. */
export const ID_FIELD_BYTES = { systemId: 32, volumeSetId: 128, publisherId: 128, preparerId: 128, applicationId: 128 } as const;
export type IdField = keyof typeof ID_FIELD_BYTES;

const idText = (field: IdField, what: string) => v.optional(Text({ max: ID_FIELD_BYTES[field], text: `${what} (ECMA-119 8.4; at most ${ID_FIELD_BYTES[field]} ASCII characters); default: empty.` }));
const isoPath = (text: string) => Text({ nonEmpty: true, text });

export const Iso9660Options = Closed({
  joliet: v.optional(Bool('Write a Joliet tree (UCS-2 names up to 64 characters) beside the ISO 9660 one.'), false),
  rockRidge: v.optional(Bool('Write Rock Ridge (RRIP 1.12): full names, modes, owners, links, devices, times.'), true),
  zisofs: v.optional(Bool('Compress files with zisofs (as xorriso --zisofs); needs rockRidge. Files that do not shrink stay plain.'), false),
  systemId: idText('systemId', 'System identifier'),
  volumeSetId: idText('volumeSetId', 'Volume set identifier'),
  publisherId: idText('publisherId', 'Publisher identifier'),
  preparerId: idText('preparerId', 'Data preparer identifier'),
  applicationId: idText('applicationId', 'Application identifier'),
  boot: v.optional(Closed({
    catalog: v.optional(isoPath('Path of the El Torito boot catalog in the ISO.'), '/boot.catalog'),
    catalogHidden: v.optional(Bool('Keep the boot catalog out of the directory trees.'), false),
    bios: v.optional(Closed({
      image: isoPath('Path in the ISO of the BIOS no-emulation boot image (GRUB\'s eltorito.img, isolinux.bin).'),
      loadSize: v.optional(Int(1, 65535, 'Sectors of 512 bytes the BIOS loads.'), 4),
      bootInfoTable: v.optional(Bool('Patch the boot info table into the image (mkisofs -boot-info-table).'), true),
      grub2BootInfo: v.optional(Bool('Patch GRUB2\'s boot info into the image (xorriso --grub2-boot-info); default: when hybrid.mbr is GRUB\'s boot_hybrid.img, which needs it to boot from a disk.')),
    }, 'BIOS El Torito entry (platform 0x00, no emulation).')),
    efi: v.optional(Closed({
      image: isoPath('Path in the ISO of the FAT image holding \\EFI\\BOOT (efiboot.img).'),
    }, 'UEFI El Torito entry (platform 0xEF).')),
  }, 'El Torito boot.')),
  hybrid: v.optional(Closed({
    mbr: v.optional(Text({ nonEmpty: true, text: 'Host file with MBR boot code (GRUB\'s boot_hybrid.img, syslinux\'s isohdpfx.bin), patched as xorriso does.' })),
    gpt: v.optional(Bool('Write a GPT whose ESP entry is the EFI boot image (as -isohybrid-gpt-basdat).'), false),
    appendedEsp: v.optional(Bool('Append the EFI boot image after the ISO as partition 2 (as -append_partition 2 0xef).'), false),
  }, 'isohybrid: the ISO bootable as a hard disk (USB stick).')),
}, 'ISO 9660 options (filesystem: iso9660).');

/** What users write in `iso9660:`. */
export type Iso9660OptionsInput = v.InferInput<typeof Iso9660Options>;

export interface Iso9660BootOptions {
  /** Absolute path in the ISO. */
  catalog: string;
  catalogHidden: boolean;
  /** grub2BootInfo absent: decided by the hybrid MBR code (on with GRUB's, which reads it). */
  bios?: { image: string; loadSize: number; bootInfoTable: boolean; grub2BootInfo?: boolean };
  efi?: { image: string };
}

export interface Iso9660HybridOptions {
  /** Absolute host path of the MBR boot code (a relative one resolves against the spec's directory). */
  mbr?: string;
  gpt: boolean;
  appendedEsp: boolean;
}

/** The resolved block: defaults filled, paths in the ISO absolute. */
export interface Iso9660ResolvedOptions {
  joliet: boolean;
  rockRidge: boolean;
  zisofs: boolean;
  systemId?: string;
  volumeSetId?: string;
  publisherId?: string;
  preparerId?: string;
  applicationId?: string;
  boot?: Iso9660BootOptions;
  hybrid?: Iso9660HybridOptions;
}

const check = validator(Iso9660Options);

/** `a/b/../c` style paths are refused: a path in the ISO names one node, `/` separated. */
function absoluteIsoPath(p: string, path: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..') || parts.length === 0) {
    throw new DiskwrightError('E_ISO_PATH', `${show(p)} is not a path of a file in the ISO (write it as /dir/file, without ..)`, { path, value: p });
  }
  return '/' + parts.join('/');
}

function asciiId(s: string, path: string): string {
  // Identifier fields hold a-characters (ECMA-119 7.4.1); xorriso writes any ASCII as given.
  if (!/^[\x20-\x7e]*$/.test(s)) throw new DiskwrightError('E_ISO_ID', `${show(s)} has characters outside printable ASCII, which ISO 9660 identifiers cannot hold`, { path, value: s });
  return s;
}

/** Check an `iso9660:` block at `path` and resolve it (see Iso9660ResolvedOptions). */
export function resolveIso9660Options(value: unknown, path: string, ctx: OptionsContext = { baseDir: process.cwd() }): Iso9660ResolvedOptions {
  const o = check(value ?? {}, path);
  const out: Iso9660ResolvedOptions = { joliet: o.joliet, rockRidge: o.rockRidge, zisofs: o.zisofs };
  for (const k of Object.keys(ID_FIELD_BYTES) as IdField[]) {
    const s = o[k];
    if (s !== undefined) out[k] = asciiId(s, `${path}.${k}`);
  }
  if (o.zisofs && !o.rockRidge) {
    throw new DiskwrightError('E_ISO_OPTION', 'zisofs needs Rock Ridge (its ZF entries say which files are compressed); set rockRidge: true or zisofs: false', { path: `${path}.zisofs`, value: o.zisofs });
  }
  if (o.boot) {
    const b = o.boot;
    if (!b.bios && !b.efi) throw new DiskwrightError('E_ISO_BOOT', 'boot needs a bios or an efi image (or both)', { path: `${path}.boot`, value: b });
    const boot: Iso9660BootOptions = { catalog: absoluteIsoPath(b.catalog, `${path}.boot.catalog`), catalogHidden: b.catalogHidden };
    if (b.bios) boot.bios = { image: absoluteIsoPath(b.bios.image, `${path}.boot.bios.image`), loadSize: b.bios.loadSize, bootInfoTable: b.bios.bootInfoTable, ...(b.bios.grub2BootInfo !== undefined ? { grub2BootInfo: b.bios.grub2BootInfo } : {}) };
    if (b.efi) boot.efi = { image: absoluteIsoPath(b.efi.image, `${path}.boot.efi.image`) };
    for (const img of [boot.bios?.image, boot.efi?.image]) {
      if (img === boot.catalog) throw new DiskwrightError('E_ISO_BOOT', `the boot catalog ${boot.catalog} cannot also be a boot image: give boot.catalog another path`, { path: `${path}.boot.catalog`, value: b.catalog });
    }
    out.boot = boot;
  }
  if (o.hybrid) {
    const h = o.hybrid;
    if (!out.boot) throw new DiskwrightError('E_ISO_HYBRID', 'hybrid needs boot images: add boot.bios and/or boot.efi', { path: `${path}.hybrid`, value: h });
    if ((h.gpt || h.appendedEsp) && !out.boot.efi) {
      throw new DiskwrightError('E_ISO_HYBRID', `hybrid.${h.gpt ? 'gpt' : 'appendedEsp'} needs an EFI boot image (boot.efi.image): its ESP is that image`, { path: `${path}.hybrid.${h.gpt ? 'gpt' : 'appendedEsp'}`, value: true });
    }
    const hybrid: Iso9660HybridOptions = { gpt: h.gpt, appendedEsp: h.appendedEsp };
    if (h.mbr !== undefined) {
      const file = isAbsolute(h.mbr) ? h.mbr : resolve(ctx.baseDir, h.mbr);
      if (ctx.checkFiles !== false && !(existsSync(file) && statSync(file).isFile())) {
        throw new DiskwrightError('E_SOURCE', `hybrid MBR code ${show(h.mbr)} is not a file (looked at ${file})`, { path: `${path}.hybrid.mbr`, value: h.mbr });
      }
      hybrid.mbr = file;
    }
    out.hybrid = hybrid;
  }
  return out;
}
