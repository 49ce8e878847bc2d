/**
 * GRUB for BIOS (i386-pc), installed as `grub-install --target=i386-pc` does it (issue 10), by our
 * own code on the planned disk: `boot.img` into the MBR's code area, `core.img` into the gap after
 * the MBR (`table: mbr`) or into the BIOS boot partition (GPT, hybrid), with the fields GRUB 2.06's
 * grub-bios-setup patches (util/setup.c, embedding case; include/grub/i386/pc/boot.h):
 *
 * | where | field | value |
 * |---|---|---|
 * | boot.img 0x03–0x59 | BPB | the disk's sector 0 there (zeros: our tables put no code in sector 0) |
 * | boot.img 0x5c | kernel_sector (u64) | LBA of core.img's first sector |
 * | boot.img 0x64 | boot_drive | 0xff: the drive the BIOS passed in DL |
 * | boot.img 0x66 | boot_drive_check | `jmp` (eb 05) → `nop nop`, for hard disks |
 * | sector 0 0x1b8–0x1fd | signature, table | the table's own, untouched (hybrid MBR too) |
 * | core.img 0x1f4 | blocklist start (u64), len (u16), segment (u16) | core LBA + 1, sectors − 1, 0x0820 |
 * | core.img 0x1e8 | the entry before | zero: the list's end |
 *
 * Without Reed-Solomon redundancy after core.img (grub-install's is optional; GRUB boots without).
 * The modules GRUB loads at run time are copied to `<prefix>/i386-pc` of the filesystem the prefix
 * names.
 *
 * @example
 * const patches = embedGrub(r, grubArea(r, spec, layout, coreImg.length), bootImg, coreImg, sector0); // [{ offset: 0, bytes }, { offset: 512, bytes }]
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DiskwrightError, show } from '../errors.js';
import type { ResolvedPartition, ResolvedSpec } from '../spec/types.js';
import type { DiskLayout } from '../table/layout.js';
import { PARTITION_TYPES } from '../table/types.js';
import { defineStruct } from '../util/struct.js';
import { addFiles, copyEntry, hostDir, hostFile, needFilesystem, type BootContext, type ResolvedBootloader, type ResolvedGrubBios } from './resolve.js';
import type { GrubBiosSpec } from './schema.js';

/** GRUB's sectors are 512 bytes (GRUB_DISK_SECTOR_SIZE), as are a BIOS's disk reads. */
export const GRUB_SECTOR = 512;

/** The boot.img fields grub-bios-setup writes (include/grub/i386/pc/boot.h, GRUB_BOOT_MACHINE_*). */
export const BootImg = defineStruct('grub_boot_img', GRUB_SECTOR, [
  { name: 'bpb', offset: 0x3, kind: { bytes: 0x5a - 0x3 } },
  { name: 'kernel_sector', offset: 0x5c, kind: 'u64le' },
  { name: 'boot_drive', offset: 0x64, kind: 'u8' },
  { name: 'boot_drive_check', offset: 0x66, kind: { bytes: 2 } },
  { name: 'signature', offset: 0x1fe, kind: 'u16le' },
]);
/** GRUB_BOOT_MACHINE_WINDOWS_NT_MAGIC: from here to the end of sector 0 the table's bytes are kept. */
export const BOOT_IMG_CODE_END = 0x1b8;
const BOOT_SIGNATURE = 0xaa55;
/** boot_drive 0xff: use the drive number the BIOS passed in DL (util/setup.c). */
const BOOT_DRIVE_FROM_BIOS = 0xff;

/** One entry of diskboot.img's blocklist, the last 12 bytes of core.img's first sector (struct grub_pc_bios_boot_blocklist). */
export const Blocklist = defineStruct('grub_pc_bios_boot_blocklist', 12, [
  { name: 'start', offset: 0x0, kind: 'u64le' },
  { name: 'len', offset: 0x8, kind: 'u16le' },
  { name: 'segment', offset: 0xa, kind: 'u16le' },
]);
export const BLOCKLIST_OFFSET = GRUB_SECTOR - Blocklist.size;
/** Where diskboot.img loads the rest of core.img: segment 0x820 = 0x8200 (GRUB_BOOT_I386_PC_KERNEL_SEG + 512 >> 4). */
export const BLOCKLIST_SEGMENT = 0x820;
/** grub-bios-setup never embeds more than this many sectors: core.img is loaded at 0x8000 and must end below 0x78000 (util/setup.c). */
export const MAX_CORE_SECTORS = (0x78000 - 0x9000) / GRUB_SECTOR;

const BIOS_BOOT = PARTITION_TYPES['bios-boot']!.gpt!;

/**
 * The partition a GRUB prefix names (`(hd0,msdos1)/boot/grub`, `(,gpt2)/boot/grub`, `(hd0,1)/grub`)
 * and the directory in it; undefined when it names none (`/boot/grub`).
 *
 * @example
 * prefixPartition('(hd0,gpt2)/boot/grub', spec, 'bootloader.grub-bios.prefix'); // { partition: partitions[1], dir: '/boot/grub' }
 */
export function prefixPartition(prefix: string, ctx: Pick<BootContext, 'table' | 'partitions'>, path: string): { partition: ResolvedPartition; dir: string } | undefined {
  const m = /^\((?:hd\d+)?,(msdos|gpt)?(\d+)\)(\/.*)?$/.exec(prefix);
  if (!m) return undefined;
  const scheme = m[1] ?? (ctx.table === 'mbr' ? 'msdos' : 'gpt');
  const n = Number(m[2]);
  const dir = (m[3] ?? '/').replace(/\/+$/, '') || '';
  let p: ResolvedPartition | undefined;
  if (scheme === 'gpt') {
    if (ctx.table !== 'gpt' && ctx.table !== 'hybrid') throw new DiskwrightError('E_GRUB_PREFIX', `prefix ${show(prefix)} names a GPT partition; this disk has table: ${ctx.table} (write msdos${n})`, { path, value: prefix });
    p = ctx.partitions[n - 1];
  } else if (ctx.table === 'mbr') {
    p = ctx.partitions[n - 1];
  } else if (ctx.table === 'hybrid') {
    // The hybrid MBR: its 0xEE entry first, then the mirrored partitions (src/table/hybrid.ts).
    p = n >= 2 ? ctx.partitions.filter((q) => q.mbrType !== undefined).slice(0, 3)[n - 2] : undefined;
  } else {
    throw new DiskwrightError('E_GRUB_PREFIX', `prefix ${show(prefix)} names an MBR partition; this disk has table: ${ctx.table} (write gpt${n})`, { path, value: prefix });
  }
  if (!p) throw new DiskwrightError('E_GRUB_PREFIX', `prefix ${show(prefix)} names partition ${m[1] ?? ''}${n}, which the spec does not have`, { path, value: prefix });
  return { partition: p, dir };
}

/** Resolve `bootloader.grub-bios` (see the module comment); module files go into `out`. */
export function resolveGrubBios(g: GrubBiosSpec, ctx: BootContext, out: ResolvedBootloader, path = 'bootloader.grub-bios'): ResolvedGrubBios {
  if (ctx.table === 'none') throw new DiskwrightError('E_BOOT_TABLE', 'grub-bios needs a partition table (mbr, gpt or hybrid) to hold boot.img and core.img', { path, value: ctx.table });
  if (ctx.sectorSize !== GRUB_SECTOR) throw new DiskwrightError('E_BOOT_TABLE', `grub-bios needs 512-byte sectors (BIOS disks); this disk has ${ctx.sectorSize}`, { path: 'sectorSize', value: ctx.sectorSize });
  const clash = ctx.raw.find((r) => r.offset < GRUB_SECTOR);
  if (clash) throw new DiskwrightError('E_OVERLAP', `raw blob ${show(clash.source)} writes into sector 0, where grub-bios puts boot.img; use one of them`, { path: `${clash.path}.offset`, value: clash.offset });

  const dir = g.directory !== undefined ? hostDir(ctx, g.directory, `${path}.directory`) : undefined;
  if (g.boot === undefined && dir === undefined) throw new DiskwrightError('E_MISSING', 'grub-bios needs boot.img: give directory (GRUB\'s i386-pc directory) or boot', { path: `${path}.directory` });
  const boot = g.boot !== undefined ? hostFile(ctx, g.boot, `${path}.boot`) : hostFile(ctx, join(dir!, 'boot.img'), `${path}.directory`, 'boot.img');
  const r: ResolvedGrubBios = { path, boot, target: { kind: 'gap' } };
  if (g.core !== undefined) {
    r.core = hostFile(ctx, g.core, `${path}.core`);
  } else {
    if (dir === undefined) throw new DiskwrightError('E_MISSING', 'grub-bios needs core.img: give core, or directory, prefix and load to assemble it', { path: `${path}.core` });
    if (g.prefix === undefined) throw new DiskwrightError('E_MISSING', 'assembling core.img needs the prefix it looks for its modules under, e.g. "(hd0,msdos1)/boot/grub"', { path: `${path}.prefix` });
    const load = g.load ?? [];
    for (const [i, m] of ['kernel.img', 'lzma_decompress.img', 'diskboot.img', 'moddep.lst', ...load.map((x) => `${x}.mod`)].entries()) {
      const where = i >= 4 ? `${path}.load[${i - 4}]` : `${path}.directory`;
      if (/[/\\]/.test(m)) throw new DiskwrightError('E_NAME', `module ${show(m)} must be a module name (ext2, part_msdos)`, { path: where, value: m });
      hostFile(ctx, join(dir, m), where, 'GRUB file');
    }
    r.assemble = { directory: dir, prefix: g.prefix, load: [...load], ...(g.config !== undefined ? { config: g.config } : {}) };
  }

  if (ctx.table !== 'mbr') {
    const bios = ctx.partitions.find((p) => p.typeGuid === BIOS_BOOT);
    if (!bios) throw new DiskwrightError('E_GRUB_NO_BIOS_BOOT', `a ${ctx.table} disk keeps core.img in a BIOS boot partition, and the spec has none; add { type: bios-boot, size: 1MiB }`, { path, value: ctx.table });
    if (bios.filesystem !== 'none' || bios.contents.length) throw new DiskwrightError('E_BOOT_TARGET', `the BIOS boot partition ${show(bios.name)} holds core.img; it takes no filesystem or contents`, { path: `${bios.path}.filesystem`, value: bios.filesystem });
    r.target = { kind: 'partition', index: bios.index };
  }

  // The modules GRUB loads at run time: every *.mod and *.lst of the directory, as grub-install copies them.
  if (dir !== undefined && g.modules !== false && g.prefix !== undefined) {
    const named = prefixPartition(g.prefix, ctx, `${path}.prefix`);
    if (!named) throw new DiskwrightError('E_GRUB_PREFIX', `prefix ${show(g.prefix)} names no partition, so diskwright cannot tell where the modules go; write e.g. "(hd0,msdos1)/boot/grub", or modules: false`, { path: `${path}.prefix`, value: g.prefix });
    needFilesystem(named.partition, `${path}.prefix`, 'GRUB\'s modules');
    if (ctx.checkFiles) {
      const files = readdirSync(dir).filter((f) => /\.(mod|lst)$/.test(f)).sort();
      addFiles(out, named.partition.index, files.map((f) => copyEntry(join(dir, f), `${named.dir}/i386-pc/${f}`, `${path}.directory`)));
    }
  }
  return r;
}

/** One range of disk bytes a boot loader writes over the planned disk. */
export interface BootPatch {
  offset: number;
  bytes: Uint8Array;
}

/**
 * Where core.img goes on the laid-out disk and how many sectors it may take: the MBR gap (LBA 1
 * to the first partition, raw blobs excluded) or the BIOS boot partition.
 */
function embeddingArea(r: ResolvedGrubBios, spec: Pick<ResolvedSpec, 'raw'>, layout: DiskLayout, sectors: number): { lba: number; sectors: number; what: string } {
  if (r.target.kind === 'partition') {
    const index = r.target.index;
    const q = layout.placements.find((x) => x.part.index === index)!;
    return { lba: q.offset / GRUB_SECTOR, sectors: q.size / GRUB_SECTOR, what: `the BIOS boot partition ${show(q.part.name)}` };
  }
  const first = Math.min(...layout.placements.map((q) => q.offset / GRUB_SECTOR), layout.size / GRUB_SECTOR);
  const end = 1 + sectors;
  const blob = spec.raw.find((b) => b.offset < end * GRUB_SECTOR && b.offset + b.size > GRUB_SECTOR);
  if (blob) throw new DiskwrightError('E_OVERLAP', `raw blob ${show(blob.source)} (offset ${blob.offset}) lies in the MBR gap where core.img goes (sectors 1..${end - 1}); move it, or use a GPT with a BIOS boot partition`, { path: `${blob.path}.offset`, value: blob.offset });
  return { lba: 1, sectors: first - 1, what: `the MBR gap (sectors 1..${first - 1}, before the first partition)` };
}

/** Where core.img goes and how many sectors it takes there. */
export interface CoreArea {
  lba: number;
  sectors: number;
}

/**
 * Check that a core.img of `coreBytes` fits its area on the laid-out disk (the MBR gap or the BIOS
 * boot partition) and GRUB's own limit, before either image is read.
 */
export function grubArea(r: ResolvedGrubBios, spec: Pick<ResolvedSpec, 'raw'>, layout: DiskLayout, coreBytes: number): CoreArea {
  const nsec = Math.ceil(coreBytes / GRUB_SECTOR);
  const area = embeddingArea(r, spec, layout, nsec);
  if (nsec > area.sectors || nsec > MAX_CORE_SECTORS) {
    const room = Math.min(area.sectors, MAX_CORE_SECTORS);
    throw new DiskwrightError('E_GRUB_CORE_SIZE', `core.img needs ${nsec} sectors (${coreBytes} bytes), and ${area.what} holds ${room}${area.sectors > MAX_CORE_SECTORS ? ' (GRUB loads at most that many)' : ''}; start the first partition later (1 MiB is usual) or build a smaller core.img`, { path: r.core !== undefined ? `${r.path}.core` : `${r.path}.load`, value: nsec });
  }
  return { lba: area.lba, sectors: nsec };
}

/**
 * The bytes grub-bios-setup writes (see the module comment) for boot.img and core.img at `area`,
 * checked: boot.img is one sector ending in 55 AA, core.img starts with diskboot.img. `sector0` is
 * the table's sector 0, whose BPB area boot.img takes.
 */
export function embedGrub(r: ResolvedGrubBios, area: CoreArea, bootImg: Uint8Array, coreImg: Uint8Array, sector0: Uint8Array): BootPatch[] {
  if (bootImg.length !== GRUB_SECTOR || BootImg.decodeField(bootImg, 'signature') !== BOOT_SIGNATURE) {
    throw new DiskwrightError('E_BOOT_FILE', `${r.boot} is not GRUB's boot.img (512 bytes ending in 55 AA); it has ${bootImg.length} bytes`, { path: `${r.path}.boot`, value: r.boot });
  }
  const nsec = Math.ceil(coreImg.length / GRUB_SECTOR);
  if (nsec !== area.sectors || nsec < 2 || Blocklist.decodeField(coreImg, 'segment', BLOCKLIST_OFFSET) !== BLOCKLIST_SEGMENT) {
    throw new DiskwrightError('E_BOOT_FILE', `${r.core ?? 'core.img'} is not an i386-pc core.img (diskboot.img's blocklist loads to segment 0x820; grub-mkimage -O i386-pc)`, { path: r.core !== undefined ? `${r.path}.core` : r.path, value: r.core });
  }
  const core = new Uint8Array(nsec * GRUB_SECTOR);
  core.set(coreImg);
  core.fill(0, BLOCKLIST_OFFSET - Blocklist.size, BLOCKLIST_OFFSET);
  Blocklist.encode({ start: area.lba + 1, len: nsec - 1, segment: BLOCKLIST_SEGMENT }, core, BLOCKLIST_OFFSET);

  const boot = bootImg.slice();
  const bpb = BootImg.offsetOf('bpb');
  boot.set(sector0.subarray(bpb, bpb + BootImg.sizeOf('bpb')), bpb);
  BootImg.encode({ kernel_sector: area.lba, boot_drive: BOOT_DRIVE_FROM_BIOS, boot_drive_check: Uint8Array.of(0x90, 0x90) }, boot);
  // Only the code area: the disk signature and partition table from 0x1b8 on stay the table's.
  return [{ offset: 0, bytes: boot.subarray(0, BOOT_IMG_CODE_END) }, { offset: area.lba * GRUB_SECTOR, bytes: core }];
}
