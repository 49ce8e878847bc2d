import type { FilesystemHandler } from './types.js';
import { fatHandler } from './fat/index.js';
import { ext4Handler } from './ext4/index.js';
import { iso9660Handler } from './iso9660/index.js';
import { squashfsHandler } from './squashfs/index.js';

/**
 * The filesystem writers (an explicit array, no side-effect registration; docs/ARCHITECTURE.md §8).
 * Each format folder exports its handler and is listed here, once: the spec's `filesystem:` names,
 * its option blocks (`ext4:`, `fat:`), the JSON Schema and the CLI are derived from this list.
 */
export const filesystems = [fatHandler, ext4Handler, squashfsHandler, iso9660Handler] as const;

/**
 * Names reserved for filesystems without a writer yet: the spec accepts them (they take `contents`)
 * and refuses them with E_FS_UNAVAILABLE, so a spec written for a later version fails clearly.
 */
export const unavailableFilesystems = [] as const;

export type FilesystemName = (typeof filesystems)[number]['name'];

/** The handler for a `filesystem:` name or alias (`fat` → vfat), or undefined. */
export function filesystemHandler(name: string): FilesystemHandler | undefined {
  return (filesystems as readonly FilesystemHandler[]).find((h) => h.name === name || h.aliases.includes(name));
}
