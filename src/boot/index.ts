/**
 * Boot loaders declared in the spec (issue 10), in the pipeline's two places
 * (docs/ARCHITECTURE.md §2.1):
 * - validation: `resolveBootloader` checks the `bootloader:` block and turns it into files for
 *   partitions' trees (added after their contents, before planning), GRUB's embedding and an EFI
 *   variable store to make once the disk is laid out;
 * - after the layout: `planBoot` writes boot code over the planned disk (boot.img in the MBR's code
 *   area, core.img after it) and makes the variable store, which `buildImage` writes beside the
 *   image. Nothing here runs grub-install, grub-mkimage, bootctl or efibootmgr.
 *
 * @example
 * const { disk, outputs } = await planBoot(spec, layout, assembleDisk(spec, layout, volumes));
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DiskwrightError } from '../errors.js';
import { sliceExtent, VolumeBuilder, type Volume } from '../extent/extent.js';
import { readRange } from '../extent/read.js';
import type { ResolvedSpec } from '../spec/types.js';
import type { DiskLayout } from '../table/layout.js';
import type { ResolvedEntry } from '../tree/entries.js';
import { buildEfiVars, resolveEfiVars } from './efivars.js';
import { resolveExtlinux } from './extlinux.js';
import { assembleCore, MAX_CORE_BYTES } from './grub-mkimage.js';
import { embedGrub, grubArea, resolveGrubBios, type BootPatch } from './grub-bios.js';
import { fileSize, readSmallFile } from './read.js';
import type { BootContext, ResolvedBootloader } from './resolve.js';
import type { BootloaderSpec } from './schema.js';
import { resolveSystemdBoot } from './systemd-boot.js';

export type { ResolvedBootloader, BootFiles, ResolvedGrubBios, ResolvedEfiVars } from './resolve.js';
export { BootloaderSchema, type BootloaderSpec } from './schema.js';
export { idReferences, expandEntryRefs } from './refs.js';

/**
 * Resolve the `bootloader:` block against the spec resolved so far (partitions, table, raw blobs):
 * each loader's files, checked, with the partition they go to. Errors name `bootloader.…` paths.
 *
 * @example
 * const boot = resolveBootloader({ 'systemd-boot': { efi: './systemd-bootx64.efi' } }, ctx);
 */
export function resolveBootloader(spec: BootloaderSpec, ctx: BootContext): ResolvedBootloader {
  const out: ResolvedBootloader = { files: [] };
  const sd = spec['systemd-boot'] !== undefined ? resolveSystemdBoot(spec['systemd-boot'], ctx, out) : undefined;
  if (spec['grub-bios'] !== undefined) out.grubBios = resolveGrubBios(spec['grub-bios'], ctx, out);
  if (spec.extlinux !== undefined) resolveExtlinux(spec.extlinux, ctx, out);
  if (spec.efiVars !== undefined) out.efiVars = resolveEfiVars(spec.efiVars, ctx, sd);
  return out;
}

/** A file written beside the image (an EFI variable store). */
export interface BootOutput {
  /** Its file name, or undefined for the default `<image>.vars.fd`. */
  name: string | undefined;
  /** What the report calls it. */
  kind: 'efiVars';
  bytes: Uint8Array;
}

/**
 * What the boot loaders add once the disk is laid out: boot code written over the planned disk,
 * and files to write beside the image. Reads the loaders' small host files (boot.img, core.img or
 * GRUB's kernel and modules, the variable store template), each checked against its limit first.
 *
 * @example
 * const boot = await planBoot(spec, layout, assembleDisk(spec, layout, volumes), signal);
 * boot.outputs; // [{ name: undefined, kind: 'efiVars', bytes }] with bootloader.efiVars
 */
export async function planBoot(spec: ResolvedSpec, layout: DiskLayout, disk: Volume, signal?: AbortSignal): Promise<{ disk: Volume; outputs: BootOutput[] }> {
  const boot = spec.bootloader;
  const outputs: BootOutput[] = [];
  if (!boot) return { disk, outputs };
  let patches: BootPatch[] = [];
  if (boot.grubBios) {
    const g = boot.grubBios;
    // A prebuilt core.img is measured against its area before anything is read.
    const assembled = g.core === undefined ? await assembleCore(g.assemble!, g.path, signal) : undefined;
    const area = grubArea(g, spec, layout, assembled?.length ?? fileSize(g.core!, `${g.path}.core`));
    const coreImg = assembled ?? readSmallFile(g.core!, MAX_CORE_BYTES, `${g.path}.core`);
    const bootImg = readSmallFile(g.boot, 512, `${g.path}.boot`);
    patches = embedGrub(g, area, bootImg, coreImg, readRange(disk, 0, 512));
  }
  if (boot.efiVars) {
    const v = boot.efiVars;
    outputs.push({ name: v.output, kind: 'efiVars', bytes: buildEfiVars(v, spec, layout) });
  }
  return { disk: patches.length ? overlay(disk, patches) : disk, outputs };
}

/**
 * The disk with `patches` written over it: extents under a patch are cut around it.
 *
 * @example
 * overlay(disk, [{ offset: 0, bytes: bootCode }]); // sector 0's code area replaced, its table kept
 */
export function overlay(disk: Volume, patches: readonly BootPatch[]): Volume {
  const b = new VolumeBuilder();
  for (const e of disk.extents) {
    let pieces = [e];
    for (const p of patches) {
      const from = p.offset, to = p.offset + p.bytes.length;
      pieces = pieces.flatMap((x) => {
        if (to <= x.offset || from >= x.offset + x.length) return [x];
        return [...(from > x.offset ? [sliceExtent(x, x.offset, from)] : []), ...(to < x.offset + x.length ? [sliceExtent(x, to, x.offset + x.length)] : [])];
      });
    }
    for (const x of pieces) b.add(x);
  }
  for (const p of patches) b.addBytes(p.offset, p.bytes);
  return b.finish(disk.size, 'disk');
}

/** The boot loaders' files for partition `index`'s tree (contents entries added after its own). */
export function bootFilesOf(spec: Pick<ResolvedSpec, 'bootloader'>, index: number): ResolvedEntry[] {
  return spec.bootloader?.files.find((f) => f.partition === index)?.entries ?? [];
}

/** Where a file beside the image goes: its name in the image's directory, or `<image>.vars.fd`. */
function besidePath(o: BootOutput, output: string): string {
  return o.name !== undefined ? join(dirname(output), o.name) : `${output}.vars.fd`;
}

/** Before the image is written: files beside it need an image file (not stdout) to be beside. */
export function checkBootOutputs(outputs: readonly BootOutput[], output: string): void {
  if (outputs.length && output === '-') throw new DiskwrightError('E_EFIVARS_OUTPUT', 'the EFI variable store is written beside the image; give an output file, not -', { path: 'bootloader.efiVars' });
}

/**
 * Write the files beside the image (`output`, an absolute path), each through a temporary file
 * renamed when complete. Returns their paths by kind, for the report.
 */
export function writeBootOutputs(outputs: readonly BootOutput[], output: string): { efiVars?: string } {
  const out: { efiVars?: string } = {};
  for (const o of outputs) {
    const path = besidePath(o, output);
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, o.bytes);
      renameSync(tmp, path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new DiskwrightError('E_OUTPUT', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: 'bootloader.efiVars', value: path });
    }
    out[o.kind] = path;
  }
  return out;
}
