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
import { formatSize } from '../../util/size.js';
import { defineFilesystem, type FsContext, type FsIdContext, type PlannedFilesystem } from '../types.js';
import { Ext4Options, resolveExt4Options, type Ext4ResolvedOptions } from './options.js';
import { adjustBlocks } from './layout.js';
import { allocate, sizeBlocks } from './allocate.js';
import { encode } from './encode.js';
import { prepare, type Ext4Settings } from './prepare.js';

export { crc32c } from './checksum.js';
export { Ext4Options, resolveExt4Options, type Ext4ResolvedOptions, type Ext4OptionsInput } from './options.js';

/** The filesystem UUID: fsUuid, else derived from the seed (role `fs:<name>`, docs/ARCHITECTURE.md §4). */
function ext4Uuid(ctx: FsIdContext): string {
  if (ctx.fsUuid === undefined) return deriveUuid(ctx.seed, `fs:${ctx.name}`);
  if (!isUuid(ctx.fsUuid)) throw new DiskwrightError('E_EXT4_UUID', `fsUuid ${JSON.stringify(ctx.fsUuid)} is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`, { path: `${ctx.specPath}.fsUuid`, value: ctx.fsUuid });
  return ctx.fsUuid.toLowerCase();
}

/** The volume label's bytes (s_volume_name holds 16). */
function ext4Label(ctx: FsIdContext): Buffer {
  const label = Buffer.from(ctx.label ?? '', 'utf8');
  if (label.length > 16) throw new DiskwrightError('E_EXT4_LABEL', `label ${JSON.stringify(ctx.label)} is ${label.length} bytes; ext4 labels hold at most 16`, { path: `${ctx.specPath}.label`, value: ctx.label });
  return label;
}

function settingsFor(ctx: FsContext<Ext4ResolvedOptions>): Ext4Settings {
  // The option block was checked and resolved by resolveExt4Options (limits, defaults, sizes).
  const o = ctx.options;
  const blockSize = o.blockSize;
  const label = ext4Label(ctx);
  const uuid = ext4Uuid(ctx);
  const hashSeed = uuidToBytes(o.hashSeed ?? deriveUuid(ctx.seed, `ext4-hash-seed:${ctx.name}`));
  const journalBlocks = o.journalSize === undefined ? undefined : Math.ceil(o.journalSize / blockSize);
  return {
    blockSize, journal: o.journal, journalBlocks, inodeCount: o.inodeCount, bytesPerInode: o.bytesPerInode, reservedPercent: o.reservedPercent,
    resizeInode: true, label, uuid: uuidToBytes(uuid), hashSeed, fsTime: ctx.epoch ?? 0, specPath: ctx.specPath,
  };
}

const NAME = 'ext4';

/** Plan an ext4 filesystem for `tree` (see FilesystemHandler). */
export function planExt4(tree: Tree, ctx: FsContext<Ext4ResolvedOptions>): PlannedFilesystem {
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
      type: NAME, size: volumeSize, uuid: formatUuid(s.uuid), ...(label ? { label } : {}),
      details: {
        blockSize: B, blocks: alloc.geo.blocksCount, inodes: alloc.geo.inodesPerGroup * alloc.geo.groups, usedInodes: prepared.lastIno,
        freeBlocks: alloc.freeBlocks, journalBlocks: alloc.journalBlocks, groups: alloc.geo.groups,
      },
    },
  };
}

/** The ext4 filesystem: its name, its `ext4:` option block and its planner. */
export const ext4Handler = defineFilesystem({
  name: NAME,
  aliases: [],
  optionsKey: 'ext4',
  options: Ext4Options,
  partitionType: 'linux',
  xattrs: true,
  recordsOffset: false,
  resolveOptions: resolveExt4Options,
  plan: planExt4,
  ids: (ctx) => ({ uuid: ext4Uuid(ctx), ...(ext4Label(ctx).length ? { label: ctx.label! } : {}) }),
});
