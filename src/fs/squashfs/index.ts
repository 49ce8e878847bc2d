/**
 * The squashfs 4.0 writer (issue 9): a compressed, read-only filesystem readable by the Linux kernel
 * and squashfs-tools, for `filesystem: squashfs` partitions (a squashfs root on GPT), nested
 * images (a live ISO's `/live/filesystem.squashfs`) and `diskwright squashfs DIR`. Planning
 * compresses the file data (on the worker pool, into a temporary file the volume's extents read)
 * and builds the metadata in memory, so its planner returns a promise.
 *
 * @example
 * const { volume, info } = await squashfsHandler.plan(tree, ctx); // info.details.compression: 'gzip'
 */
import { defineFilesystem } from '../types.js';
import { resolveSquashfsOptions, SquashfsOptions } from './options.js';
import { planSquashfs } from './plan.js';

export { planSquashfs, type SquashfsPlanSettings } from './plan.js';
export { SquashfsOptions, resolveSquashfsOptions, SQUASHFS_COMPRESSORS, type SquashfsResolvedOptions, type SquashfsOptionsInput } from './options.js';

/** squashfs (`filesystem: squashfs`): its name, its `squashfs:` option block and its planner. */
export const squashfsHandler = defineFilesystem({
  name: 'squashfs',
  aliases: [],
  optionsKey: 'squashfs',
  options: SquashfsOptions,
  partitionType: 'linux',
  xattrs: true,
  recordsOffset: false,
  resolveOptions: resolveSquashfsOptions,
  plan: (tree, ctx) => planSquashfs(tree, ctx),
});
