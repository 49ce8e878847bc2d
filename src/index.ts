/**
 * diskwright: build complete, bootable disk images from directory trees, in-process.
 *
 * @example
 * import { buildImage, defineImage } from 'diskwright';
 * const spec = defineImage({ layout: 'efi', root: { contents: [{ source: './rootfs', target: '/' }] } });
 * const report = await buildImage(spec, { output: 'nixos.img' });
 */
export { buildImage, planImage, reportOf, defineImage } from './build.js';
export type { BuildOptions, BuildReport, PartitionReport, Plan, Progress } from './build.js';
export { DiskwrightError } from './errors.js';
export { resolveSpec } from './spec/validate.js';
export { parseImageSpec, ImageSpecSchema } from './spec/schema.js';
export { jsonSchema } from './spec/jsonschema.js';
export { loadSpecFile } from './spec/parse.js';
export type { ImageSpec, PartitionSpec, ContentEntry, ResolvedSpec, FormatName, CompressionName, FilesystemName, TableName } from './spec/types.js';
export { buildTree } from './tree/build.js';
export { prepareTarInputs, TarInputs } from './tree/tarinput.js';
export type { Tree, TreeNode } from './tree/model.js';
export type { Volume, Extent, Source } from './extent/extent.js';
export { emit } from './container/emit.js';
export { convertImage } from './container/convert.js';
export type { ConvertOptions, ConvertResult } from './container/convert.js';
export { openImage } from './container/read/open.js';
export { containers, containerFormats } from './container/registry.js';
export { compressors } from './container/compress.js';
export { filesystems } from './fs/registry.js';
