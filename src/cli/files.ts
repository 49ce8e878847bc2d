/**
 * What `ls`, `cat` and `extract` run (loaded by their actions only): open the image as a virtual
 * disk (any container, any compression), pick the filesystem (`PART:` or the only one holding the
 * path) and resolve the path inside it.
 */
import { openDisk } from '../container/read/open.js';
import { DiskwrightError } from '../errors.js';
import { pickVolume, resolve, splitTarget, type FsVolume } from '../inspect/files.js';
import type { FsNode, FsReader } from '../inspect/fsread.js';
import { diskSource, type ImageSource } from '../inspect/source.js';

export interface OpenTarget {
  src: ImageSource;
  volume: FsVolume;
  fs: FsReader;
  node: FsNode;
  /** The path as given inside the image, and its last component. */
  path: string;
  name: Buffer;
}

/** Open `image` and find `target` (`[PART:]PATH`); the last symlink is followed only with `follow`. */
export async function openTarget(image: string, target: string, follow: boolean): Promise<OpenTarget> {
  const src = diskSource(await openDisk(image));
  try {
    const { part, path } = splitTarget(target);
    const { volume, reader } = pickVolume(src, image, part, path);
    const node = resolve(reader, path, follow, image);
    if (!node) throw new DiskwrightError('E_NOT_FOUND', `${image}: ${volume.what} has no ${path}`, { value: path });
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    return { src, volume, fs: reader, node, path, name: Buffer.from(parts[parts.length - 1] ?? '') };
  } catch (e) {
    src.close();
    throw e;
  }
}
