/**
 * The FAT planner: from a Tree to a Volume (docs/ARCHITECTURE.md §2.1). Four passes:
 *   1. names: long and short names of every directory entry, collisions checked (names.ts);
 *   2. geometry: FAT type and cluster size for the fixed size, or the smallest volume that holds
 *      the tree (`auto`, exact: clusters for file data, directory entries for names) plus extraSpace;
 *   3. allocation: clusters in tree order (a directory's own clusters, then its entries in order),
 *      every file one contiguous chain, so the file data forms few large ranges;
 *   4. encoding: boot sector (+ FAT32 FSInfo and backup), the two FATs (only their non-zero prefix),
 *      directories (only their used entries); file data is referenced, never read.
 *
 * Rules decided here: symlinks, device nodes, fifos and sockets cannot be stored in FAT and are an
 * error naming the path (skipping them silently would drop files); hard links become independent
 * files with the same content; files of 4 GiB and more are an error.
 */
import { DiskwrightError } from '../../errors.js';
import { VolumeBuilder, type Volume } from '../../extent/extent.js';
import { addContent } from '../../extent/content.js';
import type { Timestamp, Tree, TreeNode } from '../../tree/model.js';
import { deriveBytes } from '../../util/ids.js';
import { formatSize } from '../../util/size.js';
import type { FsContext, FsIdContext } from '../types.js';
import type { FatResolvedOptions } from './options.js';
import {
  ATTR_ARCHIVE, ATTR_DIRECTORY, ATTR_HIDDEN, ATTR_READ_ONLY, ATTR_SYSTEM,
  encodeBootSector, encodeFsInfo, type FatType,
} from './bootsector.js';
import { encodeDirectory, itemSlots, type DirItem } from './dir.js';
import { chooseGeometry, clusterRange, smallestGeometry, type FatGeometry, type GeometryRequest } from './geometry.js';
import { exactShortName, fatLongName, fatNameKey, nameText, ShortNameGenerator, shortNameBytes, type ExactShort } from './names.js';

/** fatgen103 §6.2: DIR_FileSize is 32 bits. */
const MAX_FILE_SIZE = 0xffffffff;
/** A directory holds at most 65536 entries (cluster-chain offsets are 16-bit in most drivers; fsck.fat enforces it). */
const MAX_DIR_SLOTS = 65536;
const MEDIA_FIXED = 0xf8;

interface FileEntry {
  kind: 'file';
  node: TreeNode;
  path: string;
  short: ExactShort;
  long: string | undefined;
  firstCluster: number;
  clusters: number;
}

interface DirNode {
  kind: 'dir';
  node: TreeNode;
  path: string;
  short: ExactShort | undefined;
  long: string | undefined;
  entries: (FileEntry | DirNode)[];
  /** 32-byte slots used: `.`/`..` or the label, long-name runs and short entries. */
  slots: number;
  firstCluster: number;
  clusters: number;
}

export interface FatPlanInfo {
  geometry: FatGeometry;
  volumeId: number;
  label: string | undefined;
  usedClusters: number;
}

function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** Pass 1: names, kinds and sizes checked; the directory skeleton with slot counts. */
function collectNames(node: TreeNode, path: string, specPath: string, isRoot: boolean, hasLabel: boolean): DirNode {
  const dir: DirNode = { kind: 'dir', node, path, short: undefined, long: undefined, entries: [], slots: 0, firstCluster: 0, clusters: 0 };
  const kids = node.children ?? [];
  const longs: string[] = [];
  const paths: string[] = [];
  const byKey = new Map<string, string>();
  for (const kid of kids) {
    const raw = nameText(kid.name);
    const where = childPath(path, raw);
    paths.push(where);
    if (kid.kind !== 'file' && kid.kind !== 'dir') {
      throw new DiskwrightError('E_FAT_UNSUPPORTED', `${where}: a ${kid.kind} cannot be stored in a FAT filesystem (FAT holds only files and directories); remove it from the contents or put it in a file`, { path: specPath, value: where });
    }
    if (kid.kind === 'file' && kid.size > MAX_FILE_SIZE) {
      throw new DiskwrightError('E_FAT_FILE_TOO_BIG', `${where}: ${kid.size} bytes; a FAT file holds at most 4 GiB - 1 (${MAX_FILE_SIZE} bytes)`, { path: specPath, value: where });
    }
    const long = fatLongName(kid.name, where, specPath);
    const key = fatNameKey(long);
    const prev = byKey.get(key);
    if (prev !== undefined) {
      throw new DiskwrightError('E_FAT_NAME_CLASH', `${childPath(path, prev)} and ${where} are the same name on FAT (names are case-insensitive and lose trailing dots and spaces): rename one`, { path: specPath, value: [childPath(path, prev), where] });
    }
    byKey.set(key, raw);
    longs.push(long);
  }
  // Exact 8.3 names first, so generated `~N` names avoid them whatever the order.
  const exact = longs.map(exactShortName);
  const taken = new Set<string>();
  for (const e of exact) if (e) taken.add(e.key);
  const gen = new ShortNameGenerator(taken);
  let slots = isRoot ? (hasLabel ? 1 : 0) : 2;
  for (let i = 0; i < kids.length; i++) {
    const kid = kids[i]!;
    const long = longs[i]!;
    const ex = exact[i];
    const short = ex ?? gen.generate(long);
    const lfn = ex ? undefined : long;
    slots += itemSlots(lfn);
    const where = paths[i]!;
    if (kid.kind === 'dir') {
      const sub = collectNames(kid, where, specPath, false, false);
      sub.short = short;
      sub.long = lfn;
      dir.entries.push(sub);
    } else {
      dir.entries.push({ kind: 'file', node: kid, path: where, short, long: lfn, firstCluster: 0, clusters: 0 });
    }
  }
  if (slots > MAX_DIR_SLOTS) {
    throw new DiskwrightError('E_FAT_DIR_TOO_BIG', `${path}: the directory needs ${slots} entries (long names take several); FAT directories hold at most ${MAX_DIR_SLOTS}: split it`, { path: specPath, value: path });
  }
  dir.slots = slots;
  return dir;
}

/** Sizes that decide the cluster count: file sizes and subdirectory byte sizes. */
interface Demand {
  fileSizes: number[];
  dirBytes: number[];
  rootSlots: number;
  fileBytes: number;
}

function demandOf(root: DirNode): Demand {
  const d: Demand = { fileSizes: [], dirBytes: [], rootSlots: root.slots, fileBytes: 0 };
  const rec = (dir: DirNode): void => {
    for (const e of dir.entries) {
      if (e.kind === 'file') { if (e.node.size > 0) { d.fileSizes.push(e.node.size); d.fileBytes += e.node.size; } }
      else { d.dirBytes.push(e.slots * 32); rec(e); }
    }
  };
  rec(root);
  return d;
}

function clustersNeeded(d: Demand, clusterSize: number, fatType: FatType, extraSpace: number): number {
  let n = 0;
  for (const s of d.fileSizes) n += Math.ceil(s / clusterSize);
  for (const b of d.dirBytes) n += Math.ceil(b / clusterSize);
  if (fatType === 32) n += Math.max(1, Math.ceil((d.rootSlots * 32) / clusterSize));
  return n + Math.ceil(extraSpace / clusterSize);
}

/** The volume id: fsUuid or fat.volumeId, else derived from the seed (role `fat-volume-id:<name>`, docs/ARCHITECTURE.md §4). */
export function parseVolumeId(ctx: FsIdContext<FatResolvedOptions>): number {
  const explicit = ctx.fsUuid ?? ctx.options.volumeId;
  const where = ctx.fsUuid !== undefined ? `${ctx.specPath}.fsUuid` : `${ctx.specPath}.fat.volumeId`;
  if (explicit === undefined) {
    const b = deriveBytes(ctx.seed, `fat-volume-id:${ctx.name}`, 4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
  if (typeof explicit === 'number') {
    if (Number.isInteger(explicit) && explicit >= 0 && explicit <= 0xffffffff) return explicit;
  } else {
    const m = /^(?:0x)?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})$/.exec(explicit.trim());
    if (m) return parseInt(m[1]! + m[2]!, 16) >>> 0;
  }
  throw new DiskwrightError('E_FAT_VOLUME_ID', `bad FAT volume id ${JSON.stringify(explicit)}: write it as XXXX-XXXX (8 hex digits)`, { path: where, value: explicit });
}

/** The volume id as blkid and fstab write it: `1A2B-3C4D`. */
export function formatVolumeId(id: number): string {
  const h = id.toString(16).toUpperCase().padStart(8, '0');
  return `${h.slice(0, 4)}-${h.slice(4)}`;
}

const LABEL_OK = /^[A-Z0-9 !#$%&'()\-@^_`{}~]*$/;

/** The 11-byte volume label: upper-cased, space padded; characters 8.3 names forbid are an error. */
export function parseLabel(ctx: Pick<FsContext, 'label' | 'specPath'>): { text: string; bytes: Uint8Array } | undefined {
  if (ctx.label === undefined || ctx.label === '') return undefined;
  const text = ctx.label.toUpperCase();
  if (text.length > 11 || !LABEL_OK.test(text) || text.startsWith(' ')) {
    throw new DiskwrightError('E_FAT_LABEL', `bad FAT label ${JSON.stringify(ctx.label)}: at most 11 characters from A-Z 0-9 space and ! # $ % & ' ( ) - @ ^ _ \` { } ~, not starting with a space`, { path: `${ctx.specPath}.label`, value: ctx.label });
  }
  return { text, bytes: shortNameBytes(text.slice(0, 8), text.slice(8)) };
}

function geometryRequest(ctx: FsContext<FatResolvedOptions>, rootSlots: number): Omit<GeometryRequest, 'totalSectors'> {
  // Types and ranges were checked by resolveFatOptions; what depends on the disk's sector size is checked here.
  const o = ctx.options;
  const ss = o.sectorSize ?? ctx.sectorSize;
  const clusterSize = o.clusterSize;
  if (clusterSize !== undefined) {
    const spc = clusterSize / ss;
    if (!Number.isInteger(spc) || spc < 1 || spc > 128 || (spc & (spc - 1)) !== 0 || clusterSize > 65536) {
      throw new DiskwrightError('E_FAT_CLUSTER', `bad FAT cluster size ${clusterSize}: a power of two from the sector size (${ss}) to 64 KiB`, { path: `${ctx.specPath}.fat.clusterSize`, value: clusterSize });
    }
  }
  return { bytesPerSector: ss, fatType: o.fatSize, clusterSize, reservedSectors: o.reservedSectors, rootEntriesNeeded: rootSlots };
}

/** Encode a FAT: the non-zero prefix up to the last allocated cluster (the rest is zeros). */
function encodeFat(fatType: FatType, media: number, chains: readonly { first: number; count: number }[], lastCluster: number): Uint8Array {
  const entries = Math.max(2, lastCluster + 1);
  const buf = new Uint8Array(Math.ceil((entries * fatType) / 8));
  const dv = new DataView(buf.buffer);
  const eoc = fatType === 12 ? 0xfff : fatType === 16 ? 0xffff : 0x0fffffff;
  const set12 = (n: number, v: number): void => {
    const o = (n * 3) >> 1;
    if (n & 1) { buf[o] = (buf[o]! & 0x0f) | ((v & 0x0f) << 4); buf[o + 1] = (v >> 4) & 0xff; }
    else { buf[o] = v & 0xff; buf[o + 1] = (buf[o + 1]! & 0xf0) | ((v >> 8) & 0x0f); }
  };
  const set = (n: number, v: number): void => {
    if (fatType === 32) dv.setUint32(n * 4, v, true);
    else if (fatType === 16) dv.setUint16(n * 2, v, true);
    else set12(n, v);
  };
  // fatgen103 §4.2: FAT[0] holds the media byte in its low 8 bits, all other bits set; FAT[1] is EOC
  // with the "clean shutdown" and "no hard error" bits set.
  set(0, (eoc & ~0xff) | media);
  set(1, eoc);
  // Every chain is contiguous: entry n points to n + 1, its last entry is EOC. One loop per entry
  // width (a FAT32 volume of small clusters has hundreds of thousands of entries).
  for (const c of chains) {
    const last = c.first + c.count - 1;
    if (fatType === 32) for (let n = c.first; n < last; n++) dv.setUint32(n * 4, n + 1, true);
    else if (fatType === 16) for (let n = c.first; n < last; n++) dv.setUint16(n * 2, n + 1, true);
    else for (let n = c.first; n < last; n++) set12(n, n + 1);
    set(last, eoc);
  }
  return buf;
}

function attrsOf(node: TreeNode): number {
  let a = node.kind === 'dir' ? ATTR_DIRECTORY : ATTR_ARCHIVE;
  if (node.fat?.readonly) a |= ATTR_READ_ONLY;
  if (node.fat?.hidden) a |= ATTR_HIDDEN;
  if (node.fat?.system) a |= ATTR_SYSTEM;
  return a;
}

/**
 * Plan a FAT filesystem for `tree`.
 *
 * @example
 * const { volume } = planFat(tree, { name: 'ESP', specPath: 'partitions[0]', seed, epoch: 1, label: 'ESP',
 *   size: 'auto', extraSpace: 0, sectorSize: 512, ext4: {}, fat: { fatSize: 32 } });
 */
export function planFat(tree: Tree, ctx: FsContext<FatResolvedOptions>): { volume: Volume; fat: FatPlanInfo } {
  const label = parseLabel(ctx);
  const volumeId = parseVolumeId(ctx);
  const root = collectNames(tree.root, '/', ctx.specPath, true, label !== undefined);
  const demand = demandOf(root);
  const req = geometryRequest(ctx, root.slots);
  const need = (g: FatGeometry): number => clustersNeeded(demand, g.clusterSize, g.fatType, ctx.size === 'auto' ? ctx.extraSpace : 0);

  let g: FatGeometry;
  if (ctx.size === 'auto') {
    const r = smallestGeometry(req, need);
    if ('error' in r) {
      throw new DiskwrightError('E_FAT_TOO_BIG', `the contents (${demand.fileBytes} bytes of files) do not fit any FAT${req.fatType ?? ''} volume: ${r.error}`, { path: ctx.specPath });
    }
    g = r.geometry;
  } else {
    if (ctx.size % req.bytesPerSector !== 0) {
      throw new DiskwrightError('E_FAT_SIZE', `FAT volume size ${ctx.size} is not a multiple of the sector size ${req.bytesPerSector}`, { path: `${ctx.specPath}.size`, value: ctx.size });
    }
    g = chooseGeometry({ ...req, totalSectors: ctx.size / req.bytesPerSector });
    const [lo, hi] = clusterRange(g.fatType);
    const needed = need(g);
    if (g.clusters > hi) {
      throw new DiskwrightError('E_FAT_TOO_BIG', `FAT volume of ${ctx.size} bytes (${formatSize(ctx.size)}) has ${g.clusters} clusters of ${g.clusterSize} bytes, too many for FAT${g.fatType} (at most ${hi}): use a larger fat.clusterSize, another fat.fatSize, or a smaller size`, { path: `${ctx.specPath}.size`, value: ctx.size });
    }
    if (g.clusters < needed || g.clusters < lo) {
      const min = smallestGeometry(req, need);
      const bytes = min.geometry.totalSectors * req.bytesPerSector;
      const why = g.clusters < lo ? `${g.clusters} clusters are too few for FAT${g.fatType} (at least ${lo})`
        : `the contents need ${needed} clusters of ${g.clusterSize} bytes, the volume has ${g.clusters}`;
      const fix = 'error' in min ? '' : `; it needs at least ${bytes} bytes (${formatSize(bytes)}): raise the size or use size: auto`;
      throw new DiskwrightError('E_FAT_NO_SPACE', `FAT volume of ${ctx.size} bytes (${formatSize(ctx.size)}) is too small: ${why}${fix}`, { path: `${ctx.specPath}.size`, value: ctx.size });
    }
  }

  if (g.rootEntries > 0xffff) {
    throw new DiskwrightError('E_FAT_DIR_TOO_BIG', `/: the root directory needs ${root.slots} entries; a FAT${g.fatType} root holds at most ${0x10000 - g.bytesPerSector / 32}: use fat.fatSize 32 or fewer names in /`, { path: ctx.specPath, value: '/' });
  }

  // Pass 3: allocate clusters in tree order.
  const cs = g.clusterSize;
  let next = 2;
  const chains: { first: number; count: number }[] = [];
  const alloc = (bytes: number, atLeastOne: boolean): [number, number] => {
    const n = Math.max(atLeastOne ? 1 : 0, Math.ceil(bytes / cs));
    if (n === 0) return [0, 0];
    const first = next;
    next += n;
    chains.push({ first, count: n });
    return [first, n];
  };
  const fixedRoot = g.fatType !== 32;
  if (!fixedRoot) [root.firstCluster, root.clusters] = alloc(root.slots * 32, true);
  const allocDir = (dir: DirNode): void => {
    for (const e of dir.entries) {
      if (e.kind === 'file') [e.firstCluster, e.clusters] = alloc(e.node.size, false);
      else { [e.firstCluster, e.clusters] = alloc(e.slots * 32, true); allocDir(e); }
    }
  };
  allocDir(root);
  const used = next - 2;
  if (used > g.clusters) throw new Error(`FAT planner: allocated ${used} clusters, geometry has ${g.clusters}`);

  // Pass 4: encode.
  const ss = g.bytesPerSector;
  const vb = new VolumeBuilder();
  const clusterOffset = (c: number): number => (g.firstDataSector + (c - 2) * g.sectorsPerCluster) * ss;
  const labelBytes = label?.bytes ?? shortNameBytes('NO NAME', '');
  const boot = encodeBootSector({
    fatType: g.fatType, bytesPerSector: ss, sectorsPerCluster: g.sectorsPerCluster, reservedSectors: g.reservedSectors,
    numFats: g.numFats, rootEntries: g.rootEntries, totalSectors: g.totalSectors, media: MEDIA_FIXED,
    fatSectors: g.fatSectors, volumeId, label: labelBytes, rootCluster: root.firstCluster, fsInfoSector: 1, backupBootSector: 6,
    hiddenSectors: ctx.offset !== undefined && ctx.offset % ss === 0 && ctx.offset / ss <= 0xffffffff ? ctx.offset / ss : 0,
  });
  vb.addBytes(0, boot);
  if (g.fatType === 32) {
    const fsInfo = encodeFsInfo(ss, g.clusters - used, next <= g.clusters + 1 ? next : 0xffffffff);
    vb.addBytes(ss, fsInfo);
    // fatgen103 §3.3: BPB_BkBootSec = 6; the backup FSInfo follows it.
    vb.addBytes(6 * ss, boot);
    vb.addBytes(7 * ss, fsInfo);
  }
  const fat = encodeFat(g.fatType, MEDIA_FIXED, chains, next - 1);
  for (let i = 0; i < g.numFats; i++) vb.addBytes((g.reservedSectors + i * g.fatSectors) * ss, fat);

  const epochTime: Timestamp = { sec: ctx.epoch ?? 0, nsec: 0 };
  const encodeDir = (dir: DirNode, parent: DirNode | undefined): void => {
    const items: DirItem[] = dir.entries.map((e) => ({
      name: e.short!.name, ntRes: e.short!.ntRes, long: e.long, attr: attrsOf(e.node),
      firstCluster: e.firstCluster, size: e.kind === 'file' ? e.node.size : 0, mtime: e.node.mtime,
    }));
    const header = parent
      ? { sub: { self: dir.firstCluster, parent: parent === root ? 0 : parent.firstCluster, mtime: dir.node.mtime } }
      : label ? { label: { name: label.bytes, time: epochTime } } : {};
    const bytes = encodeDirectory(header, items, dir.slots);
    const at = parent || !fixedRoot ? clusterOffset(dir.firstCluster) : (g.reservedSectors + g.numFats * g.fatSectors) * ss;
    vb.addBytes(at, bytes);
    for (const e of dir.entries) {
      if (e.kind === 'dir') encodeDir(e, dir);
      else if (e.clusters > 0) {
        const c = e.node.content;
        if (!c) throw new DiskwrightError('E_FAT_CONTENT', `${e.path}: a file of ${e.node.size} bytes without content`, { path: ctx.specPath, value: e.path });
        const off = clusterOffset(e.firstCluster);
        addContent(vb, off, c, 0, e.node.size);
      }
    }
  };
  encodeDir(root, undefined);
  const volume = vb.finish(g.totalSectors * ss, `FAT filesystem ${ctx.specPath}`);
  return { volume, fat: { geometry: g, volumeId, label: label?.text, usedClusters: used } };
}
