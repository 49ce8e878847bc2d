/**
 * The spec's `bootloader:` block (issue 10), declared once with the building blocks of
 * `src/util/schema.ts` (docs/ARCHITECTURE.md §3): its types, its part of the JSON Schema and the
 * structural check. Host paths are relative to the spec file; what a schema cannot say (files that
 * exist, the partition a loader goes to, the table it needs) is checked by `resolveBootloader`.
 *
 * @example
 * bootloader:
 *   systemd-boot: { efi: ./systemd-bootx64.efi, timeout: 0, entries: [{ title: Linux, linux: ./vmlinuz }] }
 */
import * as v from 'valibot';
import { Bool, Closed, Int, List, Text } from '../util/schema.js';

const HostPath = (text: string): v.GenericSchema<string> => Text({ nonEmpty: true, text });
/** Kernel options: text with id references (`root=PARTUUID=${partuuid:root}`). */
const Options = Text({ text: 'Kernel command line; ${partuuid:NAME}, ${fsuuid:NAME} and ${label:NAME} are replaced by the ids of partition NAME.' });

/** A Boot Loader Specification type #1 entry (`loader/entries/<id>.conf`). */
export const SystemdBootEntrySchema = Closed({
  id: v.optional(Text({ nonEmpty: true, text: 'Entry id: the file name loader/entries/<id>.conf and the directory of its files; default: from the title.' })),
  title: Text({ nonEmpty: true, text: 'Menu title.' }),
  version: v.optional(Text({ nonEmpty: true, text: 'Version shown and used for sorting.' })),
  linux: HostPath('Kernel image (host path); copied into the ESP or XBOOTLDR partition.'),
  initrd: v.optional(List(HostPath('Initrd (host path).'), 'Initrds, in order.')),
  devicetree: v.optional(HostPath('Device tree blob (host path).')),
  options: v.optional(Options),
}, 'One boot entry.');

export const SystemdBootSchema = Closed({
  efi: HostPath('systemd-boot\'s EFI binary (systemd-bootx64.efi); installed as \\EFI\\systemd\\ and \\EFI\\BOOT\\BOOT<ARCH>.EFI.'),
  partition: v.optional(Text({ nonEmpty: true, text: 'The ESP to install to (partition name); default: the first ESP.' })),
  removable: v.optional(Bool('Also install at the removable-media path \\EFI\\BOOT\\BOOT<ARCH>.EFI (default true).'), true),
  timeout: v.optional(Int(0, 0xffffffff, 'Menu timeout in seconds (loader.conf timeout); 0 boots the default at once.')),
  default: v.optional(Text({ nonEmpty: true, text: 'Default entry: an id or a glob (loader.conf default); default: the first entry.' })),
  editor: v.optional(Bool('Allow editing the kernel command line at boot (loader.conf editor).')),
  entries: v.optional(List(SystemdBootEntrySchema, 'Boot entries; their files go to the XBOOTLDR partition when there is one, else to the ESP.')),
}, 'systemd-boot on the ESP, with loader.conf and Boot Loader Specification entries.');

export const GrubBiosSchema = Closed({
  directory: v.optional(HostPath('GRUB\'s i386-pc directory (/usr/lib/grub/i386-pc): boot.img, kernel.img, lzma_decompress.img, diskboot.img, *.mod, moddep.lst.')),
  boot: v.optional(HostPath('boot.img (host path); default: <directory>/boot.img.')),
  core: v.optional(HostPath('A prebuilt core.img (host path); default: assembled from directory, prefix and load as grub-mkimage does.')),
  prefix: v.optional(Text({ nonEmpty: true, text: 'GRUB\'s prefix, e.g. "(hd0,msdos1)/boot/grub": the modules go to <path>/i386-pc of the partition it names.' })),
  load: v.optional(List(Text({ nonEmpty: true }), 'Modules built into core.img (with their dependencies), e.g. [biosdisk, part_msdos, ext2].')),
  config: v.optional(Text({ text: 'Early configuration built into core.img (grub-mkimage -c); it runs in the rescue parser.' })),
  modules: v.optional(Bool('Copy the *.mod and *.lst files of directory to <prefix>/i386-pc (default true when directory and prefix are given).'), true),
}, 'GRUB for BIOS (i386-pc), installed as grub-install does: boot.img in the MBR, core.img after it or in the BIOS boot partition.');

export const ExtlinuxEntrySchema = Closed({
  label: v.optional(Text({ nonEmpty: true, text: 'Entry label (LABEL); default: from the title.' })),
  title: Text({ nonEmpty: true, text: 'Menu title (MENU LABEL).' }),
  linux: HostPath('Kernel image (host path); copied to /boot/<label>/.'),
  initrd: v.optional(List(HostPath('Initrd (host path).'), 'Initrds (joined with commas, as U-Boot reads INITRD).')),
  fdtdir: v.optional(HostPath('Directory of device tree blobs (host path); copied, U-Boot picks the board\'s (FDTDIR).')),
  fdt: v.optional(HostPath('One device tree blob (host path) (FDT).')),
  options: v.optional(Options),
}, 'One extlinux.conf entry.');

export const ExtlinuxSchema = Closed({
  partition: v.optional(Text({ nonEmpty: true, text: 'The partition whose filesystem gets /boot/extlinux/extlinux.conf; default: the one flagged bootable, else the first.' })),
  timeout: v.optional(Int(0, 0xffff, 'Menu timeout in tenths of a second (TIMEOUT).')),
  default: v.optional(Text({ nonEmpty: true, text: 'Default entry label; default: the first entry.' })),
  menuTitle: v.optional(Text({ nonEmpty: true, text: 'MENU TITLE.' })),
  entries: List(ExtlinuxEntrySchema, 'Boot entries.'),
}, 'An extlinux.conf for U-Boot\'s distro boot (the NixOS SD image), with its kernels.');

export const EfiVarsSchema = Closed({
  template: HostPath('OVMF variable store to start from (OVMF_VARS_4M.fd), not changed.'),
  output: v.optional(Text({ nonEmpty: true, text: 'File name of the variable store, beside the image; default: <image>.vars.fd.' })),
  partition: v.optional(Text({ nonEmpty: true, text: 'The ESP of the boot option (partition name); default: systemd-boot\'s, else the first ESP.' })),
  loader: v.optional(Text({ nonEmpty: true, text: 'Path of the EFI program on that ESP; default: systemd-boot\'s \\EFI\\systemd\\systemd-boot<arch>.efi, else \\EFI\\BOOT\\BOOTX64.EFI.' })),
  description: v.optional(Text({ nonEmpty: true, text: 'The boot option\'s description (default "Linux Boot Manager").' })),
}, 'An OVMF variable store with a Boot0000 option for the installed loader and BootOrder (NixOS touchEFIVars).');

/** The top-level `bootloader:` key: one or more boot loaders. */
export const BootloaderSchema = Closed({
  'systemd-boot': v.optional(SystemdBootSchema),
  'grub-bios': v.optional(GrubBiosSchema),
  extlinux: v.optional(ExtlinuxSchema),
  efiVars: v.optional(EfiVarsSchema),
}, 'Boot loaders installed by diskwright\'s own code (no grub-install, bootctl or VM).');

export type BootloaderSpec = v.InferInput<typeof BootloaderSchema>;
export type SystemdBootSpec = v.InferInput<typeof SystemdBootSchema>;
export type GrubBiosSpec = v.InferInput<typeof GrubBiosSchema>;
export type ExtlinuxSpec = v.InferInput<typeof ExtlinuxSchema>;
export type EfiVarsSpec = v.InferInput<typeof EfiVarsSchema>;
