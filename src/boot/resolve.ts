/**
 * The `bootloader:` block resolved (issue 10): each loader's host files checked and made absolute,
 * the partition each goes to chosen, its configuration files written as text, id references in
 * kernel options expanded. What comes out is data the pipeline applies (src/boot/index.ts): files
 * added to a partition's tree before it is planned, boot code placed after the layout, a variable
 * store written beside the image. Every error names its spec path, before anything is read or
 * written.
 *
 * @example
 * const boot = resolveBootloader(spec.bootloader, { table, sectorSize, partitions, raw, baseDir, checkFiles: true, expand });
 * boot.files; // [{ partition: 0, entries: [... \EFI\BOOT\BOOTX64.EFI ...] }]
 */
import { existsSync, statSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import { DiskwrightError, show } from '../errors.js';
import { filesystemHandler } from '../fs/registry.js';
import type { ResolvedPartition, ResolvedSpec } from '../spec/types.js';
import { PARTITION_TYPES } from '../table/types.js';
import type { ResolvedEntry } from '../tree/entries.js';
import type { ExpandRefs } from './refs.js';
import type { BootloaderSpec } from './schema.js';

/** What the loaders are resolved against: the spec resolved so far. */
export interface BootContext extends Pick<ResolvedSpec, 'table' | 'sectorSize' | 'partitions' | 'raw' | 'baseDir'> {
  /** Check that host files exist (ResolveOptions.checkFiles). */
  checkFiles: boolean;
  /** Expands `${partuuid:NAME}` and friends (src/boot/refs.ts). */
  expand: ExpandRefs;
}

/** Files one partition's filesystem gets, as contents entries added after its own. */
export interface BootFiles {
  /** The partition's index in `spec.partitions`. */
  partition: number;
  entries: ResolvedEntry[];
}

/** GRUB for BIOS, resolved: where its images come from and where core.img goes. */
export interface ResolvedGrubBios {
  path: string;
  /** boot.img, absolute. */
  boot: string;
  /** A prebuilt core.img, absolute; else `assemble`. */
  core?: string;
  /** What grub-mkimage would be given: the i386-pc directory, prefix, modules and early config. */
  assemble?: { directory: string; prefix: string; load: string[]; config?: string };
  /** core.img's place: the MBR gap (after sector 0, before the first partition) or a BIOS boot partition (its index). */
  target: { kind: 'gap' } | { kind: 'partition'; index: number };
}

/** An OVMF variable store with one boot option, resolved. */
export interface ResolvedEfiVars {
  path: string;
  /** The template store, absolute. */
  template: string;
  /** File name written beside the image, or undefined for `<image>.vars.fd`. */
  output?: string;
  /** The ESP's partition index. */
  partition: number;
  /** The EFI program's path on the ESP, with backslashes (`\EFI\systemd\systemd-bootx64.efi`). */
  loader: string;
  description: string;
}

export interface ResolvedBootloader {
  files: BootFiles[];
  grubBios?: ResolvedGrubBios;
  efiVars?: ResolvedEfiVars;
}

/** The ESP's GPT type GUID and MBR type byte (UEFI 2.10 §5.3.3, Table 5.9; MBR OSType 0xEF). */
const ESP = PARTITION_TYPES.esp!;
const XBOOTLDR = PARTITION_TYPES.xbootldr!;

/** Whether partition `p` is an ESP on this table. */
export function isEsp(p: ResolvedPartition): boolean {
  return p.typeGuid !== undefined ? p.typeGuid === ESP.gpt : p.mbrType === ESP.mbr;
}

/** Whether partition `p` is an Extended Boot Loader partition (Boot Loader Specification, XBOOTLDR). */
export function isXbootldr(p: ResolvedPartition): boolean {
  return p.typeGuid !== undefined ? p.typeGuid === XBOOTLDR.gpt : p.mbrType === XBOOTLDR.mbr;
}

/** A host file of the boot loader, absolute; E_SOURCE naming `path` when it is not a file. */
export function hostFile(ctx: BootContext, value: string, path: string, what = 'boot loader file'): string {
  const full = isAbsolute(value) ? value : resolve(ctx.baseDir, value);
  if (ctx.checkFiles && (!existsSync(full) || !statSync(full).isFile())) {
    throw new DiskwrightError('E_SOURCE', `${what} ${show(value)} is not a file (looked at ${full})`, { path, value });
  }
  return full;
}

/** A host directory of the boot loader, absolute; E_SOURCE naming `path` when it is not one. */
export function hostDir(ctx: BootContext, value: string, path: string): string {
  const full = isAbsolute(value) ? value : resolve(ctx.baseDir, value);
  if (ctx.checkFiles && (!existsSync(full) || !statSync(full).isDirectory())) {
    throw new DiskwrightError('E_SOURCE', `boot loader directory ${show(value)} is not a directory (looked at ${full})`, { path, value });
  }
  return full;
}

/** The partition named `name`, or E_BOOT_TARGET naming `path`. */
export function partitionNamed(ctx: BootContext, name: string, path: string): ResolvedPartition {
  const p = ctx.partitions.find((q) => q.name === name);
  if (!p) throw new DiskwrightError('E_BOOT_TARGET', `no partition is named ${show(name)} (partitions: ${ctx.partitions.map((q) => q.name).join(', ') || 'none'})`, { path, value: name });
  return p;
}

/** Check that `p` has a filesystem diskwright writes (the loader's files go into it). */
export function needFilesystem(p: ResolvedPartition, path: string, what: string): ResolvedPartition {
  if (!filesystemHandler(p.filesystem)) {
    throw new DiskwrightError('E_BOOT_TARGET', `${what} go to partition ${show(p.name)}, whose filesystem is ${p.filesystem}; give it a filesystem diskwright writes (vfat, ext4)`, { path, value: p.name });
  }
  return p;
}

/** The ESP a loader goes to: the one named, else the first ESP of the table. */
export function espFor(ctx: BootContext, name: string | undefined, path: string, what: string): ResolvedPartition {
  if (name !== undefined) return needFilesystem(partitionNamed(ctx, name, `${path}.partition`), `${path}.partition`, what);
  const p = ctx.partitions.find(isEsp);
  if (!p) throw new DiskwrightError('E_BOOT_TARGET', `${what} need an EFI system partition (type: esp) with a vfat filesystem; the spec has none`, { path });
  return needFilesystem(p, path, what);
}

/** A copy of a host file into a partition's tree. */
export function copyEntry(source: string, target: string, path: string): ResolvedEntry {
  return { path, kind: 'source', source, target };
}

/** A file of text in a partition's tree. */
export function textEntry(text: string, target: string, path: string): ResolvedEntry {
  return { path, kind: 'text', text, target };
}

/**
 * The file name part of an entry id: what a title can give for a file name and a FAT directory
 * (letters, digits, `.`, `_`, `-`), or `fallback`.
 */
export function idFrom(title: string, fallback: string): string {
  const id = title.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '');
  return id === '' ? fallback : id.slice(0, 64);
}

/** Ids must be unique and usable as one file name: E_DUPLICATE / E_NAME naming `path`. */
export function checkIds(ids: readonly { id: string; path: string }[]): void {
  const seen = new Map<string, string>();
  for (const { id, path } of ids) {
    if (id.includes('/') || id.includes('\\') || id === '.' || id === '..') throw new DiskwrightError('E_NAME', `entry id ${show(id)} must be one file name (no / or \\)`, { path, value: id });
    const prev = seen.get(id);
    if (prev) throw new DiskwrightError('E_DUPLICATE', `entry id ${show(id)} is also the id of ${prev}; give each entry its own id`, { path, value: id });
    seen.set(id, path);
  }
}

/** The entries a list of host files gives in `dir` of a partition's tree, each under its base name. */
export function copiesInto(dir: string, files: readonly { source: string; path: string }[]): { entries: ResolvedEntry[]; targets: string[] } {
  const entries = files.map((f) => copyEntry(f.source, `${dir}/${basename(f.source)}`, f.path));
  return { entries, targets: entries.map((e) => e.target!) };
}

/** A value written on one line of a configuration file: no line breaks (E_BOOT_CONFIG naming `path`). */
export function oneLine(value: string, path: string): string {
  if (/[\r\n]/.test(value)) throw new DiskwrightError('E_BOOT_CONFIG', `${show(value)} must be one line (it is written on one line of a configuration file)`, { path, value });
  return value;
}

/** Add `entries` to the files of partition `index`; two loader files at one path are E_DUPLICATE_TARGET naming the second. */
export function addFiles(out: ResolvedBootloader, index: number, entries: readonly ResolvedEntry[]): void {
  let f = out.files.find((x) => x.partition === index);
  if (!f) { f = { partition: index, entries: [] }; out.files.push(f); }
  for (const e of entries) {
    const prev = f.entries.find((x) => x.target === e.target);
    if (prev) throw new DiskwrightError('E_DUPLICATE_TARGET', `${show(e.target)} is also written by ${prev.path}; give the files different names`, { path: e.path, value: e.target });
    f.entries.push(e);
  }
}

export type { BootloaderSpec };
