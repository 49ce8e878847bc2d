/**
 * squashfs 4.0 on-disk structures, declared once with the field names and offsets of the kernel's
 * `fs/squashfs/squashfs_fs.h` (Documentation/filesystems/squashfs.rst describes the layout). All
 * fields are little-endian. Variable tails (a file's block list, a symlink's target, a directory
 * index's name) follow the fixed part and are written by the callers.
 *
 * @example
 * const buf = new Uint8Array(SuperBlock.size);
 * SuperBlock.encode({ s_magic: SQUASHFS_MAGIC, s_major: 4 }, buf);
 */
import { defineStruct, type Field } from '../../util/struct.js';

export const SQUASHFS_MAGIC = 0x73717368; // "hsqs"
export const SQUASHFS_MAJOR = 4;
export const SQUASHFS_MINOR = 0;
/** Uncompressed size of an inode, directory or table metadata block (squashfs_fs.h SQUASHFS_METADATA_SIZE). */
export const METADATA_SIZE = 8192;
/** Metadata block header: the length with SQUASHFS_COMPRESSED_BIT set when the block is stored uncompressed. */
export const COMPRESSED_BIT = 1 << 15;
/** Data block sizes (block lists, fragment entries): bit 24 set when the block is stored uncompressed. */
export const COMPRESSED_BIT_BLOCK = 1 << 24;
export const INVALID_FRAG = 0xffffffff;
export const INVALID_XATTR = 0xffffffff;
/** SQUASHFS_INVALID_BLK (-1LL) as it is stored: all 64 bits set. */
export const INVALID_BLK = 0xffffffffffffffffn;
/** Longest name a directory entry holds (SQUASHFS_NAME_LEN). */
export const NAME_LEN = 256;
/** Entries one directory header may cover (SQUASHFS_DIR_COUNT). */
export const DIR_COUNT = 256;

/** squashfs_fs.h "Filesystem flags" (bit numbers there; masks here). */
export const Flags = {
  NOI: 1 << 0, NOD: 1 << 1, CHECK: 1 << 2, NOF: 1 << 3, NO_FRAG: 1 << 4, ALWAYS_FRAG: 1 << 5,
  DUPLICATE: 1 << 6, EXPORT: 1 << 7, NOX: 1 << 8, NO_XATTR: 1 << 9, COMP_OPT: 1 << 10, NOID: 1 << 11,
} as const;

/** squashfs_fs.h compression ids. */
export const Compression = { ZLIB: 1, LZMA: 2, LZO: 3, XZ: 4, LZ4: 5, ZSTD: 6 } as const;

/** Inode types; a directory entry stores the basic one (<= SQUASHFS_MAX_DIR_TYPE) of an extended inode. */
export const InodeType = {
  DIR: 1, REG: 2, SYMLINK: 3, BLKDEV: 4, CHRDEV: 5, FIFO: 6, SOCKET: 7,
  LDIR: 8, LREG: 9, LSYMLINK: 10, LBLKDEV: 11, LCHRDEV: 12, LFIFO: 13, LSOCKET: 14,
} as const;
/** What an extended type adds to its basic one. */
export const EXTENDED = 7;

/** Xattr name prefixes (SQUASHFS_XATTR_USER/TRUSTED/SECURITY): the only namespaces the format has ids for. */
export const XATTR_PREFIXES = [['user.', 0], ['trusted.', 1], ['security.', 2]] as const;

/** struct squashfs_super_block: 96 bytes at offset 0. */
export const SuperBlock = defineStruct('squashfs_super_block', 96, [
  { name: 's_magic', offset: 0, kind: 'u32le' },
  { name: 'inodes', offset: 4, kind: 'u32le' },
  { name: 'mkfs_time', offset: 8, kind: 'u32le' },
  { name: 'block_size', offset: 12, kind: 'u32le' },
  { name: 'fragments', offset: 16, kind: 'u32le' },
  { name: 'compression', offset: 20, kind: 'u16le' },
  { name: 'block_log', offset: 22, kind: 'u16le' },
  { name: 'flags', offset: 24, kind: 'u16le' },
  { name: 'no_ids', offset: 26, kind: 'u16le' },
  { name: 's_major', offset: 28, kind: 'u16le' },
  { name: 's_minor', offset: 30, kind: 'u16le' },
  { name: 'root_inode', offset: 32, kind: 'u64le' },
  { name: 'bytes_used', offset: 40, kind: 'u64le' },
  { name: 'id_table_start', offset: 48, kind: 'u64le' },
  { name: 'xattr_id_table_start', offset: 56, kind: 'u64le' },
  { name: 'inode_table_start', offset: 64, kind: 'u64le' },
  { name: 'directory_table_start', offset: 72, kind: 'u64le' },
  { name: 'fragment_table_start', offset: 80, kind: 'u64le' },
  { name: 'lookup_table_start', offset: 88, kind: 'u64le' },
]);

/** struct squashfs_base_inode: the 16 bytes every inode starts with. */
const BASE = [
  { name: 'inode_type', offset: 0, kind: 'u16le' },
  { name: 'mode', offset: 2, kind: 'u16le' },
  { name: 'uid', offset: 4, kind: 'u16le' },
  { name: 'guid', offset: 6, kind: 'u16le' },
  { name: 'mtime', offset: 8, kind: 'u32le' },
  { name: 'inode_number', offset: 12, kind: 'u32le' },
] as const satisfies readonly Field[];
type BaseName = (typeof BASE)[number]['name'];

const inode = <N extends string>(name: string, size: number, rest: readonly (Field & { name: N })[]) =>
  defineStruct<BaseName | N>(name, size, [...BASE, ...rest]);

/** struct squashfs_ipc_inode: FIFO or socket. */
export const IpcInode = inode('squashfs_ipc_inode', 20, [{ name: 'nlink', offset: 16, kind: 'u32le' }]);
export const LIpcInode = inode('squashfs_lipc_inode', 24, [
  { name: 'nlink', offset: 16, kind: 'u32le' },
  { name: 'xattr', offset: 20, kind: 'u32le' },
]);
/** struct squashfs_dev_inode: rdev as (major << 8) | (minor & 0xff) | ((minor & ~0xff) << 12). */
export const DevInode = inode('squashfs_dev_inode', 24, [
  { name: 'nlink', offset: 16, kind: 'u32le' },
  { name: 'rdev', offset: 20, kind: 'u32le' },
]);
export const LDevInode = inode('squashfs_ldev_inode', 28, [
  { name: 'nlink', offset: 16, kind: 'u32le' },
  { name: 'rdev', offset: 20, kind: 'u32le' },
  { name: 'xattr', offset: 24, kind: 'u32le' },
]);
/** struct squashfs_symlink_inode: `symlink_size` bytes of target follow (then, extended, a __le32 xattr). */
export const SymlinkInode = inode('squashfs_symlink_inode', 24, [
  { name: 'nlink', offset: 16, kind: 'u32le' },
  { name: 'symlink_size', offset: 20, kind: 'u32le' },
]);
/** struct squashfs_reg_inode: one __le32 block size per data block follows. */
export const RegInode = inode('squashfs_reg_inode', 32, [
  { name: 'start_block', offset: 16, kind: 'u32le' },
  { name: 'fragment', offset: 20, kind: 'u32le' },
  { name: 'offset', offset: 24, kind: 'u32le' },
  { name: 'file_size', offset: 28, kind: 'u32le' },
]);
/** struct squashfs_lreg_inode: files of 4 GiB or more, with hard links, holes or xattrs. */
export const LRegInode = inode('squashfs_lreg_inode', 56, [
  { name: 'start_block', offset: 16, kind: 'u64le' },
  { name: 'file_size', offset: 24, kind: 'u64le' },
  { name: 'sparse', offset: 32, kind: 'u64le' },
  { name: 'nlink', offset: 40, kind: 'u32le' },
  { name: 'fragment', offset: 44, kind: 'u32le' },
  { name: 'offset', offset: 48, kind: 'u32le' },
  { name: 'xattr', offset: 52, kind: 'u32le' },
]);
/** struct squashfs_dir_inode: `file_size` is the listing's length + 3 (for . and ..). */
export const DirInode = inode('squashfs_dir_inode', 32, [
  { name: 'start_block', offset: 16, kind: 'u32le' },
  { name: 'nlink', offset: 20, kind: 'u32le' },
  { name: 'file_size', offset: 24, kind: 'u16le' },
  { name: 'offset', offset: 26, kind: 'u16le' },
  { name: 'parent_inode', offset: 28, kind: 'u32le' },
]);
/** struct squashfs_ldir_inode: `i_count` squashfs_dir_index entries follow. */
export const LDirInode = inode('squashfs_ldir_inode', 40, [
  { name: 'nlink', offset: 16, kind: 'u32le' },
  { name: 'file_size', offset: 20, kind: 'u32le' },
  { name: 'start_block', offset: 24, kind: 'u32le' },
  { name: 'parent_inode', offset: 28, kind: 'u32le' },
  { name: 'i_count', offset: 32, kind: 'u16le' },
  { name: 'offset', offset: 34, kind: 'u16le' },
  { name: 'xattr', offset: 36, kind: 'u32le' },
]);

/** struct squashfs_dir_index: `size + 1` name bytes follow. */
export const DirIndex = defineStruct('squashfs_dir_index', 12, [
  { name: 'index', offset: 0, kind: 'u32le' },
  { name: 'start_block', offset: 4, kind: 'u32le' },
  { name: 'size', offset: 8, kind: 'u32le' },
]);
/** struct squashfs_dir_header: `count + 1` entries follow, their inodes in metadata block `start_block`. */
export const DirHeader = defineStruct('squashfs_dir_header', 12, [
  { name: 'count', offset: 0, kind: 'u32le' },
  { name: 'start_block', offset: 4, kind: 'u32le' },
  { name: 'inode_number', offset: 8, kind: 'u32le' },
]);
/** struct squashfs_dir_entry: `inode_number` is a signed 16-bit delta from the header's; `size + 1` name bytes follow. */
export const DirEntry = defineStruct('squashfs_dir_entry', 8, [
  { name: 'offset', offset: 0, kind: 'u16le' },
  { name: 'inode_number', offset: 2, kind: 'u16le' },
  { name: 'type', offset: 4, kind: 'u16le' },
  { name: 'size', offset: 6, kind: 'u16le' },
]);
/** struct squashfs_fragment_entry. */
export const FragmentEntry = defineStruct('squashfs_fragment_entry', 16, [
  { name: 'start_block', offset: 0, kind: 'u64le' },
  { name: 'size', offset: 8, kind: 'u32le' },
  { name: 'unused', offset: 12, kind: 'u32le' },
]);
/** struct squashfs_xattr_entry: `size` name bytes (without the prefix) follow. */
export const XattrEntry = defineStruct('squashfs_xattr_entry', 4, [
  { name: 'type', offset: 0, kind: 'u16le' },
  { name: 'size', offset: 2, kind: 'u16le' },
]);
/** struct squashfs_xattr_val: `vsize` value bytes follow. */
export const XattrVal = defineStruct('squashfs_xattr_val', 4, [{ name: 'vsize', offset: 0, kind: 'u32le' }]);
/** struct squashfs_xattr_id: where an inode's name/value list is, how many pairs, their total size. */
export const XattrId = defineStruct('squashfs_xattr_id', 16, [
  { name: 'xattr', offset: 0, kind: 'u64le' },
  { name: 'count', offset: 8, kind: 'u32le' },
  { name: 'size', offset: 12, kind: 'u32le' },
]);
/** struct squashfs_xattr_id_table: at xattr_id_table_start, followed by the index of the id blocks. */
export const XattrIdTable = defineStruct('squashfs_xattr_id_table', 16, [
  { name: 'xattr_table_start', offset: 0, kind: 'u64le' },
  { name: 'xattr_ids', offset: 8, kind: 'u32le' },
  { name: 'unused', offset: 12, kind: 'u32le' },
]);

/** squashfs-tools gzip_wrapper.h `struct gzip_comp_opts`. */
export const GzipCompOpts = defineStruct('gzip_comp_opts', 8, [
  { name: 'compression_level', offset: 0, kind: 'u32le' },
  { name: 'window_size', offset: 4, kind: 'u16le' },
  { name: 'strategy', offset: 6, kind: 'u16le' },
]);
/** squashfs-tools xz_wrapper.h `struct comp_opts`: flags bit i = BCJ filter i of its table (0 = x86). */
export const XzCompOpts = defineStruct('xz comp_opts', 8, [
  { name: 'dictionary_size', offset: 0, kind: 'u32le' },
  { name: 'flags', offset: 4, kind: 'u32le' },
]);
/** squashfs-tools lz4_wrapper.h `struct lz4_comp_opts`: version LZ4_LEGACY (1), flags LZ4_HC (1). */
export const Lz4CompOpts = defineStruct('lz4_comp_opts', 8, [
  { name: 'version', offset: 0, kind: 'u32le' },
  { name: 'flags', offset: 4, kind: 'u32le' },
]);
/** squashfs-tools zstd_wrapper.h `struct zstd_comp_opts`. */
export const ZstdCompOpts = defineStruct('zstd_comp_opts', 4, [{ name: 'compression_level', offset: 0, kind: 'u32le' }]);

/** A reference to a metadata location: the compressed block's start (from its table's start) << 16 | offset in it. */
export function inodeRef(block: number, offset: number): bigint {
  return (BigInt(block) << 16n) | BigInt(offset);
}
