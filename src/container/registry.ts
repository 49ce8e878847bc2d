/**
 * The container formats and whole-file compressions, one line each (docs/ARCHITECTURE.md §8): the
 * name users write, its other names, its file suffix, the top-level spec keys the format reads,
 * its virtual size rule, and where its writer is. The spec's `format:` and `compression:` enums,
 * the JSON Schema, `--help` and the output suffixes are derived from these lists; the writers carry
 * none of it. A writer's module loads when an image is written in its format, and the compressors
 * (worker threads) when one compresses: naming them (`--help`, validation) loads neither.
 *
 * @example
 * containerFormat('vpc')?.name; // 'vhd'
 */
import * as v from 'valibot';
import { fileCodecs } from '../codec/registry.js';
import type { FileCodec } from '../codec/types.js';
import { DiskwrightError } from '../errors.js';
import { Size } from '../util/schema.js';
import { parseSize } from '../util/size.js';
import { clusterBits, DEFAULT_CLUSTER_SIZE } from './qcow2/format.js';
import type { ContainerOptions, ContainerWriter } from './types.js';
import { vhdFixedSize } from './vhd.js';

/** A format's options: top-level spec keys, their schemas, and how each resolves into ContainerOptions. */
export interface FormatOptions<P extends v.ObjectEntries = v.ObjectEntries> {
  /** The keys, with their schemas (limits, default, description). */
  readonly entries: P;
  /** Check what a schema cannot say and resolve the values (sizes in bytes, defaults filled). */
  resolve(spec: Readonly<Record<string, unknown>>): Partial<Pick<ContainerOptions, 'clusterSize'>>;
}

export interface ContainerFormat<N extends string = string, P extends v.ObjectEntries = v.ObjectEntries, A extends string = string> {
  readonly name: N;
  /** Other names (qemu-img's: vpc). */
  readonly aliases: readonly A[];
  /** File name suffix of outputs in this format ('.img', '.qcow2'). */
  readonly suffix: string;
  /** The writer; its module loads on the first `write` (its `virtualSize` is the line's). */
  readonly writer: ContainerWriter;
  readonly options?: FormatOptions<P>;
}

const qcow2Entries = {
  clusterSize: v.optional(Size('qcow2 cluster size: a power of two from 512 bytes to 2 MiB.'), DEFAULT_CLUSTER_SIZE),
};

/** qcow2's cluster size: the writer's own limits (clusterBits) and default. */
const qcow2Options: FormatOptions<typeof qcow2Entries> = {
  entries: qcow2Entries,
  resolve(spec) {
    const clusterSize = spec.clusterSize === undefined ? DEFAULT_CLUSTER_SIZE : parseSize(spec.clusterSize, 'clusterSize');
    clusterBits(clusterSize);
    return { clusterSize };
  },
};

interface FormatLine<P extends v.ObjectEntries, A extends string> {
  suffix: string;
  aliases?: readonly A[];
  options?: FormatOptions<P>;
  /** The virtual size the format stores for a disk (ContainerWriter.virtualSize): known before its writer loads. */
  virtualSize?: (size: number) => number;
}

/** One format: `load` imports its writer when the first image is written in it. */
function format<const N extends string, P extends v.ObjectEntries = {}, const A extends string = never>(name: N, load: () => Promise<ContainerWriter>, line: FormatLine<P, A>): ContainerFormat<N, P, A> {
  let loaded: Promise<ContainerWriter> | undefined;
  const writer: ContainerWriter = {
    ...(line.virtualSize ? { virtualSize: line.virtualSize } : {}),
    write: async (disk, sink, opts) => (await (loaded ??= load())).write(disk, sink, opts),
  };
  return { name, aliases: line.aliases ?? [], suffix: line.suffix, writer, ...(line.options ? { options: line.options } : {}) };
}

/** The container formats, by spec name (an explicit array, no side-effect registration). */
export const containerFormats = [
  format('raw', async () => (await import('./raw.js')).rawWriter, { suffix: '.img' }),
  format('qcow2', async () => (await import('./qcow2/writer.js')).qcow2Writer, { suffix: '.qcow2', options: qcow2Options }),
  format('qcow2-compressed', async () => (await import('./qcow2/compressed.js')).qcow2CompressedWriter, { suffix: '.qcow2', options: qcow2Options }),
  format('vhd', async () => (await import('./vhd.js')).vhdWriter, { suffix: '.vhd', aliases: ['vpc'] }),
  format('vhd-fixed', async () => (await import('./vhd.js')).vhdFixedWriter, { suffix: '.vhd', virtualSize: vhdFixedSize }),
  format('vdi', async () => (await import('./vdi.js')).vdiWriter, { suffix: '.vdi' }),
  format('vmdk', async () => (await import('./vmdk.js')).vmdkWriter, { suffix: '.vmdk' }),
] as const;

export type FormatName = (typeof containerFormats)[number]['name'];

/** The writers (as `containerFormats`, without names and options). */
export const containers: readonly ContainerWriter[] = containerFormats.map((f) => f.writer);

/** Other names of formats (qemu-img's names) → the spec name. */
export const formatAliases: Readonly<Record<string, string>> = Object.fromEntries(containerFormats.flatMap((f) => f.aliases.map((a) => [a, f.name])));

/** A format by name or alias (`vpc` → vhd), or undefined. */
export function containerFormat(name: string): ContainerFormat | undefined {
  return (containerFormats as readonly ContainerFormat[]).find((f) => f.name === name || f.aliases.includes(name));
}

export function containerWriter(format: string): ContainerWriter | undefined {
  return containerFormat(format)?.writer;
}

type Formats = (typeof containerFormats)[number];

/** Every name `format:` accepts: names, then aliases. */
export const formatNames = [...containerFormats.map((f) => f.name), ...containerFormats.flatMap((f): readonly string[] => f.aliases)] as readonly (Formats['name'] | Formats['aliases'][number])[];

type OptionProperties<F> = F extends { options?: FormatOptions<infer P> } ? P : never;
type Intersection<U> = (U extends unknown ? (k: U) => void : never) extends (k: infer I) => void ? I : never;

/** The top-level spec keys of every format's options (clusterSize…), for the spec schema. */
export const formatOptionProperties = Object.assign({}, ...containerFormats.map((f) => f.options?.entries ?? {})) as Intersection<OptionProperties<(typeof containerFormats)[number]>>;

/**
 * A whole-file compression as the spec and the CLI name it: its codec's name, suffix and levels
 * (src/codec/registry.ts). The compressor itself (frames on worker threads, `compressor()` in
 * container/compress.ts) loads only when an output is compressed.
 */
export interface CompressionFormat<N extends string = string> extends Pick<FileCodec<N>, 'name' | 'suffix' | 'levels' | 'defaultLevel'> {
  /** Throws a DiskwrightError (E_COMPRESSION_LEVEL) for a level outside `levels`. */
  checkLevel(level: number | undefined): void;
}

function compression<const N extends string>({ name, suffix, levels, defaultLevel }: FileCodec<N>): CompressionFormat<N> {
  return {
    name, suffix, levels, defaultLevel,
    checkLevel(level) {
      if (level !== undefined && (!Number.isInteger(level) || level < levels[0] || level > levels[1])) {
        throw new DiskwrightError('E_COMPRESSION_LEVEL', `${name} level ${level} is out of range: use ${levels[0]}..${levels[1]}`, { path: 'compressionLevel', value: level });
      }
    },
  };
}

/** The whole-file compressions, in the codec table's order. */
export const compressionFormats = fileCodecs.map((c) => compression(c));

/** The whole-file compressions' names: `none`, then every compression. */
export const compressionNames = ['none', ...compressionFormats.map((c) => c.name)] as const;
export type CompressionName = (typeof compressionNames)[number];

/** A compression by name (`none` has none). */
export function compressionFormat(name: string): CompressionFormat | undefined {
  return (compressionFormats as readonly CompressionFormat[]).find((c) => c.name === name);
}
