import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { DiskwrightError, show } from '../errors.js';
import { filesystemHandler } from '../fs/registry.js';
import { PARTITION_TYPES, GPT_ATTRIBUTE_BITS } from '../table/types.js';
import { deriveBytes, deriveUuid, isUuid, DEFAULT_SEED } from '../util/ids.js';
import { parseSize } from '../util/size.js';
import { checkArray, checkBool, checkEnum, checkInt, checkObject, checkString, join } from './check.js';
import { expandPreset, presetError, PRESET_KEYS } from './presets.js';
import type { ContentEntry, ImageSpec, PartitionFlag, ResolvedPartition, ResolvedSpec } from './types.js';

const TOP_KEYS = ['name', 'seed', 'sourceDateEpoch', 'format', 'compression', 'compressionLevel', 'clusterSize', 'size', 'table', 'sectorSize', 'alignment', 'diskUuid', 'mbrId', 'gptLocation', 'gptEntries', 'partitions', 'raw', 'baseDir', ...PRESET_KEYS] as const;
const PART_KEYS = ['name', 'type', 'size', 'offset', 'flags', 'uuid', 'filesystem', 'label', 'fsUuid', 'extraSpace', 'contents', 'image', 'ext4', 'fat'] as const;
const CONTENT_KEYS = ['target', 'source', 'text', 'directory', 'symlink', 'device', 'major', 'minor', 'tar', 'closureInfo', 'mode', 'user', 'group', 'recursiveOwner', 'owners', 'xattrs', 'mtime', 'replace', 'attributes'] as const;
const CONTENT_KINDS = ['source', 'text', 'directory', 'symlink', 'device', 'tar', 'closureInfo'] as const;
const FORMATS = ['raw', 'qcow2', 'qcow2-compressed', 'vhd', 'vpc', 'vhd-fixed', 'vdi', 'vmdk'] as const;
const COMPRESSIONS = ['none', 'zstd', 'xz', 'gzip', 'bzip2'] as const;
const TABLES = ['gpt', 'mbr', 'hybrid', 'none'] as const;
const FILESYSTEMS = ['ext4', 'vfat', 'fat', 'squashfs', 'iso9660', 'none', 'image'] as const;
const FLAGS: readonly PartitionFlag[] = ['boot', 'legacy-bios-bootable', 'read-only', 'no-auto', 'grow-fs', 'required', 'hidden'];
const EXT4_KEYS = ['blockSize', 'inodeSize', 'journal', 'journalSize', 'inodeCount', 'bytesPerInode', 'reservedPercent', 'hashSeed'] as const;
const FAT_KEYS = ['fatSize', 'clusterSize', 'sectorSize', 'reservedSectors', 'volumeId'] as const;
const XATTR_NS = ['user.', 'trusted.', 'security.', 'system.posix_acl_access', 'system.posix_acl_default'];

export interface ResolveOptions {
  /** Directory relative paths are resolved against (the spec file's directory). */
  baseDir: string;
  /** Environment for SOURCE_DATE_EPOCH (default process.env). */
  env?: Record<string, string | undefined>;
  /** Check that referenced files exist (default true). */
  checkFiles?: boolean;
}

/**
 * Validate a spec object (from YAML, JSON or TypeScript) and resolve it: sizes to bytes, presets
 * expanded, types to GUIDs/bytes, ids derived from the seed. Every error names the spec path and
 * the value; nothing is written before this succeeds.
 *
 * @example
 * const spec = resolveSpec({ table: 'gpt', partitions: [{ name: 'data', size: '16MiB' }] }, { baseDir: process.cwd() });
 */
export function resolveSpec(input: unknown, opts: ResolveOptions): ResolvedSpec {
  try {
    return resolveChecked(input, opts);
  } catch (e) {
    // With `layout:`, errors name the user's keys (root.contents[0].source, bootSize), not the expansion's.
    throw presetError(input, e);
  }
}

function resolveChecked(input: unknown, opts: ResolveOptions): ResolvedSpec {
  const top = checkObject(input, '', TOP_KEYS);
  let spec = top as ImageSpec;
  if (spec.layout !== undefined) spec = expandPreset(spec);
  const env = opts.env ?? process.env;

  const name = spec.name === undefined ? 'image' : checkString(spec.name, 'name', { nonEmpty: true });
  if (/[/\\\0]/.test(name)) throw new DiskwrightError('E_NAME', `name ${show(name)} must not contain path separators`, { path: 'name', value: name });
  const seed = spec.seed !== undefined ? checkString(spec.seed, 'seed', { nonEmpty: true }) : spec.name ?? DEFAULT_SEED;

  let epoch: number | undefined;
  if (spec.sourceDateEpoch !== undefined) epoch = checkInt(spec.sourceDateEpoch, 'sourceDateEpoch', 0, 2 ** 40);
  else if (env.SOURCE_DATE_EPOCH !== undefined && env.SOURCE_DATE_EPOCH !== '') {
    const n = Number(env.SOURCE_DATE_EPOCH);
    if (!Number.isInteger(n) || n < 0) throw new DiskwrightError('E_RANGE', `SOURCE_DATE_EPOCH ${show(env.SOURCE_DATE_EPOCH)} is not a non-negative integer`, { path: 'sourceDateEpoch', value: env.SOURCE_DATE_EPOCH });
    epoch = n;
  }

  let format = spec.format === undefined ? 'raw' : checkEnum(spec.format, 'format', FORMATS);
  if (format === 'vpc') format = 'vhd';
  const compression = spec.compression === undefined ? 'none' : checkEnum(spec.compression, 'compression', COMPRESSIONS);
  const compressionLevel = spec.compressionLevel === undefined ? undefined : checkInt(spec.compressionLevel, 'compressionLevel', 0, 22);
  const clusterSize = spec.clusterSize === undefined ? undefined : parseSize(spec.clusterSize, 'clusterSize');
  if (clusterSize !== undefined && (clusterSize < 512 || clusterSize > 2 ** 21 || (clusterSize & (clusterSize - 1)) !== 0)) {
    throw new DiskwrightError('E_CLUSTER_SIZE', `qcow2 cluster size ${clusterSize} must be a power of two from 512 bytes to 2 MiB`, { path: 'clusterSize', value: spec.clusterSize });
  }
  const size = spec.size === undefined || spec.size === 'auto' ? 'auto' as const : parseSize(spec.size, 'size');
  const table = spec.table === undefined ? 'gpt' : checkEnum(spec.table, 'table', TABLES);
  const sectorSize = spec.sectorSize === undefined ? 512 : (checkEnum(String(spec.sectorSize), 'sectorSize', ['512', '4096']) === '512' ? 512 : 4096);
  const alignment = spec.alignment === undefined ? 1 << 20 : parseSize(spec.alignment, 'alignment');
  if (alignment === 0 || alignment % sectorSize !== 0) throw new DiskwrightError('E_ALIGNMENT', `alignment ${alignment} must be a positive multiple of the sector size ${sectorSize}`, { path: 'alignment', value: spec.alignment });
  if (typeof size === 'number' && size % sectorSize !== 0) throw new DiskwrightError('E_SIZE', `disk size ${size} is not a multiple of the sector size ${sectorSize}`, { path: 'size', value: spec.size });

  const diskUuid = spec.diskUuid === undefined ? deriveUuid(seed, 'disk') : checkUuid(spec.diskUuid, 'diskUuid');
  let mbrId: number;
  if (spec.mbrId === undefined) mbrId = Buffer.from(deriveBytes(seed, 'mbr-id', 4)).readUInt32LE(0);
  else if (typeof spec.mbrId === 'number') mbrId = checkInt(spec.mbrId, 'mbrId', 0, 0xffffffff);
  else {
    const s = checkString(spec.mbrId, 'mbrId');
    if (!/^(0x)?[0-9a-fA-F]{1,8}$/.test(s)) throw new DiskwrightError('E_MBR_ID', `mbrId ${show(s)} must be a 32-bit hex number such as 0x1234abcd`, { path: 'mbrId', value: s });
    mbrId = parseInt(s.replace(/^0x/, ''), 16);
  }
  const gptLocation = spec.gptLocation === undefined ? undefined : parseSize(spec.gptLocation, 'gptLocation');
  if (gptLocation !== undefined && gptLocation % sectorSize !== 0) throw new DiskwrightError('E_ALIGNMENT', `gptLocation ${gptLocation} is not a multiple of the sector size ${sectorSize}`, { path: 'gptLocation', value: spec.gptLocation });
  const gptEntries = spec.gptEntries === undefined ? 128 : checkInt(spec.gptEntries, 'gptEntries', 4, 1024);
  const baseDir = spec.baseDir !== undefined ? resolve(opts.baseDir, checkString(spec.baseDir, 'baseDir')) : opts.baseDir;
  const checkFiles = opts.checkFiles !== false;

  const partsIn = spec.partitions === undefined ? [] : checkArray(spec.partitions, 'partitions');
  const partitions = partsIn.map((p, i) => resolvePartition(p, `partitions[${i}]`, i, { seed, table, sectorSize, baseDir, checkFiles, preset: spec.layout !== undefined }));
  const names = new Map<string, string>();
  for (const p of partitions) {
    const prev = names.get(p.name);
    if (prev) throw new DiskwrightError('E_DUPLICATE_NAME', `partition name ${show(p.name)} is also used by ${prev}; names must be unique`, { path: `${p.path}.name`, value: p.name });
    names.set(p.name, p.path);
  }
  if (table === 'none' && partitions.length !== 1) {
    throw new DiskwrightError('E_TABLE_NONE', `table: none takes exactly one partition (its filesystem is the whole image), got ${partitions.length}`, { path: 'partitions', value: partitions.length });
  }
  if (table === 'mbr' && partitions.length > 4) {
    throw new DiskwrightError('E_MBR_PRIMARY', `an MBR holds at most 4 primary partitions, got ${partitions.length}; use table: gpt`, { path: 'partitions[4]', value: partitions.length });
  }

  const rawIn = spec.raw === undefined ? [] : checkArray(spec.raw, 'raw');
  const raw = rawIn.map((r, i) => {
    const path = `raw[${i}]`;
    const o = checkObject(r, path, ['source', 'offset', 'inPartition']);
    if (o.source === undefined) throw new DiskwrightError('E_MISSING', 'a raw blob needs a source file', { path: `${path}.source` });
    const source = resolvePath(checkString(o.source, `${path}.source`), baseDir);
    if (o.offset === undefined) throw new DiskwrightError('E_MISSING', 'a raw blob needs an offset', { path: `${path}.offset` });
    const offset = parseSize(o.offset, `${path}.offset`);
    let size = 0;
    if (checkFiles) {
      if (!existsSync(source) || !statSync(source).isFile()) throw new DiskwrightError('E_SOURCE', `raw blob source ${show(o.source)} is not a file (looked at ${source})`, { path: `${path}.source`, value: o.source });
      size = statSync(source).size;
    }
    const inPartition = o.inPartition === undefined ? false : checkBool(o.inPartition, `${path}.inPartition`);
    return { path, source, offset, size, inPartition };
  });

  return {
    name, seed, sourceDateEpoch: epoch, format, compression, compressionLevel, clusterSize, size, table, sectorSize, alignment,
    diskUuid, mbrId, gptLocation, gptEntries, partitions, raw, baseDir, layout: spec.layout,
  };
}

function checkUuid(value: unknown, path: string): string {
  const s = checkString(value, path);
  if (!isUuid(s)) throw new DiskwrightError('E_UUID', `${show(s)} is not a UUID (8-4-4-4-12 hex digits)`, { path, value: s });
  return s.toLowerCase();
}

function resolvePath(p: string, baseDir: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

interface PartCtx { seed: string; table: string; sectorSize: number; baseDir: string; checkFiles: boolean; preset: boolean }

function resolvePartition(value: unknown, path: string, index: number, ctx: PartCtx): ResolvedPartition {
  const p = checkObject(value, path, ctx.preset ? [...PART_KEYS, 'parted'] : PART_KEYS);
  const parted = p.parted as ResolvedPartition['parted'];
  const name = p.name === undefined ? `part${index + 1}` : checkString(p.name, join(path, 'name'), { nonEmpty: true, max: 36 });
  let filesystem = p.filesystem === undefined
    ? (p.image !== undefined ? 'image' : 'none')
    : checkEnum(p.filesystem, join(path, 'filesystem'), FILESYSTEMS);
  if (filesystem === 'fat') filesystem = 'vfat';
  const fs = filesystem as ResolvedPartition['filesystem'];

  const contents = p.contents === undefined ? [] : checkArray(p.contents, join(path, 'contents')).map((c, i) => checkContent(c, `${path}.contents[${i}]`, ctx));
  if (contents.length && !['ext4', 'vfat', 'squashfs', 'iso9660'].includes(fs)) {
    throw new DiskwrightError('E_CONTENTS_NO_FS', `contents need a filesystem (ext4, vfat, ...); this partition's filesystem is ${fs}`, { path: join(path, 'filesystem'), value: p.filesystem });
  }
  if (['ext4', 'vfat', 'squashfs', 'iso9660'].includes(fs) && !filesystemHandler(fs)) {
    throw new DiskwrightError('E_FS_UNAVAILABLE', `filesystem ${fs} is not available in this build of diskwright`, { path: join(path, 'filesystem'), value: fs });
  }

  let image: string | undefined;
  if (p.image !== undefined) {
    if (fs !== 'image') throw new DiskwrightError('E_IMAGE', `image is only used with filesystem: image (this partition has ${fs})`, { path: join(path, 'image'), value: p.image });
    image = resolvePath(checkString(p.image, join(path, 'image')), ctx.baseDir);
    if (ctx.checkFiles && (!existsSync(image) || !statSync(image).isFile())) throw new DiskwrightError('E_SOURCE', `image ${show(p.image)} is not a file (looked at ${image})`, { path: join(path, 'image'), value: p.image });
  } else if (fs === 'image') {
    throw new DiskwrightError('E_MISSING', 'filesystem: image needs an image file', { path: join(path, 'image') });
  }

  let size: number | 'auto' | 'fill';
  if (parted) {
    size = parted.end.startsWith('-') ? 'fill' : 'auto';
  } else if (p.size === 'fill') {
    size = 'fill';
  } else if (p.size === undefined || p.size === 'auto') {
    if (fs === 'none') throw new DiskwrightError('E_SIZE', 'a partition without a filesystem needs a size', { path: join(path, 'size'), value: p.size });
    size = 'auto';
  } else {
    size = parseSize(p.size, join(path, 'size'));
    if (size === 0) throw new DiskwrightError('E_SIZE', 'partition size must be greater than 0', { path: join(path, 'size'), value: p.size });
    if (size % ctx.sectorSize !== 0) throw new DiskwrightError('E_SIZE', `size ${size} is not a multiple of the sector size ${ctx.sectorSize}`, { path: join(path, 'size'), value: p.size });
  }
  let offset: number | undefined;
  if (p.offset !== undefined) {
    offset = parseSize(p.offset, join(path, 'offset'));
    if (offset % ctx.sectorSize !== 0) throw new DiskwrightError('E_OFFSET', `offset ${offset} is not a multiple of the sector size ${ctx.sectorSize}`, { path: join(path, 'offset'), value: p.offset });
  }
  const flags = p.flags === undefined ? [] : checkArray(p.flags, join(path, 'flags')).map((f, i) => checkEnum(f, `${path}.flags[${i}]`, FLAGS));
  if (ctx.table === 'mbr') {
    const gptOnly = flags.find((f) => f !== 'boot');
    if (gptOnly) throw new DiskwrightError('E_FLAG_TABLE', `flag ${show(gptOnly)} is a GPT attribute; an MBR partition only has the boot flag`, { path: `${path}.flags[${flags.indexOf(gptOnly)}]`, value: gptOnly });
  }
  for (const f of flags) if (f !== 'boot' && GPT_ATTRIBUTE_BITS[f] === undefined) throw new DiskwrightError('E_ENUM', `unknown flag ${f}`, { path: join(path, 'flags'), value: f });

  const typeStr = p.type === undefined ? (fs === 'vfat' ? 'esp' : 'linux') : p.type;
  const { typeGuid, mbrType } = resolveType(typeStr, join(path, 'type'), ctx.table);
  const uuid = p.uuid === undefined ? deriveUuid(ctx.seed, `partition:${name}`) : checkUuid(p.uuid, join(path, 'uuid'));
  const label = p.label === undefined ? undefined : checkString(p.label, join(path, 'label'));
  const fsUuid = p.fsUuid === undefined ? undefined : checkString(p.fsUuid, join(path, 'fsUuid'), { nonEmpty: true });
  const extraSpace = p.extraSpace === undefined ? 0 : parseSize(p.extraSpace, join(path, 'extraSpace'));
  const ext4 = p.ext4 === undefined ? {} : checkObject(p.ext4, join(path, 'ext4'), EXT4_KEYS);
  const fat = p.fat === undefined ? {} : checkObject(p.fat, join(path, 'fat'), FAT_KEYS);
  if (ext4.blockSize !== undefined) checkEnum(String(ext4.blockSize), join(path, 'ext4.blockSize'), ['1024', '2048', '4096']);
  if (ext4.inodeSize !== undefined) checkEnum(String(ext4.inodeSize), join(path, 'ext4.inodeSize'), ['128', '256', '512', '1024']);
  if (ext4.journal !== undefined) checkBool(ext4.journal, join(path, 'ext4.journal'));
  if (ext4.journalSize !== undefined) parseSize(ext4.journalSize, join(path, 'ext4.journalSize'));
  if (ext4.inodeCount !== undefined) checkInt(ext4.inodeCount, join(path, 'ext4.inodeCount'), 16, 2 ** 32 - 1);
  if (ext4.bytesPerInode !== undefined) checkInt(ext4.bytesPerInode, join(path, 'ext4.bytesPerInode'), 1024, 2 ** 26);
  if (ext4.reservedPercent !== undefined && (typeof ext4.reservedPercent !== 'number' || ext4.reservedPercent < 0 || ext4.reservedPercent > 50)) {
    throw new DiskwrightError('E_RANGE', `reservedPercent must be a number from 0 to 50, got ${show(ext4.reservedPercent)}`, { path: join(path, 'ext4.reservedPercent'), value: ext4.reservedPercent });
  }
  if (ext4.hashSeed !== undefined) checkUuid(ext4.hashSeed, join(path, 'ext4.hashSeed'));
  if (fat.fatSize !== undefined) checkEnum(String(fat.fatSize), join(path, 'fat.fatSize'), ['12', '16', '32']);
  if (fat.clusterSize !== undefined) parseSize(fat.clusterSize, join(path, 'fat.clusterSize'));
  if (fat.sectorSize !== undefined) checkEnum(String(fat.sectorSize), join(path, 'fat.sectorSize'), ['512', '1024', '2048', '4096']);
  if (fat.reservedSectors !== undefined) checkInt(fat.reservedSectors, join(path, 'fat.reservedSectors'), 1, 65535);

  const out: ResolvedPartition = {
    index, path, name, size, flags, uuid, filesystem: fs, extraSpace, contents,
    ext4: ext4 as ResolvedPartition['ext4'], fat: fat as ResolvedPartition['fat'],
  };
  if (typeGuid !== undefined) out.typeGuid = typeGuid;
  if (mbrType !== undefined) out.mbrType = mbrType;
  if (offset !== undefined) out.offset = offset;
  if (parted) out.parted = parted;
  if (label !== undefined) out.label = label;
  if (fsUuid !== undefined) out.fsUuid = fsUuid;
  if (image !== undefined) out.image = image;
  return out;
}

/** A type alias, a GPT GUID or an MBR byte ("0x83", 131), checked against what the table can store. */
export function resolveType(value: unknown, path: string, table: string): { typeGuid?: string; mbrType?: number } {
  const needGpt = table === 'gpt' || table === 'hybrid';
  const needMbr = table === 'mbr' || table === 'hybrid';
  let gpt: string | undefined;
  let mbr: number | undefined;
  if (typeof value === 'number') {
    mbr = checkInt(value, path, 1, 255);
  } else {
    const s = checkString(value, path, { nonEmpty: true });
    const alias = PARTITION_TYPES[s.toLowerCase()];
    if (alias) { gpt = alias.gpt; mbr = alias.mbr; }
    else if (isUuid(s)) gpt = s.toUpperCase();
    else if (/^0x[0-9a-fA-F]{1,2}$/.test(s)) mbr = parseInt(s, 16);
    else throw new DiskwrightError('E_PART_TYPE', `unknown partition type ${show(s)}: use an alias (${Object.keys(PARTITION_TYPES).join(', ')}), a GPT type GUID or an MBR byte like 0x83`, { path, value: s });
    if (mbr === 0) throw new DiskwrightError('E_PART_TYPE', 'MBR type 0x00 marks an unused entry', { path, value: s });
  }
  if (needGpt && gpt === undefined) throw new DiskwrightError('E_PART_TYPE', `type ${show(value)} has no GPT type GUID; give an alias or a GUID for a ${table} table`, { path, value });
  if (needMbr && mbr === undefined && table === 'mbr') throw new DiskwrightError('E_PART_TYPE', `type ${show(value)} has no MBR type byte (it exists only in GPT); give an MBR byte like 0x83`, { path, value });
  const out: { typeGuid?: string; mbrType?: number } = {};
  if (needGpt && gpt) out.typeGuid = gpt;
  if (needMbr && mbr !== undefined) out.mbrType = mbr;
  return out;
}

function checkContent(value: unknown, path: string, ctx: PartCtx): ContentEntry {
  const c = checkObject(value, path, CONTENT_KEYS) as ContentEntry & Record<string, unknown>;
  const kinds = CONTENT_KINDS.filter((k) => c[k] !== undefined && !(k === 'directory' && c[k] === false));
  if (kinds.length > 1) throw new DiskwrightError('E_CONTENT_KIND', `an entry has one kind of content; this one has ${kinds.join(' and ')}`, { path: join(path, kinds[1]!), value: kinds });
  if (kinds.length === 0) throw new DiskwrightError('E_CONTENT_KIND', `an entry needs one of ${CONTENT_KINDS.join(', ')}`, { path, value: c });
  const kind = kinds[0]!;
  if (kind !== 'closureInfo' && kind !== 'source' && kind !== 'tar' && c.target === undefined) {
    throw new DiskwrightError('E_MISSING', `a ${kind} entry needs a target path`, { path: join(path, 'target') });
  }
  if (c.target !== undefined) checkString(c.target, join(path, 'target'), { nonEmpty: true });
  for (const k of ['source', 'tar', 'closureInfo'] as const) {
    if (c[k] !== undefined) {
      const s = checkString(c[k], join(path, k), { nonEmpty: true });
      const full = resolvePath(s, ctx.baseDir);
      if (ctx.checkFiles && !existsSync(full)) throw new DiskwrightError('E_SOURCE', `${k} ${show(s)} does not exist (looked at ${full})`, { path: join(path, k), value: s });
    }
  }
  if (c.text !== undefined) checkString(c.text, join(path, 'text'), { allowNul: true });
  if (c.directory !== undefined) checkBool(c.directory, join(path, 'directory'));
  if (c.symlink !== undefined) checkString(c.symlink, join(path, 'symlink'), { nonEmpty: true });
  if (c.device !== undefined) checkEnum(c.device, join(path, 'device'), ['char', 'block', 'fifo', 'socket']);
  if ((c.major !== undefined || c.minor !== undefined) && c.device !== 'char' && c.device !== 'block') {
    throw new DiskwrightError('E_DEVICE', 'major/minor belong to device: char or block entries', { path: join(path, c.major !== undefined ? 'major' : 'minor'), value: c.major ?? c.minor });
  }
  if (c.major !== undefined) checkInt(c.major, join(path, 'major'), 0, 4095);
  if (c.minor !== undefined) checkInt(c.minor, join(path, 'minor'), 0, 1048575);
  if (c.mode !== undefined) {
    if (typeof c.mode !== 'string' || !/^0?[0-7]{1,4}$/.test(c.mode)) {
      throw new DiskwrightError('E_MODE', `mode ${show(c.mode)} must be an octal string such as "0644"${typeof c.mode === 'number' ? ' (YAML reads 0644 as the decimal number 644)' : ''}`, { path: join(path, 'mode'), value: c.mode });
    }
  }
  for (const k of ['user', 'group'] as const) {
    const v = c[k];
    if (v !== undefined && !(typeof v === 'string' && v !== '') && !(typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
      throw new DiskwrightError('E_OWNER', `${k} must be a name or a numeric id, got ${show(v)}`, { path: join(path, k), value: v });
    }
  }
  if (c.recursiveOwner !== undefined) checkBool(c.recursiveOwner, join(path, 'recursiveOwner'));
  if (c.replace !== undefined) checkBool(c.replace, join(path, 'replace'));
  if (c.mtime !== undefined) checkInt(c.mtime, join(path, 'mtime'), -(2 ** 34), 2 ** 34);
  if (c.owners !== undefined) {
    checkEnum(c.owners, join(path, 'owners'), ['root', 'host']);
    if (kind !== 'source' && kind !== 'closureInfo') throw new DiskwrightError('E_OWNER', `owners applies to source and closureInfo entries (a ${kind} entry takes user and group)`, { path: join(path, 'owners'), value: c.owners });
  }
  if (typeof c.xattrs === 'boolean') {
    if (kind !== 'source' && kind !== 'closureInfo') throw new DiskwrightError('E_XATTR', `xattrs: ${c.xattrs} applies to source and closureInfo entries (host xattrs); give a ${kind} entry an object of names and values`, { path: join(path, 'xattrs'), value: c.xattrs });
  } else if (c.xattrs !== undefined) {
    const x = checkObject(c.xattrs, join(path, 'xattrs'), Object.keys(c.xattrs as object));
    for (const [k, v] of Object.entries(x)) {
      if (!XATTR_NS.some((ns) => k.startsWith(ns)) || k.length > 255 || k.includes('\0')) throw new DiskwrightError('E_XATTR', `xattr name ${show(k)} must have no NUL byte and start with user., trusted., security. or be system.posix_acl_access/default`, { path: `${join(path, 'xattrs')}.${k}`, value: k });
      checkString(v, `${join(path, 'xattrs')}.${k}`, { allowNul: true });
    }
  }
  if (c.attributes !== undefined) checkArray(c.attributes, join(path, 'attributes')).forEach((a, i) => checkEnum(a, `${join(path, 'attributes')}[${i}]`, ['readonly', 'hidden', 'system']));
  return c;
}
