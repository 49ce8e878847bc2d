/**
 * systemd-boot (issue 10): what `bootctl install` and `kernel-install` leave on the ESP, written by
 * us. The EFI binary goes to `\EFI\systemd\systemd-boot<arch>.efi` and to the removable-media path
 * `\EFI\BOOT\BOOT<ARCH>.EFI` (UEFI 2.10 §3.5.1.1: what firmware without boot entries runs),
 * `\loader\loader.conf` holds timeout/default/editor, and each entry is a Boot Loader Specification
 * type #1 file `\loader\entries\<id>.conf` whose kernel, initrds and device tree are copied beside
 * it under `/<id>/`. systemd-boot reads no ext4: entries and their files go to the XBOOTLDR
 * partition when the disk has one, else to the ESP (Boot Loader Specification, "The Partitions").
 *
 * @example
 * const { esp, loader } = resolveSystemdBoot(spec.bootloader['systemd-boot'], ctx, out);
 * loader; // '\EFI\systemd\systemd-bootx64.efi'
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { DiskwrightError } from '../errors.js';
import { defineStruct } from '../util/struct.js';
import {
  addFiles, checkIds, copiesInto, copyEntry, espFor, hostFile, idFrom, isXbootldr, needFilesystem, oneLine, textEntry,
  type BootContext, type ResolvedBootloader,
} from './resolve.js';
import type { SystemdBootSpec } from './schema.js';

/** The MS-DOS header's fields a PE loader reads (PE Format, "MS-DOS Stub (Image Only)"). */
const DosHeader = defineStruct('IMAGE_DOS_HEADER', 64, [
  { name: 'e_magic', offset: 0x0, kind: 'u16le' },
  { name: 'e_lfanew', offset: 0x3c, kind: 'u32le' },
]);
/** The PE signature and the start of the COFF file header (PE Format, "Signature", "COFF File Header"). */
const PeHeader = defineStruct('IMAGE_NT_HEADERS', 8, [
  { name: 'Signature', offset: 0x0, kind: 'u32le' },
  { name: 'Machine', offset: 0x4, kind: 'u16le' },
  { name: 'NumberOfSections', offset: 0x6, kind: 'u16le' },
]);
const MZ = 0x5a4d;
const PE = 0x00004550;
/** COFF Machine values (PE Format, "Machine Types") and the UEFI names of their removable-media paths (UEFI 2.10 Table 3.6). */
const ARCHES: Readonly<Record<number, string>> = { 0x8664: 'x64', 0xaa64: 'aa64', 0x14c: 'ia32', 0x1c2: 'arm', 0x1c4: 'arm', 0x5064: 'riscv64', 0x6264: 'loongarch64' };

/**
 * The UEFI architecture name of an EFI binary (`x64`, `aa64`, …) from its COFF header, read from
 * the first 4 KiB; E_BOOT_FILE when it is no PE image of a known machine.
 *
 * @example
 * efiArch('systemd-bootaa64.efi', 'bootloader.systemd-boot.efi'); // 'aa64' → \EFI\BOOT\BOOTAA64.EFI
 */
export function efiArch(file: string, path: string): string {
  const buf = new Uint8Array(4096);
  const fd = openSync(file, 'r');
  let n: number;
  try { n = readSync(fd, buf, 0, buf.length, 0); } finally { closeSync(fd); }
  const bad = (why: string): DiskwrightError => new DiskwrightError('E_BOOT_FILE', `${file} is not an EFI program: ${why}`, { path, value: file });
  if (n < DosHeader.size || DosHeader.decodeField(buf, 'e_magic') !== MZ) throw bad('no MZ header');
  const at = DosHeader.decodeField(buf, 'e_lfanew') as number;
  if (at + PeHeader.size > n || PeHeader.decodeField(buf, 'Signature', at) !== PE) throw bad('no PE header within its first 4 KiB');
  const machine = PeHeader.decodeField(buf, 'Machine', at) as number;
  const arch = ARCHES[machine];
  if (!arch) throw bad(`unknown machine type 0x${machine.toString(16)}`);
  return arch;
}

/** What systemd-boot's resolution gives the other loaders: its ESP and its path there. */
export interface SystemdBootInstall {
  /** The ESP's partition index. */
  esp: number;
  /** `\EFI\systemd\systemd-boot<arch>.efi`. */
  loader: string;
}

/** Resolve `bootloader.systemd-boot`: its files go into `out` (see the module comment). */
export function resolveSystemdBoot(s: SystemdBootSpec, ctx: BootContext, out: ResolvedBootloader, path = 'bootloader.systemd-boot'): SystemdBootInstall {
  const esp = espFor(ctx, s.partition, path, 'systemd-boot\'s files');
  const efi = hostFile(ctx, s.efi, `${path}.efi`);
  const arch = ctx.checkFiles ? efiArch(efi, `${path}.efi`) : 'x64';
  const loader = `/EFI/systemd/systemd-boot${arch}.efi`;
  const espFiles = [copyEntry(efi, loader, `${path}.efi`)];
  if (s.removable !== false) espFiles.push(copyEntry(efi, `/EFI/BOOT/BOOT${arch.toUpperCase()}.EFI`, `${path}.efi`));

  const entries = s.entries ?? [];
  const ids = entries.map((e, i) => ({ id: e.id ?? idFrom(e.title, `entry-${i + 1}`), path: `${path}.entries[${i}]${e.id !== undefined ? '.id' : '.title'}` }));
  checkIds(ids);
  // Entries and their files: the XBOOTLDR partition when there is one (systemd-boot reads both).
  const xbootldr = ctx.partitions.find(isXbootldr);
  const entryPart = xbootldr ? needFilesystem(xbootldr, path, 'systemd-boot\'s entries') : esp;
  const entryFiles = entries.flatMap((e, i) => {
    const at = `${path}.entries[${i}]`;
    const id = ids[i]!.id;
    const linux = copiesInto(`/${id}`, [{ source: hostFile(ctx, e.linux, `${at}.linux`), path: `${at}.linux` }]);
    const initrd = copiesInto(`/${id}`, (e.initrd ?? []).map((f, j) => ({ source: hostFile(ctx, f, `${at}.initrd[${j}]`), path: `${at}.initrd[${j}]` })));
    const dtb = e.devicetree === undefined ? undefined : copiesInto(`/${id}`, [{ source: hostFile(ctx, e.devicetree, `${at}.devicetree`), path: `${at}.devicetree` }]);
    // Boot Loader Specification, type #1 entry keys; one initrd line each, in order.
    const lines = [
      `title ${oneLine(e.title, `${at}.title`)}`,
      ...(e.version !== undefined ? [`version ${oneLine(e.version, `${at}.version`)}`] : []),
      `linux ${linux.targets[0]!}`,
      ...initrd.targets.map((t) => `initrd ${t}`),
      ...(dtb ? [`devicetree ${dtb.targets[0]!}`] : []),
      ...(e.options !== undefined ? [`options ${oneLine(ctx.expand(e.options, `${at}.options`), `${at}.options`)}`] : []),
    ];
    return [...linux.entries, ...initrd.entries, ...(dtb?.entries ?? []), textEntry(lines.join('\n') + '\n', `/loader/entries/${id}.conf`, at)];
  });

  // loader.conf (loader.conf(5)): the default is a glob over entry file names (`<id>.conf`).
  const conf: string[] = [];
  if (s.timeout !== undefined) conf.push(`timeout ${s.timeout}`);
  const def = s.default !== undefined ? (/[*?[]/.test(s.default) || s.default.endsWith('.conf') ? s.default : `${s.default}.conf`) : ids[0] ? `${ids[0].id}.conf` : undefined;
  if (def !== undefined) conf.push(`default ${oneLine(def, `${path}.default`)}`);
  if (s.editor !== undefined) conf.push(`editor ${s.editor ? 'yes' : 'no'}`);
  espFiles.push(textEntry(conf.join('\n') + (conf.length ? '\n' : ''), '/loader/loader.conf', path));

  addFiles(out, esp.index, espFiles);
  addFiles(out, entryPart.index, entryFiles);
  return { esp: esp.index, loader: loader.replace(/\//g, '\\') };
}
