/**
 * What the filesystem readers (src/fs/<format>/read*.ts, beside their writers) give the file
 * commands (`ls`, `cat`, `extract`, `diff`): a node per file with the metadata the format keeps,
 * directory listings, file bytes with their holes, link targets and xattrs. Readers check every
 * count, offset and pointer against the filesystem before use, bound every walk (chains, trees,
 * directories) and throw E_IMAGE_CORRUPT naming the image, the structure and its byte offset in
 * the image. (Readers import these types only: fs/ never depends on inspect/ at run time.)
 */
import type { NodeKind, Timestamp, Xattr } from '../tree/model.js';

/** Random access to the bytes of one filesystem (a partition of a virtual disk). */
export interface ReadSource {
  readonly size: number;
  /** Bytes `[offset, offset + length)`, shorter at the end of the source. */
  read(offset: number, length: number): Uint8Array;
}

/** Where a filesystem is, for messages: the image file and the filesystem's byte offset in the disk. */
export interface FsPlace {
  image: string;
  base: number;
}

export interface FsNode {
  /** Identity within the filesystem (an inode number; FAT: where the entry is): hardlinks share it. */
  readonly id: number;
  readonly kind: NodeKind;
  /** Permission bits with setuid, setgid and sticky (07777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Bytes of a regular file (symlinks: the target's length; others 0). */
  readonly size: number;
  readonly nlink: number;
  readonly mtime: Timestamp;
  readonly atime: Timestamp;
  readonly ctime: Timestamp;
  readonly rdev?: { major: number; minor: number };
}

export interface DirEntry { name: Buffer; node: FsNode }

export interface FsReader {
  /** 'ext4' (ext2/3/4), 'vfat', 'iso9660', 'squashfs'. */
  readonly type: string;
  /** What the format keeps, so comparisons skip the rest (FAT: no owners, modes, links or xattrs; 2-second times). */
  readonly keeps: { owners: boolean; modes: boolean; links: boolean; xattrs: boolean; devices: boolean; timeGranularityNs: number };
  root(): FsNode;
  /** The entries of a directory, without `.` and `..`, in on-disk order. */
  list(dir: FsNode): DirEntry[];
  /** `[offset, offset + length)` of a regular file (clipped to its size); holes read as zeros. */
  read(file: FsNode, offset: number, length: number): Uint8Array;
  /** The ranges of a regular file that hold data (sorted, inside its size); the rest are holes. */
  dataRanges(file: FsNode): [start: number, end: number][];
  readlink(link: FsNode): Buffer;
  /** Extended attributes, sorted by name, in the xattr API's format (POSIX ACLs as getfattr shows them). */
  xattrs(node: FsNode): Xattr[];
  /** The node's on-disk structure and its byte offset in the disk, for messages: 'ext4 inode 12 at offset 3153920'. */
  where(node: FsNode): string;
}
