/**
 * The ISO 9660 planner: from a Tree to a Volume (docs/ARCHITECTURE.md §2.1), in five steps:
 *   1. boot: the catalog put in the tree, the boot images found (boot.ts);
 *   2. hierarchies: names, relocation, inodes (hierarchy.ts);
 *   3. file data: sizes, zisofs compression on the workers (zisofs.ts);
 *   4. layout: directory sizes, then every LBA (layout.ts);
 *   5. encoding: descriptors, path tables, directories, file extents, boot structures (encode.ts).
 * Sizes: `auto` is exact (whole sectors, plus extraSpace); a fixed size pads with zeros or fails
 * with E_TOO_SMALL naming the bytes needed.
 *
 * @example
 * const { volume, info } = await planIso(tree, ctx);
 */
import { DiskwrightError, show } from '../../errors.js';
import { VolumeBuilder } from '../../extent/extent.js';
import { addContent } from '../../extent/content.js';
import type { Tree } from '../../tree/model.js';
import { formatSize } from '../../util/size.js';
import type { FsContext, PlannedFilesystem } from '../types.js';
import { finishBoot, prepareBoot, type BootOutput, type BootPrep } from './boot.js';
import { MAX_PATH_TABLE_PARENT } from './descriptors.js';
import { encodeIso, type StoredBytes } from './encode.js';
import { buildHierarchy, type Inode } from './hierarchy.js';
import { layoutIso } from './layout.js';
import type { Iso9660ResolvedOptions } from './options.js';
import { dataRanges } from './sparse.js';
import { encodeVolumeDate, SECTOR } from './structs.js';
import { compressFiles, type Compressed } from './zisofs.js';

export const NAME = 'iso9660';
/** What `label` defaults to, as genisoimage's volume id. */
export const DEFAULT_LABEL = 'CDROM';
/** ECMA-119 8.4.8: the volume space size is a 32-bit count of sectors. */
const MAX_SECTORS = 0xffffffff;

function volumeId(ctx: FsContext<Iso9660ResolvedOptions>): string {
  const label = ctx.label ?? DEFAULT_LABEL;
  // ECMA-119 8.4.6 asks for d-characters; xorriso writes any ASCII up to 32 as given, and so do we.
  if (!/^[\x20-\x7e]{0,32}$/.test(label)) {
    throw new DiskwrightError('E_ISO_LABEL', `label ${show(label)} is not an ISO 9660 volume id: at most 32 ASCII characters (NIXOS_ISO, cidata)`, { path: `${ctx.specPath}.label`, value: label });
  }
  return label;
}

/** The id blkid and udev give an ISO (/dev/disk/by-uuid): its modification time, `2023-11-14-22-13-20-00`. */
function volumeUuid(epoch: number): string {
  const d = encodeVolumeDate(epoch);
  const t = Buffer.from(d.subarray(0, 16)).toString('latin1');
  return [t.slice(0, 4), t.slice(4, 6), t.slice(6, 8), t.slice(8, 10), t.slice(10, 12), t.slice(12, 14), t.slice(14, 16)].join('-');
}

/** Plan an ISO 9660 image of `tree` (see the module comment). */
export async function planIso(tree: Tree, ctx: FsContext<Iso9660ResolvedOptions>): Promise<PlannedFilesystem> {
  const o = ctx.options;
  const specPath = `${ctx.specPath}.${NAME}`;
  const label = volumeId(ctx);
  if (ctx.fsUuid !== undefined) {
    throw new DiskwrightError('E_ISO_OPTION', 'an ISO 9660 volume has no UUID to set: readers (blkid) take its modification time, sourceDateEpoch, as its id', { path: `${ctx.specPath}.fsUuid`, value: ctx.fsUuid });
  }
  const epoch = ctx.epoch ?? 0;

  // 1. boot
  const prep: BootPrep | undefined = o.boot ? prepareBoot(tree, o.boot, epoch, specPath) : undefined;
  // 2. hierarchies
  const h = buildHierarchy(prep?.tree ?? tree, { joliet: o.joliet, epoch, relocate: o.rockRidge });
  const parents = h.isoDirs.length > 0 ? h.isoDirs[h.isoDirs.length - 1]!.parent.number : 0;
  if (parents > MAX_PATH_TABLE_PARENT) {
    ctx.onWarning?.(`${ctx.specPath}: the ISO has ${h.isoDirs.length} directories; ECMA-119 path tables number parents up to ${MAX_PATH_TABLE_PARENT}, so readers that use them (DOS, some firmware) may not find the deepest ones (Linux and xorriso read the directories themselves)`);
  }
  ctx.signal?.throwIfAborted();
  let catalogInode: Inode | undefined;
  if (prep) {
    catalogInode = h.inodeOf.get(prep.catalog) ?? { node: prep.catalog, serial: h.inodes.length + 1, nlink: 1 };
    catalogInode.data = { lba: 0, stored: SECTOR };
  }
  // 3. file data, in tree order after the boot catalog; hard links once
  const dataOrder: Inode[] = catalogInode ? [catalogInode] : [];
  for (const ino of h.inodes) {
    if (ino === catalogInode || ino.node.kind !== 'file' || ino.node.size === 0) continue;
    if (!ino.node.content) throw new Error(`iso9660: file ${ino.node.name.toString()} has no content`);
    ino.data = { lba: 0, stored: ino.node.size };
    dataOrder.push(ino);
  }
  let compressed = new Map<Inode, Compressed>();
  if (o.zisofs) {
    const raw = new Set([prep?.bios, prep?.efi].filter((n) => n !== undefined).map((n) => h.inodeOf.get(n!)));
    compressed = await compressFiles(dataOrder.filter((i) => i !== catalogInode && !raw.has(i)), ctx);
    for (const [ino, c] of compressed) ino.data = { lba: 0, stored: c.stored, zisofs: c.zisofs };
  }
  ctx.signal?.throwIfAborted();

  // 4. layout
  const lay = layoutIso(h, { rockRidge: o.rockRidge, joliet: o.joliet, bootRecord: prep !== undefined, dataOrder });
  if (lay.sectors > MAX_SECTORS) {
    throw new DiskwrightError('E_ISO_TOO_BIG', `the ISO needs ${lay.sectors} sectors of 2048 bytes; ISO 9660 counts at most ${MAX_SECTORS} (8 TiB)`, { path: `${ctx.specPath}.contents`, value: lay.sectors });
  }
  let boot: BootOutput | undefined;
  if (prep && o.boot && catalogInode) {
    boot = finishBoot({ prep, boot: o.boot, ...(o.hybrid ? { hybrid: o.hybrid } : {}), inodeOf: h.inodeOf, catalogInode, pvdLba: lay.pvd, isoSectors: lay.sectors, seed: ctx.seed, specPath });
  }

  // Sizes
  const needed = Math.max(lay.sectors * SECTOR, boot?.totalSize ?? 0);
  let size: number;
  if (ctx.size === 'auto') {
    const unit = Math.max(SECTOR, ctx.sectorSize);
    size = Math.ceil((needed + ctx.extraSpace) / unit) * unit;
  } else {
    if (ctx.size < needed) {
      throw new DiskwrightError('E_TOO_SMALL', `ISO 9660 image of ${formatSize(ctx.size)} (${ctx.size} bytes) is too small for its contents: it needs at least ${needed} bytes (${formatSize(needed)}); raise size or use size: auto`, { path: `${ctx.specPath}.size`, value: ctx.size });
    }
    size = ctx.size;
  }

  // 5. encoding
  ctx.signal?.throwIfAborted();
  const vb = new VolumeBuilder();
  if (boot?.systemArea) vb.addBytes(0, boot.systemArea);
  if (boot && lay.bootRecord !== undefined) vb.addBytes(lay.bootRecord * SECTOR, boot.bootRecord);
  const bytesOf = (ino: Inode): StoredBytes => {
    if (ino === catalogInode) return { content: { kind: 'bytes', data: boot!.catalog } };
    const z = compressed.get(ino);
    if (z) return { content: z.content };
    const ranges = dataRanges(ino.node, ctx.signal);
    const overlays = boot?.overlays.get(ino);
    if (!ranges && !overlays) return { content: ino.node.content! };
    return { content: ino.node.content!, ...(ranges ? { dataRanges: ranges } : {}), ...(overlays ? { overlays } : {}) };
  };
  encodeIso(vb, h, lay, {
    ids: { volumeId: label, systemId: o.systemId, volumeSetId: o.volumeSetId, publisherId: o.publisherId, preparerId: o.preparerId, applicationId: o.applicationId, time: epoch },
    rockRidge: o.rockRidge, bytesOf, dataOrder,
  });
  if (boot?.appendedEsp) {
    const node = boot.appendedEsp.node;
    addContent(vb, boot.appendedEsp.offset, node.content!, 0, node.size);
  }
  for (const t of boot?.tail ?? []) vb.addBytes(t.offset, t.data);

  const relocated = h.isoDirs.filter((d) => d.relocated).length;
  return {
    volume: vb.finish(size, `${ctx.specPath} (iso9660)`),
    info: {
      type: NAME, size, label, ...(epoch ? { uuid: volumeUuid(epoch) } : {}),
      details: {
        sectors: lay.sectors, rockRidge: o.rockRidge, joliet: o.joliet, directories: h.isoDirs.length - (relocated ? 1 : 0), relocatedDirectories: relocated,
        zisofsFiles: compressed.size, ...(boot ? { bootCatalogLba: catalogInode!.data!.lba } : {}),
      },
    },
  };
}
