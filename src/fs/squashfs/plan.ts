/**
 * The squashfs planner: numbers the inodes, stores the file data (compressed on the workers into a
 * temporary file, data.ts), then builds the metadata in memory and lays the image out as mksquashfs
 * does (squashfs.rst; mksquashfs.c main and write_filesystem_tables):
 *
 *   superblock | compressor options | data and fragment blocks | inode table | directory table |
 *   fragment table | export table | id table | xattr table (pairs, ids, squashfs_xattr_id_table)
 *
 * The kernel checks this order (super.c: each table's index must end where the next table starts,
 * and the xattr id table at bytes_used). The image is `bytes_used` padded to 4 KiB (mksquashfs's
 * default padding), or the fixed size asked for.
 *
 * @example
 * const { volume, info } = await planSquashfs(tree, ctx);
 */
import { compressFrame } from '../../container/codecs.js';
import { CompressionPool } from '../../container/pool.js';
import { DiskwrightError } from '../../errors.js';
import { VolumeBuilder, type Volume } from '../../extent/extent.js';
import type { Tree } from '../../tree/model.js';
import { formatSize } from '../../util/size.js';
import type { FsContext, PlannedFilesystem } from '../types.js';
import { squashfsCompressor } from './compressors.js';
import { writeData, type DataResult } from './data.js';
import { COMPRESSED_BIT, Flags, FragmentEntry, INVALID_BLK, SQUASHFS_MAGIC, SQUASHFS_MAJOR, SQUASHFS_MINOR, SuperBlock, XattrIdTable } from './format.js';
import { IdTable, numberInodes, writeInodes } from './inodes.js';
import { indexedTable, MetadataTable, type PlacedTable } from './metadata.js';
import type { SquashfsResolvedOptions } from './options.js';
import { XattrTable } from './xattr.js';

/** mksquashfs pads the image to a multiple of 4 KiB (-nopad turns it off). */
const PAD = 4096;

/** Settings for tests: the number of compression workers (the output does not depend on it). */
export interface SquashfsPlanSettings {
  workers?: number;
}

/** A built filesystem, before it is given its size. */
interface Built {
  /** Superblock, options and tables, placed. */
  pieces: { at: number; data: Uint8Array }[];
  data: DataResult;
  dataStart: number;
  bytesUsed: number;
  inodes: number;
  fragments: number;
  ids: number;
  xattrIds: number;
}

const concat = (t: PlacedTable): Uint8Array => Buffer.concat(t.parts);

async function build(tree: Tree, ctx: FsContext<SquashfsResolvedOptions>, settings: SquashfsPlanSettings): Promise<Built> {
  const o = ctx.options;
  const comp = squashfsCompressor(o);
  const optionsBlock = comp.options ? new Uint8Array(2 + comp.options.length) : undefined;
  if (optionsBlock && comp.options) {
    // Written uncompressed, as a metadata block (mksquashfs: size | SQUASHFS_COMPRESSED_BIT).
    new DataView(optionsBlock.buffer).setUint16(0, comp.options.length | COMPRESSED_BIT, true);
    optionsBlock.set(comp.options, 2);
  }
  const dataStart = SuperBlock.size + (optionsBlock?.length ?? 0);
  const numbered = numberInodes(tree);
  const pool = new CompressionPool(settings.workers);
  let data: DataResult;
  try {
    data = await writeData(numbered.files, {
      blockSize: o.blockSize, fragments: o.fragments, dedup: o.dedup, compressor: comp, pool, dataStart,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  } finally {
    await pool.close();
  }
  try {
    const compress = (block: Uint8Array): Promise<Uint8Array> => compressFrame(comp.codec, block, comp.level, comp.metaParams);
    const inodes = new MetadataTable(compress);
    const dirs = new MetadataTable(compress);
    const xattrs = new XattrTable(compress, ctx.onWarning);
    const ids = new IdTable(ctx.specPath);
    const { root, refs } = await writeInodes(tree, numbered, {
      inodes, dirs, xattrs, ids, stored: data.files, specPath: ctx.specPath, ...(ctx.onWarning ? { onWarning: ctx.onWarning } : {}),
    });
    ctx.signal?.throwIfAborted();
    const pieces: { at: number; data: Uint8Array }[] = [];
    let pos = dataStart + data.bytes;
    const place = (bytes: Uint8Array): number => {
      const at = pos;
      if (bytes.length > 0) pieces.push({ at, data: bytes });
      pos += bytes.length;
      return at;
    };
    const inodeTableStart = place(Buffer.concat(await inodes.finish()));
    const directoryTableStart = place(Buffer.concat(await dirs.finish()));
    const fragmentEntries = new Uint8Array(FragmentEntry.size * data.fragments.length);
    data.fragments.forEach((f, i) => FragmentEntry.encode({ start_block: f.start, size: f.size, unused: 0 }, fragmentEntries, FragmentEntry.size * i));
    const fragmentTable = await indexedTable(fragmentEntries, pos, compress);
    place(concat(fragmentTable));
    let lookupTableStart = INVALID_BLK;
    if (o.exports) {
      // The export table: each inode's reference, by inode number (squashfs.rst "Export table").
      const entries = new Uint8Array(8 * refs.length);
      const dv = new DataView(entries.buffer);
      refs.forEach((r, i) => dv.setBigUint64(8 * i, r, true));
      const table = await indexedTable(entries, pos, compress);
      place(concat(table));
      lookupTableStart = BigInt(table.indexStart);
    }
    const idEntries = new Uint8Array(4 * ids.ids.length);
    ids.ids.forEach((id, i) => new DataView(idEntries.buffer).setUint32(4 * i, id, true));
    const idTable = await indexedTable(idEntries, pos, compress);
    place(concat(idTable));
    let xattrIdTableStart = INVALID_BLK;
    if (xattrs.count > 0) {
      const xattrTableStart = place(Buffer.concat(await xattrs.pairs.finish()));
      const table = await indexedTable(xattrs.idEntries(), pos, compress);
      const index = table.parts.pop()!;
      place(Buffer.concat(table.parts));
      const header = new Uint8Array(XattrIdTable.size);
      XattrIdTable.encode({ xattr_table_start: xattrTableStart, xattr_ids: xattrs.count, unused: 0 }, header);
      xattrIdTableStart = BigInt(place(header));
      place(index);
    }
    const superblock = new Uint8Array(SuperBlock.size);
    SuperBlock.encode({
      s_magic: SQUASHFS_MAGIC, inodes: numbered.count, mkfs_time: Math.min(Math.max(ctx.epoch ?? 0, 0), 2 ** 32 - 1),
      block_size: o.blockSize, fragments: data.fragments.length, compression: comp.id, block_log: Math.log2(o.blockSize),
      flags: (o.fragments ? 0 : Flags.NO_FRAG) | (o.dedup ? Flags.DUPLICATE : 0) | (o.exports ? Flags.EXPORT : 0) | (optionsBlock ? Flags.COMP_OPT : 0),
      no_ids: ids.ids.length, s_major: SQUASHFS_MAJOR, s_minor: SQUASHFS_MINOR, root_inode: root, bytes_used: pos,
      id_table_start: idTable.indexStart, xattr_id_table_start: xattrIdTableStart, inode_table_start: inodeTableStart,
      directory_table_start: directoryTableStart, fragment_table_start: fragmentTable.indexStart, lookup_table_start: lookupTableStart,
    }, superblock);
    pieces.unshift({ at: 0, data: optionsBlock ? Buffer.concat([superblock, optionsBlock]) : superblock });
    return {
      pieces, data, dataStart, bytesUsed: pos, inodes: numbered.count, fragments: data.fragments.length, ids: ids.ids.length, xattrIds: xattrs.count,
    };
  } catch (e) {
    data.dispose();
    throw e;
  }
}

/**
 * Built filesystems by tree and settings: the pipeline plans an `auto` filesystem once to learn its
 * size and again at the size its partition got; the data is compressed once.
 */
const builds = new WeakMap<Tree, Map<string, Promise<Built>>>();

function builtFor(tree: Tree, ctx: FsContext<SquashfsResolvedOptions>, settings: SquashfsPlanSettings): Promise<Built> {
  const key = JSON.stringify([ctx.options, ctx.epoch ?? null, ctx.specPath]);
  let byKey = builds.get(tree);
  if (!byKey) builds.set(tree, byKey = new Map());
  let p = byKey.get(key);
  if (!p) {
    p = build(tree, ctx, settings).then((b) => {
      // The temporary data file lives until the image is written (or the build fails).
      if (ctx.onDispose) ctx.onDispose(() => { byKey!.delete(key); b.data.dispose(); });
      else process.once('exit', () => b.data.dispose());
      return b;
    });
    p.catch(() => byKey!.delete(key));
    byKey.set(key, p);
  }
  return p;
}

/** Plan a squashfs filesystem for `tree` (see FilesystemHandler). */
export async function planSquashfs(tree: Tree, ctx: FsContext<SquashfsResolvedOptions>, settings: SquashfsPlanSettings = {}): Promise<PlannedFilesystem> {
  if (ctx.label !== undefined) throw new DiskwrightError('E_SQUASHFS_LABEL', 'squashfs has no volume label: remove label (a GPT partition name can say what it holds)', { path: `${ctx.specPath}.label`, value: ctx.label });
  if (ctx.fsUuid !== undefined) throw new DiskwrightError('E_SQUASHFS_UUID', 'squashfs has no filesystem UUID: remove fsUuid', { path: `${ctx.specPath}.fsUuid`, value: ctx.fsUuid });
  const b = await builtFor(tree, ctx, settings);
  let size: number;
  if (ctx.size === 'auto') size = Math.ceil((b.bytesUsed + ctx.extraSpace) / PAD) * PAD;
  else {
    if (ctx.size < b.bytesUsed) {
      throw new DiskwrightError('E_TOO_SMALL', `squashfs filesystem of ${formatSize(ctx.size)} (${ctx.size} bytes) is too small for its contents: it needs at least ${b.bytesUsed} bytes (${formatSize(b.bytesUsed)}); raise size or use size: auto`, { path: `${ctx.specPath}.size`, value: ctx.size });
    }
    size = ctx.size;
  }
  const vb = new VolumeBuilder();
  for (const p of b.pieces) vb.addBytes(p.at, p.data);
  vb.addFile(b.dataStart, b.data.path, 0, b.data.bytes, b.data.bytes);
  const volume: Volume = vb.finish(size, 'squashfs');
  const o = ctx.options;
  return {
    volume,
    info: {
      type: 'squashfs', size,
      details: {
        compression: o.compression, blockSize: o.blockSize, bytesUsed: b.bytesUsed, inodes: b.inodes, fragments: b.fragments,
        ids: b.ids, xattrIds: b.xattrIds, dataBytes: b.data.bytes,
      },
    },
  };
}
