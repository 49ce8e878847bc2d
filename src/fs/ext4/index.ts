/**
 * The ext4 writer (issue 3): a FilesystemHandler that plans an ext4 filesystem from a Tree with the
 * feature set e2fsprogs 1.47 uses by default (has_journal, ext_attr, resize_inode, dir_index,
 * filetype, extent, 64bit, flex_bg, sparse_super, large_file, huge_file, dir_nlink, extra_isize,
 * metadata_csum).
 *
 * Planning runs in three phases: `prepare` (inode numbers in tree order, directories, xattrs: work
 * independent of the size), `allocate` (the layout for one block count; `sizeBlocks` finds the
 * smallest count that fits, for `size: auto`) and `encode` (metadata buffers plus references to the
 * file data: the Volume).
 *
 * @example
 * const { volume, info } = ext4Handler.plan(tree, ctx);
 * await emit(volume, 'root.img', { format: 'raw', compression: 'none', seed: ctx.seed, epoch: ctx.epoch });
 */
import { DiskwrightError } from '../../errors.js';
import type { Tree } from '../../tree/model.js';
import { deriveUuid, formatUuid, isUuid, uuidToBytes } from '../../util/ids.js';
import { parseSize, formatSize } from '../../util/size.js';
import type { FilesystemHandler, FsContext, PlannedFilesystem } from '../types.js';
import { adjustBlocks } from './layout.js';
import { allocate, sizeBlocks } from './allocate.js';
import { encode } from './encode.js';
import { prepare, type Ext4Settings } from './prepare.js';

export { crc32c } from './checksum.js';

function settingsFor(ctx: FsContext): Ext4Settings {
  const o = ctx.ext4 ?? {};
  const path = `${ctx.specPath}.ext4`;
  const blockSize = o.blockSize ?? 4096;
  if (![1024, 2048, 4096].includes(blockSize)) throw new DiskwrightError('E_EXT4_OPTION', `blockSize ${blockSize} must be 1024, 2048 or 4096`, { path: `${path}.blockSize`, value: blockSize });
  if (o.inodeSize !== undefined && o.inodeSize !== 256) throw new DiskwrightError('E_EXT4_OPTION', `inodeSize ${o.inodeSize} is not supported: ext4 inodes are written with 256 bytes`, { path: `${path}.inodeSize`, value: o.inodeSize });
  const label = Buffer.from(ctx.label ?? '', 'utf8');
  if (label.length > 16) throw new DiskwrightError('E_EXT4_LABEL', `label ${JSON.stringify(ctx.label)} is ${label.length} bytes; ext4 labels hold at most 16`, { path: `${ctx.specPath}.label`, value: ctx.label });
  let uuid: string;
  if (ctx.fsUuid !== undefined) {
    if (!isUuid(ctx.fsUuid)) throw new DiskwrightError('E_EXT4_UUID', `fsUuid ${JSON.stringify(ctx.fsUuid)} is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`, { path: `${ctx.specPath}.fsUuid`, value: ctx.fsUuid });
    uuid = ctx.fsUuid.toLowerCase();
  } else uuid = deriveUuid(ctx.seed, `fs:${ctx.name}`);
  let hashSeed: Uint8Array;
  if (o.hashSeed !== undefined) {
    if (!isUuid(o.hashSeed)) throw new DiskwrightError('E_EXT4_OPTION', `hashSeed ${JSON.stringify(o.hashSeed)} is not a UUID`, { path: `${path}.hashSeed`, value: o.hashSeed });
    hashSeed = uuidToBytes(o.hashSeed);
  } else hashSeed = uuidToBytes(deriveUuid(ctx.seed, `ext4-hash-seed:${ctx.name}`));
  let journalBlocks: number | undefined;
  if (o.journalSize !== undefined) {
    journalBlocks = Math.ceil(parseSize(o.journalSize, `${path}.journalSize`) / blockSize);
    if (journalBlocks < 1024) throw new DiskwrightError('E_EXT4_OPTION', `journalSize ${formatSize(journalBlocks * blockSize)} is below the 1024-block minimum (${formatSize(1024 * blockSize)})`, { path: `${path}.journalSize`, value: o.journalSize });
  }
  const reservedPercent = o.reservedPercent ?? 5;
  if (!(reservedPercent >= 0 && reservedPercent <= 50)) throw new DiskwrightError('E_EXT4_OPTION', `reservedPercent ${reservedPercent} must be between 0 and 50`, { path: `${path}.reservedPercent`, value: reservedPercent });
  const bytesPerInode = o.bytesPerInode ?? 16384;
  if (!(Number.isInteger(bytesPerInode) && bytesPerInode >= 1024 && bytesPerInode <= 67108864)) throw new DiskwrightError('E_EXT4_OPTION', `bytesPerInode ${bytesPerInode} must be an integer from 1024 to 64 MiB`, { path: `${path}.bytesPerInode`, value: bytesPerInode });
  if (o.inodeCount !== undefined && !(Number.isInteger(o.inodeCount) && o.inodeCount > 0)) throw new DiskwrightError('E_EXT4_OPTION', `inodeCount ${o.inodeCount} must be a positive integer`, { path: `${path}.inodeCount`, value: o.inodeCount });
  return {
    blockSize, journal: o.journal ?? true, journalBlocks, inodeCount: o.inodeCount, bytesPerInode, reservedPercent,
    resizeInode: true, label, uuid: uuidToBytes(uuid), hashSeed, fsTime: ctx.epoch ?? 0, specPath: ctx.specPath,
  };
}

/** Plan an ext4 filesystem for `tree` (see FilesystemHandler). */
export function planExt4(tree: Tree, ctx: FsContext): PlannedFilesystem {
  const s = settingsFor(ctx);
  const B = s.blockSize;
  const prepared = prepare(tree, s);
  if (s.inodeCount !== undefined && s.inodeCount < prepared.lastIno) {
    throw new DiskwrightError('E_EXT4_INODES', `inodeCount ${s.inodeCount} is too small: the tree needs ${prepared.lastIno} inodes (11 reserved included)`, { path: `${ctx.specPath}.ext4.inodeCount`, value: s.inodeCount });
  }
  let alloc;
  let volumeSize: number;
  if (ctx.size === 'auto') {
    alloc = sizeBlocks(prepared, Math.ceil(ctx.extraSpace / B), 0);
    volumeSize = alloc.geo.blocksCount * B;
  } else {
    volumeSize = ctx.size;
    const blocks = adjustBlocks(Math.floor(ctx.size / B), B, false);
    const a = blocks >= 64 ? allocate(prepared, blocks, 0) : { inodesShort: 0 };
    if ('inodesShort' in a || a.deficit > 0) {
      const need = sizeBlocks(prepared, 0, 0).geo.blocksCount * B;
      throw new DiskwrightError('E_TOO_SMALL', `ext4 filesystem of ${formatSize(ctx.size)} (${ctx.size} bytes) is too small for its contents: it needs at least ${need} bytes (${formatSize(need)}); raise size or use size: auto`, { path: `${ctx.specPath}.size`, value: ctx.size });
    }
    alloc = a;
  }
  const volume = encode(prepared, alloc, volumeSize);
  const label = ctx.label;
  return {
    volume,
    info: {
      type: 'ext4', size: volumeSize, uuid: formatUuid(s.uuid), ...(label ? { label } : {}),
      details: {
        blockSize: B, blocks: alloc.geo.blocksCount, inodes: alloc.geo.inodesPerGroup * alloc.geo.groups, usedInodes: prepared.lastIno,
        freeBlocks: alloc.freeBlocks, journalBlocks: alloc.journalBlocks, groups: alloc.geo.groups,
      },
    },
  };
}

export const ext4Handler: FilesystemHandler = { type: 'ext4', plan: planExt4 };
