import type { Volume } from '../extent/extent.js';
import type { Ext4Options, FatOptions } from '../spec/types.js';
import type { Tree } from '../tree/model.js';

/** Everything a filesystem planner needs besides the tree. */
export interface FsContext {
  /** Partition (or image) name: the `<name>` in id roles such as `fs:<name>`. */
  name: string;
  /** Spec path of the partition, for errors: `partitions[1]`. */
  specPath: string;
  /** Seed every id derives from (docs/ARCHITECTURE.md §4). */
  seed: string;
  /** sourceDateEpoch; filesystem-level times are the epoch, or 0 when none. */
  epoch: number | undefined;
  label?: string;
  /** Explicit filesystem UUID (or FAT volume id as XXXX-XXXX); wins over the seed. */
  fsUuid?: string;
  /** Exact size in bytes, or `auto`: the smallest size that holds the tree, plus `extraSpace`. */
  size: number | 'auto';
  extraSpace: number;
  /** Byte offset of the filesystem on its disk (absent or 0 for a bare image). FAT records it as BPB_HiddSec. */
  offset?: number;
  /** Sector size of the disk the filesystem goes on (512 or 4096). */
  sectorSize: number;
  ext4: Ext4Options;
  fat: FatOptions;
}

/** What the report says about a filesystem. */
export interface FsInfo {
  type: string;
  size: number;
  uuid?: string;
  label?: string;
  details?: Record<string, string | number | boolean>;
}

export interface PlannedFilesystem {
  volume: Volume;
  info: FsInfo;
}

/**
 * A filesystem writer: a pure layout planner (docs/ARCHITECTURE.md §2.1). It decides every block, builds
 * metadata buffers and references file data without copying it. It must fail before any output
 * exists (a DiskwrightError naming ctx.specPath) when the tree does not fit a fixed size.
 */
export interface FilesystemHandler {
  readonly type: string;
  plan(tree: Tree, ctx: FsContext): PlannedFilesystem;
}
