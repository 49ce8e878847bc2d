/**
 * The spec contract (docs/ARCHITECTURE.md §3): one object for YAML, JSON and the TypeScript API.
 * `ImageSpec` is what users write, derived from the schema in `schema.ts` (never written twice);
 * `ResolvedSpec` is what validation produces: presets expanded, sizes in bytes, names resolved to
 * the registries' own, defaults filled, contents resolved (absolute paths, numeric modes), ids derived.
 */
import type { InferInput } from 'valibot';
import type { ResolvedBootloader } from '../boot/resolve.js';
import type { CompressionName, FormatName } from '../container/registry.js';
import type { FilesystemName } from '../fs/registry.js';
import type { TableScheme } from '../table/schemes.js';
import type { PartitionFlag } from '../table/types.js';
import type { ResolvedEntry } from '../tree/entries.js';
import type { ContentEntrySchema, ImageSpecSchema, LAYOUTS, PartitionSchema, PresetPartitionSchema, RawBlobSchema } from './schema.js';

export type { CompressionName, FormatName, FilesystemName, ResolvedEntry };
export type { Ext4OptionsInput as Ext4Options } from '../fs/ext4/options.js';
export type { FatOptionsInput as FatOptions } from '../fs/fat/options.js';
export type { Iso9660OptionsInput as Iso9660Options } from '../fs/iso9660/options.js';
export type { SquashfsOptionsInput as SquashfsOptions } from '../fs/squashfs/options.js';

/** Bytes, or a string with a unit: `8KiB`, `256MiB`, `1.5GiB`. */
export type Size = number | string;
export type TableName = TableScheme['name'];
export type LayoutName = (typeof LAYOUTS)[number];
/** A partition flag, from the one list (`PARTITION_FLAGS` in src/table/types.ts). */
export type { PartitionFlag };

type ContentEntryInput = InferInput<typeof ContentEntrySchema>;
/** One entry of a filesystem's `contents` list: exactly one of the source kinds. */
export type ContentEntry = Omit<ContentEntryInput, 'filesystem'> & { filesystem?: NestedFilesystemSpec };
/**
 * A filesystem built from its own contents and stored as a file (`{ target, filesystem }`). The
 * schema declares it; its `contents` are typed here because the declaration is recursive.
 */
export type NestedFilesystemSpec = Omit<NonNullable<ContentEntryInput['filesystem']>, 'contents'> & { contents?: ContentEntry[] };
export type PartitionSpec = InferInput<typeof PartitionSchema>;
/** `root:` and `boot:` of a layout preset: a partition without size and offset. */
export type PresetPartitionSpec = InferInput<typeof PresetPartitionSchema>;
export type RawBlobSpec = InferInput<typeof RawBlobSchema>;
export type ImageSpec = InferInput<typeof ImageSpecSchema>;

export interface ResolvedPartition {
  index: number;
  /** Spec path of this partition, e.g. `partitions[1]`. */
  path: string;
  name: string;
  /** GPT type GUID (uppercase) when the table is GPT/hybrid. */
  typeGuid?: string;
  /** MBR type byte when the table is MBR/hybrid. */
  mbrType?: number;
  /** Bytes; `auto` = the filesystem's exact size; `fill` = to the end of the disk. */
  size: number | 'auto' | 'fill';
  offset?: number;
  /** NixOS presets: start and end as the `parted mkpart` arguments make-disk-image uses. */
  parted?: { start: string; end: string };
  flags: PartitionFlag[];
  uuid: string;
  /** A filesystem handler's name (aliases resolved), `image` or `none`. */
  filesystem: FilesystemName | 'image' | 'none';
  label?: string;
  fsUuid?: string;
  extraSpace: number;
  /** Resolved entries (empty unless the filesystem has a handler). */
  contents: ResolvedEntry[];
  /** Absolute path of the prebuilt filesystem file for `filesystem: image`. */
  image?: string;
  /** The filesystem handler's own option block, as its `resolveOptions` returned it. */
  options?: unknown;
}

export interface ResolvedSpec {
  name: string;
  seed: string;
  sourceDateEpoch: number | undefined;
  /** The container format's name (aliases resolved). */
  format: FormatName;
  compression: CompressionName;
  /** The level given, or the compressor's default; undefined without compression. */
  compressionLevel: number | undefined;
  /** qcow2 cluster size in bytes (its default filled); undefined for formats without clusters. */
  clusterSize: number | undefined;
  size: number | 'auto';
  table: TableName;
  sectorSize: 512 | 4096;
  alignment: number;
  diskUuid: string;
  mbrId: number;
  gptLocation: number | undefined;
  gptEntries: number;
  partitions: ResolvedPartition[];
  raw: { path: string; source: string; offset: number; size: number; inPartition: boolean }[];
  baseDir: string;
  layout: LayoutName | undefined;
  /** The `bootloader:` block resolved: files for partitions' trees, GRUB's embedding, an EFI variable store (src/boot). */
  bootloader?: ResolvedBootloader;
}
