import type { GenericSchema } from 'valibot';
import type { Volume } from '../extent/extent.js';
import type { Tree } from '../tree/model.js';

/** Everything a filesystem planner needs besides the tree. `O` is its own resolved option block. */
export interface FsContext<O = unknown> {
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
  /**
   * This filesystem's own option block (`ext4:`, `fat:`) as its `resolveOptions` returned it:
   * checked, defaults filled, sizes in bytes. A handler never sees another filesystem's options.
   */
  options: O;
  /** Aborts planning (a signal): long planners (compressing ones) check it between units of work. */
  signal?: AbortSignal;
  /**
   * Register a clean-up to run when the plan is disposed (after the image is written, or when the
   * build fails): temporary files a planner's extents read. Absent where nothing may be left behind.
   */
  onDispose?: (dispose: () => void) => void;
  /** Conditions the build goes on with, one line each (BuildOptions.onWarning). */
  onWarning?: (message: string) => void;
}

/** What `FilesystemHandler.ids` reads: the parts of a context that name a filesystem, known before planning. */
export type FsIdContext<O = unknown> = Pick<FsContext<O>, 'name' | 'specPath' | 'seed' | 'label' | 'fsUuid' | 'options'>;

/** What `FilesystemHandler.ids` returns: the ids as blkid shows them (`UUID=`, `LABEL=`). */
export interface FsIds {
  uuid?: string;
  label?: string;
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

/** What option resolution may need besides the block: where host paths in it resolve. */
export interface OptionsContext {
  /** Directory relative host paths resolve against (the spec file's). */
  baseDir: string;
  /** Check that host files named in the block exist (default true). */
  checkFiles?: boolean;
}

/** What a planner returns: ext4 and FAT plan synchronously; a compressing planner (squashfs) may not. */
export type PlanResult = PlannedFilesystem | Promise<PlannedFilesystem>;

/**
 * A filesystem writer (docs/ARCHITECTURE.md §8): everything the spec, the CLI and the pipeline
 * know about a filesystem comes from here. `plan` is a pure layout planner (§2.1): it decides every
 * block, builds metadata buffers and references file data without copying it, and fails before
 * any output exists (a DiskwrightError naming ctx.specPath) when the tree does not fit a fixed size.
 *
 * @example
 * export const ext4Handler = defineFilesystem({ name: 'ext4', aliases: [], optionsKey: 'ext4', options: Ext4Options, xattrs: true, recordsOffset: false, resolveOptions, plan });
 */
export interface FilesystemHandler<N extends string = string, K extends string = string, S extends GenericSchema = GenericSchema, O = unknown, A extends string = string, R extends PlanResult = PlanResult> {
  /** The name in `filesystem:` (and in reports). */
  readonly name: N;
  /** Other names accepted in `filesystem:` (`fat` for vfat). */
  readonly aliases: readonly A[];
  /** The partition key of its option block (`ext4:`, `fat:`). */
  readonly optionsKey: K;
  /** The option block's schema: every key with its type, limits, default and description. */
  readonly options: S;
  /** The partition type (an alias of `src/table/types.ts`) when the spec gives none: FAT is the ESP. */
  readonly partitionType: string;
  /** Whether it stores host xattrs (FAT does not: its trees skip reading them). */
  readonly xattrs: boolean;
  /** Whether its bytes depend on its offset on the disk (FAT's BPB_HiddSec): planned again at its place. */
  readonly recordsOffset: boolean;
  /** Check an option block (schema, then what a schema cannot say) and resolve it: defaults filled, sizes in bytes. */
  resolveOptions(value: unknown, path: string, ctx?: OptionsContext): O;
  /** Synchronous for ext4 and FAT; a planner that compresses (squashfs) may return a promise. */
  plan(tree: Tree, ctx: FsContext<O>): R;
  /**
   * The ids its planner records (UUID, label as blkid shows them), computed by the functions the
   * planner itself calls, so that text contents and boot entries can name them before planning
   * (`${fsuuid:NAME}`, src/boot/refs.ts). Absent for a filesystem that has no such ids.
   */
  ids?(ctx: FsIdContext<O>): FsIds;
}

/** Declare a handler with its literal name and option key (so the spec's types name them). */
export function defineFilesystem<const N extends string, const K extends string, S extends GenericSchema, O, const A extends string = never, R extends PlanResult = PlannedFilesystem>(handler: FilesystemHandler<N, K, S, O, A, R>): FilesystemHandler<N, K, S, O, A, R> {
  return handler;
}
