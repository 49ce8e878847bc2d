/**
 * diskwright in the browser (issue 13): the browser ES module build's entry (scripts/bundle-web.mjs
 * bundles it to dist/web/diskwright.js). Trees come from files in memory, sinks are Blobs or files
 * the user chose; nothing here reaches node:fs, node:worker_threads or node:child_process
 * (test/web/bundle.test.ts checks the bundle's inputs).
 *
 * @example
 * import { memoryTree, filesFromList, planWeb, emitWeb, BlobSink } from './diskwright.js';
 * const plan = await planWeb('fat', await memoryTree(filesFromList(input.files)), { label: 'DATA' });
 * const sink = new BlobSink();
 * const report = await emitWeb(plan, sink);
 */
export { memoryTree, type MemoryEntry, type MemoryTreeOptions, type TreeSource } from '../tree/memory.js';
export { filesFromDirectory, filesFromDrop, filesFromList, type DirectoryHandle, type DropEntry, type WebFile } from './sources.js';
export { BlobSink, WritableFileSink, type WritableFile } from './sinks.js';
export { emitWeb, planWeb, specFor, targets, type Target, type WebPlan, type WebPlanOptions } from './pipeline.js';
export { DiskwrightError } from '../errors.js';
export type { BuildReport } from '../report.js';
