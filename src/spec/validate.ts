import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { resolveBootloader } from '../boot/index.js';
import { expandEntryRefs, idReferences } from '../boot/refs.js';
import { compressionFormat, containerFormat } from '../container/registry.js';
import { DiskwrightError, show } from '../errors.js';
import { filesystemHandler, filesystems, unavailableFilesystems } from '../fs/registry.js';
import { checkPartitions, tableScheme } from '../table/schemes.js';
import { PARTITION_TYPES } from '../table/types.js';
import { resolveEntries, type ResolvedNestedFs, type ResolveEntriesOptions } from '../tree/entries.js';
import { deriveBytes, deriveUuid, isUuid, DEFAULT_SEED } from '../util/ids.js';
import { defaultOf } from '../util/schema.js';
import { parseSize } from '../util/size.js';
import { expandPreset, presetError, type ExpandedPartition, type ExpandedSpec } from './presets.js';
import { ImageSpecSchema, parseImageSpec } from './schema.js';
import type { CompressionName, ContentEntry, FormatName, NestedFilesystemSpec, ResolvedPartition, ResolvedSpec, TableName } from './types.js';

export interface ResolveOptions {
  /** Directory relative paths are resolved against (the spec file's directory). */
  baseDir: string;
  /** Environment for SOURCE_DATE_EPOCH (default process.env). */
  env?: Record<string, string | undefined>;
  /** Check that referenced files exist (default true). */
  checkFiles?: boolean;
}

const TOP = ImageSpecSchema.entries;

/**
 * Validate a spec object (from YAML, JSON or TypeScript) and resolve it: first the structural
 * check against the schema (parseImageSpec), then what a schema cannot say: presets expanded,
 * sizes to bytes, names to the registries' own, types to GUIDs/bytes, ids derived from the seed,
 * contents resolved, cross-field rules. Every error names the spec path and the value; nothing is
 * written before this succeeds.
 *
 * @example
 * const spec = resolveSpec({ table: 'gpt', partitions: [{ name: 'data', size: '16MiB' }] }, { baseDir: process.cwd() });
 */
export function resolveSpec(input: unknown, opts: ResolveOptions): ResolvedSpec {
  const spec = parseImageSpec(input);
  try {
    return resolveChecked(spec.layout !== undefined ? expandPreset({ ...spec, layout: spec.layout }) : spec as ExpandedSpec, opts);
  } catch (e) {
    // With `layout:`, errors name the user's keys (root.contents[0].source, bootSize), not the expansion's.
    throw presetError(spec, e);
  }
}

function resolveChecked(spec: ExpandedSpec, opts: ResolveOptions): ResolvedSpec {
  const env = opts.env ?? process.env;
  const name = spec.name ?? 'image';
  if (/[/\\\0]/.test(name)) throw new DiskwrightError('E_NAME', `name ${show(name)} must not contain path separators`, { path: 'name', value: name });
  const seed = spec.seed ?? spec.name ?? DEFAULT_SEED;

  let epoch = spec.sourceDateEpoch;
  if (epoch === undefined && env.SOURCE_DATE_EPOCH !== undefined && env.SOURCE_DATE_EPOCH !== '') {
    const n = Number(env.SOURCE_DATE_EPOCH);
    if (!Number.isInteger(n) || n < 0) throw new DiskwrightError('E_RANGE', `SOURCE_DATE_EPOCH ${show(env.SOURCE_DATE_EPOCH)} is not a non-negative integer`, { path: 'sourceDateEpoch', value: env.SOURCE_DATE_EPOCH });
    epoch = n;
  }

  // Names come from the registries, so the schema only lets through names that have a writer.
  const container = containerFormat(spec.format ?? defaultOf<string>(TOP.format))!;
  const format = container.name as FormatName;
  const clusterSize = container.options?.resolve(spec).clusterSize;
  const compression = (spec.compression ?? defaultOf<CompressionName>(TOP.compression)) as CompressionName;
  let compressionLevel: number | undefined;
  if (compression !== 'none') {
    const c = compressionFormat(compression)!;
    compressionLevel = spec.compressionLevel ?? c.defaultLevel;
    c.checkLevel(compressionLevel);
  }

  const table = (spec.table ?? defaultOf<TableName>(TOP.table)) as TableName;
  const sectorSize = spec.sectorSize ?? defaultOf<512 | 4096>(TOP.sectorSize);
  const size = spec.size === undefined || spec.size === 'auto' ? 'auto' as const : parseSize(spec.size, 'size');
  const alignment = spec.alignment === undefined ? tableScheme(table).defaultAlignment : parseSize(spec.alignment, 'alignment');
  if (alignment === 0 || alignment % sectorSize !== 0) throw new DiskwrightError('E_ALIGNMENT', `alignment ${alignment} must be a positive multiple of the sector size ${sectorSize}`, { path: 'alignment', value: spec.alignment });
  if (typeof size === 'number' && size % sectorSize !== 0) throw new DiskwrightError('E_SIZE', `disk size ${size} is not a multiple of the sector size ${sectorSize}`, { path: 'size', value: spec.size });

  const diskUuid = spec.diskUuid === undefined ? deriveUuid(seed, 'disk') : checkUuid(spec.diskUuid, 'diskUuid');
  const mbrId = spec.mbrId === undefined ? Buffer.from(deriveBytes(seed, 'mbr-id', 4)).readUInt32LE(0)
    : typeof spec.mbrId === 'number' ? spec.mbrId : parseInt(spec.mbrId.replace(/^0x/, ''), 16);
  const gptLocation = spec.gptLocation === undefined ? undefined : parseSize(spec.gptLocation, 'gptLocation');
  if (gptLocation !== undefined && gptLocation % sectorSize !== 0) throw new DiskwrightError('E_ALIGNMENT', `gptLocation ${gptLocation} is not a multiple of the sector size ${sectorSize}`, { path: 'gptLocation', value: spec.gptLocation });
  const gptEntries = spec.gptEntries ?? defaultOf<number>(TOP.gptEntries);
  const baseDir = spec.baseDir !== undefined ? resolve(opts.baseDir, spec.baseDir) : opts.baseDir;
  const checkFiles = opts.checkFiles !== false;

  const ctx: PartCtx = { seed, table, sectorSize, baseDir, checkFiles };
  const partitions = (spec.partitions ?? []).map((p, i) => resolvePartition(p, `partitions[${i}]`, i, ctx));
  const names = new Map<string, string>();
  for (const p of partitions) {
    const prev = names.get(p.name);
    if (prev) throw new DiskwrightError('E_DUPLICATE_NAME', `partition name ${show(p.name)} is also used by ${prev}; names must be unique`, { path: `${p.path}.name`, value: p.name });
    names.set(p.name, p.path);
  }
  // The table's limits (count, name length, flags it can store) are its scheme's (src/table/schemes.ts).
  checkPartitions(tableScheme(table), partitions, { gptEntries });
  // `${partuuid:NAME}`, `${fsuuid:NAME}`, `${label:NAME}` in text contents: the ids are known now.
  const expandRefs = idReferences({ table, mbrId, seed, partitions });
  for (const p of partitions) expandEntryRefs(p.contents, expandRefs);

  const raw = (spec.raw ?? []).map((r, i) => {
    const path = `raw[${i}]`;
    const source = resolvePath(r.source, baseDir);
    const offset = parseSize(r.offset, `${path}.offset`);
    let size = 0;
    if (checkFiles) {
      if (!existsSync(source) || !statSync(source).isFile()) throw new DiskwrightError('E_SOURCE', `raw blob source ${show(r.source)} is not a file (looked at ${source})`, { path: `${path}.source`, value: r.source });
      size = statSync(source).size;
    }
    return { path, source, offset, size, inPartition: r.inPartition ?? false };
  });

  const out: ResolvedSpec = {
    name, seed, sourceDateEpoch: epoch, format, compression, compressionLevel, clusterSize, size, table, sectorSize, alignment,
    diskUuid, mbrId, gptLocation, gptEntries, partitions, raw, baseDir, layout: spec.layout,
  };
  // Boot loaders: their files, partitions and embedding, checked now (src/boot).
  if (spec.bootloader !== undefined) out.bootloader = resolveBootloader(spec.bootloader, { table, sectorSize, partitions, raw, baseDir, checkFiles, expand: expandRefs });
  return out;
}

function checkUuid(s: string, path: string): string {
  if (!isUuid(s)) throw new DiskwrightError('E_UUID', `${show(s)} is not a UUID (8-4-4-4-12 hex digits)`, { path, value: s });
  return s.toLowerCase();
}

function resolvePath(p: string, baseDir: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

interface PartCtx { seed: string; table: TableName; sectorSize: number; baseDir: string; checkFiles: boolean }

function resolvePartition(p: ExpandedPartition, path: string, index: number, ctx: PartCtx): ResolvedPartition {
  const parted = p.parted;
  const name = p.name ?? `part${index + 1}`;
  const given = p.filesystem ?? (p.image !== undefined ? 'image' : 'none');
  const handler = filesystemHandler(given);
  const unavailable = (unavailableFilesystems as readonly string[]).includes(given);
  const fs = (handler?.name ?? given) as ResolvedPartition['filesystem'];

  const contents = p.contents === undefined ? [] : resolveEntries(p.contents as readonly ContentEntry[], { baseDir: ctx.baseDir, specPath: `${path}.contents`, checkFiles: ctx.checkFiles, resolveFilesystem: resolveNestedFs });
  if (contents.length && !handler && !unavailable) {
    throw new DiskwrightError('E_CONTENTS_NO_FS', `contents need a filesystem (ext4, vfat, ...); this partition's filesystem is ${fs}`, { path: `${path}.filesystem`, value: p.filesystem });
  }
  if (unavailable) throw new DiskwrightError('E_FS_UNAVAILABLE', `filesystem ${given} is not available in this build of diskwright`, { path: `${path}.filesystem`, value: given });

  let image: string | undefined;
  if (p.image !== undefined) {
    if (fs !== 'image') throw new DiskwrightError('E_IMAGE', `image is only used with filesystem: image (this partition has ${fs})`, { path: `${path}.image`, value: p.image });
    image = resolvePath(p.image, ctx.baseDir);
    if (ctx.checkFiles && (!existsSync(image) || !statSync(image).isFile())) throw new DiskwrightError('E_SOURCE', `image ${show(p.image)} is not a file (looked at ${image})`, { path: `${path}.image`, value: p.image });
  } else if (fs === 'image') {
    throw new DiskwrightError('E_MISSING', 'filesystem: image needs an image file', { path: `${path}.image` });
  }

  let size: number | 'auto' | 'fill';
  if (parted) {
    size = parted.end.startsWith('-') ? 'fill' : 'auto';
  } else if (p.size === 'fill') {
    size = 'fill';
  } else if (p.size === undefined || p.size === 'auto') {
    if (fs === 'none') throw new DiskwrightError('E_SIZE', 'a partition without a filesystem needs a size', { path: `${path}.size`, value: p.size });
    size = 'auto';
  } else {
    size = parseSize(p.size, `${path}.size`);
    if (size === 0) throw new DiskwrightError('E_SIZE', 'partition size must be greater than 0', { path: `${path}.size`, value: p.size });
    if (size % ctx.sectorSize !== 0) throw new DiskwrightError('E_SIZE', `size ${size} is not a multiple of the sector size ${ctx.sectorSize}`, { path: `${path}.size`, value: p.size });
  }
  let offset: number | undefined;
  if (p.offset !== undefined) {
    offset = parseSize(p.offset, `${path}.offset`);
    if (offset % ctx.sectorSize !== 0) throw new DiskwrightError('E_OFFSET', `offset ${offset} is not a multiple of the sector size ${ctx.sectorSize}`, { path: `${path}.offset`, value: p.offset });
  }
  const flags = p.flags ?? [];

  const { typeGuid, mbrType } = resolveType(p.type ?? handler?.partitionType ?? 'linux', `${path}.type`, ctx.table);
  const uuid = p.uuid === undefined ? deriveUuid(ctx.seed, `partition:${name}`) : checkUuid(p.uuid, `${path}.uuid`);
  const extraSpace = p.extraSpace === undefined ? 0 : parseSize(p.extraSpace, `${path}.extraSpace`);

  const out: ResolvedPartition = { index, path, name, size, flags: [...flags], uuid, filesystem: fs, extraSpace, contents };
  if (handler) out.options = handler.resolveOptions((p as Record<string, unknown>)[handler.optionsKey], `${path}.${handler.optionsKey}`, { baseDir: ctx.baseDir, checkFiles: ctx.checkFiles });
  if (typeGuid !== undefined) out.typeGuid = typeGuid;
  if (mbrType !== undefined) out.mbrType = mbrType;
  if (offset !== undefined) out.offset = offset;
  if (parted) out.parted = parted;
  if (p.label !== undefined) out.label = p.label;
  if (p.fsUuid !== undefined) out.fsUuid = p.fsUuid;
  if (image !== undefined) out.image = image;
  return out;
}

/**
 * A `{ target, filesystem }` entry's block: its type by the registry, its option block by its
 * handler, its contents like a partition's (nested entries may nest again).
 */
function resolveNestedFs(fs: NestedFilesystemSpec, path: string, opts: ResolveEntriesOptions): ResolvedNestedFs {
  // The schema let through only the names of filesystem writers.
  const handler = filesystemHandler(fs.type)!;
  const given = fs as Record<string, unknown>;
  for (const h of filesystems) {
    if (h !== handler && given[h.optionsKey] !== undefined) {
      throw new DiskwrightError('E_OPTIONS', `${h.optionsKey}: options belong to ${h.name} filesystems; this one is ${handler.name}`, { path: `${path}.${h.optionsKey}` });
    }
  }
  const size = fs.size === undefined || fs.size === 'auto' ? 'auto' as const : parseSize(fs.size, `${path}.size`);
  if (size === 0) throw new DiskwrightError('E_SIZE', 'a nested filesystem\'s size must be greater than 0', { path: `${path}.size`, value: fs.size });
  const out: ResolvedNestedFs = {
    type: handler.name, path, size,
    extraSpace: fs.extraSpace === undefined ? 0 : parseSize(fs.extraSpace, `${path}.extraSpace`),
    options: handler.resolveOptions(given[handler.optionsKey], `${path}.${handler.optionsKey}`, { baseDir: opts.baseDir, ...(opts.checkFiles !== undefined ? { checkFiles: opts.checkFiles } : {}) }),
    contents: resolveEntries(fs.contents ?? [], { ...opts, specPath: `${path}.contents` }),
  };
  if (fs.label !== undefined) out.label = fs.label;
  if (fs.fsUuid !== undefined) out.fsUuid = fs.fsUuid;
  return out;
}

/** A type alias, a GPT GUID or an MBR byte ("0x83", 131), checked against what the table can store. */
export function resolveType(value: string | number, path: string, table: string): { typeGuid?: string; mbrType?: number } {
  const { types } = tableScheme(table);
  const needGpt = types.guid === 'required';
  const needMbr = types.mbrByte !== 'unused';
  let gpt: string | undefined;
  let mbr: number | undefined;
  if (typeof value === 'number') {
    mbr = value;
  } else {
    const alias = PARTITION_TYPES[value.toLowerCase()];
    if (alias) { gpt = alias.gpt; mbr = alias.mbr; }
    else if (isUuid(value)) gpt = value.toUpperCase();
    else if (/^0x[0-9a-fA-F]{1,2}$/.test(value)) mbr = parseInt(value, 16);
    else throw new DiskwrightError('E_PART_TYPE', `unknown partition type ${show(value)}: use an alias (${Object.keys(PARTITION_TYPES).join(', ')}), a GPT type GUID or an MBR byte like 0x83`, { path, value });
    if (mbr === 0) throw new DiskwrightError('E_PART_TYPE', 'MBR type 0x00 marks an unused entry', { path, value });
  }
  if (needGpt && gpt === undefined) throw new DiskwrightError('E_PART_TYPE', `type ${show(value)} has no GPT type GUID; give an alias or a GUID for a ${table} table`, { path, value });
  if (mbr === undefined && types.mbrByte === 'required') throw new DiskwrightError('E_PART_TYPE', `type ${show(value)} has no MBR type byte (it exists only in GPT); give an MBR byte like 0x83`, { path, value });
  const out: { typeGuid?: string; mbrType?: number } = {};
  if (needGpt && gpt) out.typeGuid = gpt;
  if (needMbr && mbr !== undefined) out.mbrType = mbr;
  return out;
}
