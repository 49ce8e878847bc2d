/**
 * The container formats and whole-file compressions, one line each (docs/ARCHITECTURE.md §8): the
 * name users write, its other names, the writer (with its file suffix) and the top-level spec keys
 * the format reads. The spec's `format:` and `compression:` enums, the JSON Schema, `--help` and
 * the output suffixes are derived from these lists.
 *
 * @example
 * containerFormat('vpc')?.name; // 'vhd'
 */
import * as v from 'valibot';
import { Size } from '../util/schema.js';
import { parseSize } from '../util/size.js';
import { compressors, type Compressor } from './compress.js';
import { qcow2CompressedWriter } from './qcow2/compressed.js';
import { clusterBits, DEFAULT_CLUSTER_SIZE } from './qcow2/format.js';
import { qcow2Writer } from './qcow2/writer.js';
import { rawWriter } from './raw.js';
import type { ContainerOptions, ContainerWriter } from './types.js';
import { vdiWriter } from './vdi.js';
import { vhdFixedWriter, vhdWriter } from './vhd.js';
import { vmdkWriter } from './vmdk.js';

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

function format<const N extends string, P extends v.ObjectEntries = {}, const A extends string = never>(name: N, writer: ContainerWriter, more: { aliases?: readonly A[]; options?: FormatOptions<P> } = {}): ContainerFormat<N, P, A> {
  if (writer.format !== name) throw new Error(`container registry: ${name} lists the ${writer.format} writer`);
  return { name, aliases: more.aliases ?? [], writer, ...(more.options ? { options: more.options } : {}) };
}

/** The container formats, by spec name (an explicit array, no side-effect registration). */
export const containerFormats = [
  format('raw', rawWriter),
  format('qcow2', qcow2Writer, { options: qcow2Options }),
  format('qcow2-compressed', qcow2CompressedWriter, { options: qcow2Options }),
  format('vhd', vhdWriter, { aliases: ['vpc'] }),
  format('vhd-fixed', vhdFixedWriter),
  format('vdi', vdiWriter),
  format('vmdk', vmdkWriter),
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

/** The whole-file compressions: `none` and every compressor. */
export const compressionNames = ['none', ...compressors.map((c) => c.name)] as const;
export type CompressionName = 'none' | (typeof compressors)[number]['name'];

/** A compressor by name (`none` has none). */
export function compressionFormat(name: string): Compressor | undefined {
  return (compressors as readonly Compressor[]).find((c) => c.name === name);
}
