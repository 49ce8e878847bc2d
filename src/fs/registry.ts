import type { FilesystemHandler } from './types.js';
import { fatHandler } from './fat/index.js';
import { ext4Handler } from './ext4/index.js';

/**
 * The filesystem writers, by spec name (an explicit array, no side-effect registration). Each
 * format folder exports its handler and is listed here.
 */
export const filesystems: readonly FilesystemHandler[] = [fatHandler, ext4Handler];

export function filesystemHandler(type: string): FilesystemHandler | undefined {
  return filesystems.find((h) => h.type === type);
}
