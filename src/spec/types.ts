/**
 * The spec contract (docs/ARCHITECTURE.md §3): one object for YAML, JSON and the TypeScript API.
 * `ImageSpec` is what users write; `ResolvedSpec` is what validation produces (sizes in bytes,
 * presets expanded, defaults filled in).
 */

export type Size = number | string;
export type FormatName = 'raw' | 'qcow2' | 'qcow2-compressed' | 'vhd' | 'vpc' | 'vhd-fixed' | 'vdi' | 'vmdk';
export type CompressionName = 'none' | 'zstd' | 'xz' | 'gzip' | 'bzip2';
export type TableName = 'gpt' | 'mbr' | 'hybrid' | 'none';
export type FilesystemName = 'ext4' | 'vfat' | 'fat' | 'squashfs' | 'iso9660' | 'none' | 'image';
export type LayoutName = 'legacy' | 'legacy+gpt' | 'efi' | 'hybrid' | 'none';
export type PartitionFlag = 'boot' | 'legacy-bios-bootable' | 'read-only' | 'no-auto' | 'grow-fs' | 'required' | 'hidden';

/** One entry of a filesystem's `contents` list. Exactly one of the source kinds, or only metadata for a directory. */
export interface ContentEntry {
  target?: string;
  source?: string;
  text?: string;
  directory?: boolean;
  symlink?: string;
  device?: 'char' | 'block' | 'fifo' | 'socket';
  major?: number;
  minor?: number;
  tar?: string;
  closureInfo?: string;
  mode?: string | number;
  user?: string | number;
  group?: string | number;
  /** Applied to every node copied from `source`/`tar` (the default keeps root:root and source modes). */
  recursiveOwner?: boolean;
  /**
   * An object sets these xattrs on the entry's node. `false`: copy no host xattrs from a
   * `source`/`closureInfo` tree (they are copied by default, ext4 only; FAT has none).
   */
  xattrs?: Record<string, string> | boolean;
  /**
   * Owners of the nodes a `source`/`closureInfo` entry copies: `root` (default, 0:0) or `host`
   * (the host's numeric uid/gid, as mke2fs -d and tar keep them). `user`/`group` still override.
   */
  owners?: 'root' | 'host';
  mtime?: number;
  /** Allow this entry to replace a node an earlier entry created. */
  replace?: boolean;
  /** FAT attributes. */
  attributes?: ('readonly' | 'hidden' | 'system')[];
}

export interface Ext4Options {
  blockSize?: 1024 | 2048 | 4096;
  inodeSize?: 128 | 256;
  journal?: boolean;
  journalSize?: Size;
  inodeCount?: number;
  bytesPerInode?: number;
  reservedPercent?: number;
  hashSeed?: string;
}

export interface FatOptions {
  fatSize?: 12 | 16 | 32;
  clusterSize?: Size;
  sectorSize?: number;
  reservedSectors?: number;
  volumeId?: string | number;
}

export interface PartitionSpec {
  name?: string;
  /** Internal (presets): parted positions; not accepted in user specs. */
  parted?: { start: string; end: string };
  type?: string;
  size?: Size;
  offset?: Size;
  flags?: PartitionFlag[];
  uuid?: string;
  filesystem?: FilesystemName;
  label?: string;
  fsUuid?: string;
  extraSpace?: Size;
  contents?: ContentEntry[];
  /** Prebuilt filesystem file for `filesystem: image`. */
  image?: string;
  ext4?: Ext4Options;
  fat?: FatOptions;
}

export interface RawBlobSpec {
  source: string;
  offset: Size;
  /** Optional: allow the blob to sit inside a partition's space (genimage `in-partition`). */
  inPartition?: boolean;
}

export interface ImageSpec {
  name?: string;
  seed?: string;
  sourceDateEpoch?: number;
  format?: FormatName;
  compression?: CompressionName;
  compressionLevel?: number;
  /** qcow2 cluster size (default 64 KiB). */
  clusterSize?: Size;
  size?: Size;
  table?: TableName;
  sectorSize?: 512 | 4096;
  alignment?: Size;
  diskUuid?: string;
  /** MBR disk signature (32-bit), hex or number. */
  mbrId?: string | number;
  /** GPT: where the primary partition entry array starts (genimage `gpt-location`). */
  gptLocation?: Size;
  /** GPT: number of entries in the entry array (default 128). */
  gptEntries?: number;
  partitions?: PartitionSpec[];
  raw?: RawBlobSpec[];
  /** NixOS make-disk-image presets. */
  layout?: LayoutName;
  bootSize?: Size;
  additionalSpace?: Size;
  root?: Omit<PartitionSpec, 'name'> & { name?: string };
  boot?: Omit<PartitionSpec, 'name'> & { name?: string };
  /** Base directory for relative paths (defaults to the spec file's directory, or cwd). */
  baseDir?: string;
}

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
  filesystem: 'ext4' | 'vfat' | 'squashfs' | 'iso9660' | 'none' | 'image';
  label?: string;
  fsUuid?: string;
  extraSpace: number;
  contents: ContentEntry[];
  image?: string;
  ext4: Ext4Options;
  fat: FatOptions;
}

export interface ResolvedSpec {
  name: string;
  seed: string;
  sourceDateEpoch: number | undefined;
  format: 'raw' | 'qcow2' | 'qcow2-compressed' | 'vhd' | 'vhd-fixed' | 'vdi' | 'vmdk';
  compression: CompressionName;
  compressionLevel: number | undefined;
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
}
