/**
 * The squashfs 4.0 reader (Documentation/filesystems/squashfs.rst; squashfs_fs.h), decoding with
 * the writer's declarations (format.ts): the superblock checked when opened, every inode type,
 * basic and extended, read on demand from the inode table; directories from the directory table
 * (headers of at most 256 entries, names checked); file data from its block list (a block of size
 * 0 is a hole), the tail from its fragment; owners through the id table; xattrs through the xattr
 * id table (values out of line included). Every offset is checked against bytes_used, every count
 * against what the rest of the filesystem can hold, data blocks decode to at most the block size
 * and metadata blocks to at most 8 KiB (read-meta.ts, read-codec.ts).
 */
import type { DirEntry as FsDirEntry, FsNode, FsPlace, FsReader, ReadSource } from '../../inspect/fsread.js';
import type { NodeKind, Xattr } from '../../tree/model.js';
import { DiskwrightError } from '../../errors.js';
import { safeNumber, type DecodedValue, type Struct } from '../../util/struct.js';
import {
  COMPRESSED_BIT_BLOCK, DevInode, DIR_COUNT, DirEntry, DirHeader, DirInode, EXTENDED, FragmentEntry, INVALID_FRAG, INVALID_XATTR, InodeType, IpcInode,
  LDevInode, LDirInode, LIpcInode, LRegInode, METADATA_SIZE, NAME_LEN, RegInode, SQUASHFS_MAGIC, SuperBlock, SymlinkInode, XattrEntry, XattrId, XattrIdTable, XattrVal,
} from './format.js';
import { blockDecoder, compressionName, type BlockDecoder } from './read-codec.js';
import { LookupTable, MetaReader, type MetaContext, type MetaCursor } from './read-meta.js';

const SB = 'squashfs superblock';
const KINDS: Record<number, NodeKind> = { 1: 'dir', 2: 'file', 3: 'symlink', 4: 'block', 5: 'char', 6: 'fifo', 7: 'socket' };
/** The longest symlink target read (PATH_MAX), the largest xattr value (XATTR_SIZE_MAX). */
const MAX_LINK = 4096;
const XATTR_SIZE_MAX = 65536;
/** SQUASHFS_XATTR_VALUE_OOL: the value is a reference to a value stored elsewhere in the table. */
const XATTR_VALUE_OOL = 0x100;
const XATTR_PREFIX: Record<number, string> = { 0: 'user.', 1: 'trusted.', 2: 'security.' };
/** Blocks one file may list (a 2 TiB file of 128 KiB blocks): its block list is held in memory. */
const MAX_FILE_BLOCKS = 1 << 24;

interface SqNode extends FsNode {
  /** Where its inode is: the metadata block's start in the filesystem and the offset in it. */
  readonly blockAt: number;
  readonly offset: number;
  readonly xattr: number;
  /** Regular files: first data block, fragment and its offset, where the block list starts. */
  readonly start?: number;
  readonly fragment?: number;
  readonly fragOffset?: number;
  readonly list?: { blockAt: number; offset: number };
  /** Directories: the listing's place in the directory table and its length (file_size - 3). */
  readonly dir?: { block: number; offset: number; length: number };
  readonly target?: Buffer;
}

interface Layout { id: number; sizes: Uint32Array; starts: Float64Array }

export class SquashfsReader implements FsReader {
  readonly type = 'squashfs';
  readonly keeps = { owners: true, modes: true, links: true, xattrs: true, devices: true, timeGranularityNs: 1e9 };
  readonly blockSize: number;
  private readonly end: number;
  private readonly meta: MetaReader;
  private readonly ctx: MetaContext;
  private readonly decode: BlockDecoder;
  private readonly inodeTable: number;
  private readonly dirTable: number;
  private readonly inodes: number;
  private readonly rootRef: bigint;
  private readonly ids: LookupTable;
  private readonly fragments: LookupTable;
  private xattrTable: { start: number; ids: LookupTable } | undefined | null = null;
  private readonly xattrIdTableAt: number | undefined;
  private layoutCache: Layout | undefined;
  private readonly blockCache = new Map<number, Uint8Array>();

  constructor(private readonly src: ReadSource, private readonly place: FsPlace) {
    const sb = SuperBlock.decode(this.raw(0, SuperBlock.size, SB));
    if (sb.s_magic !== SQUASHFS_MAGIC) throw this.corrupt(SB, 0, 'no squashfs magic');
    if (sb.s_major !== 4) throw new DiskwrightError('E_IMAGE_UNSUPPORTED', `${place.image}: squashfs at offset ${place.base}: version ${String(sb.s_major)}.${String(sb.s_minor)} (only 4.0 is read)`, { value: place.image });
    const num = (field: keyof typeof sb, min: number, max: number): number => {
      const v = safeNumber(sb[field]);
      if (v === undefined || v < min || v > max) throw this.corrupt(SB, SuperBlock.offsetOf(field as Parameters<typeof SuperBlock.offsetOf>[0]), `${field} ${String(sb[field])} is not between ${min} and ${max}`);
      return v;
    };
    this.end = num('bytes_used', SuperBlock.size, src.size);
    const log = num('block_log', 12, 20);
    this.blockSize = num('block_size', 4096, 1 << 20);
    if (this.blockSize !== 2 ** log) throw this.corrupt(SB, 12, `block_size ${this.blockSize} is not 2^block_log (${log})`);
    const id = sb.compression as number;
    const decode = blockDecoder(id);
    if (!decode) throw new DiskwrightError('E_IMAGE_UNSUPPORTED', `${place.image}: squashfs at offset ${place.base}: ${compressionName(id)} compression is not supported (gzip, xz, zstd and lz4 are)`, { value: place.image });
    this.decode = decode;
    this.inodes = num('inodes', 1, 0xffffffff);
    const table = (field: keyof typeof sb): number => num(field, SuperBlock.size, this.end - 1);
    this.inodeTable = table('inode_table_start');
    this.dirTable = table('directory_table_start');
    this.ctx = { end: this.end, decode, bytes: (o, l, s) => this.raw(o, l, s), corrupt: (s, o, w) => this.corrupt(s, o, w) };
    this.meta = new MetaReader(this.ctx);
    this.ids = new LookupTable(this.meta, this.ctx, table('id_table_start'), num('no_ids', 1, 0xffff), 4, 'squashfs id table');
    const frags = num('fragments', 0, 0xffffffff);
    this.fragments = new LookupTable(this.meta, this.ctx, frags ? table('fragment_table_start') : 0, frags, FragmentEntry.size, 'squashfs fragment table');
    const x = sb.xattr_id_table_start;
    this.xattrIdTableAt = typeof x === 'number' && x < this.end ? x : undefined;
    this.rootRef = BigInt(sb.root_inode as number | bigint);
  }

  /** E_IMAGE_CORRUPT naming the image, the structure and its byte offset in the disk. */
  private corrupt(structure: string, offset: number, what: string): DiskwrightError {
    return new DiskwrightError('E_IMAGE_CORRUPT', `${this.place.image}: ${structure} at offset ${this.place.base + offset}: ${what}`, { value: this.place.image });
  }

  /** `length` bytes at `offset` of the filesystem, all inside the source. */
  private raw(offset: number, length: number, structure: string): Uint8Array {
    const b = this.src.read(offset, length);
    if (b.length < length) throw this.corrupt(structure, offset, `its ${length} bytes run past the end of the ${this.src.size}-byte partition`);
    return b;
  }

  root(): FsNode {
    const n = this.inodeAt(this.rootRef, { structure: SB, at: SuperBlock.offsetOf('root_inode') });
    if (n.kind !== 'dir') throw this.corrupt(SB, SuperBlock.offsetOf('root_inode'), 'the root inode is not a directory');
    return n;
  }

  where(node: FsNode): string {
    const n = node as SqNode;
    return `squashfs inode ${n.id} at offset ${this.place.base + n.blockAt} (+${n.offset})`;
  }

  /** The inode at reference `ref` (its block relative to the inode table << 16 | offset). */
  private inodeAt(ref: bigint, from: { structure: string; at: number }): SqNode {
    const block = Number(ref >> 16n), offset = Number(ref & 0xffffn);
    if (ref >> 16n > BigInt(this.end) || offset >= METADATA_SIZE) throw this.corrupt(from.structure, from.at, `inode reference 0x${ref.toString(16)} is outside the inode table`);
    const blockAt = this.inodeTable + block;
    const what = `squashfs inode at ${this.place.base + blockAt} (+${offset})`;
    const cur = this.meta.cursor(blockAt, offset, 'squashfs inode table');
    const base = cur.take(16);
    const type = base[0]! | (base[1]! << 8);
    const basic = type > EXTENDED ? type - EXTENDED : type;
    const kind = KINDS[basic];
    if (!kind || type > 14) throw this.corrupt(what, blockAt, `inode_type ${type} is not one of squashfs's`);
    const struct = STRUCTS[type]!;
    const bytes = new Uint8Array(struct.size);
    bytes.set(base);
    bytes.set(cur.take(struct.size - 16), 16);
    const v = struct.decode(bytes) as Record<string, DecodedValue>;
    const n = (field: string): number => (v[field] === undefined ? 0 : (safeNumber(v[field]!) ?? -1));
    const ino = n('inode_number');
    if (ino < 1 || ino > this.inodes) throw this.corrupt(what, blockAt, `inode_number ${ino} is not between 1 and ${this.inodes}`);
    const at = { structure: what, at: blockAt };
    const mtime = { sec: n('mtime'), nsec: 0 };
    const common = {
      id: ino, kind, mode: n('mode') & 0o7777, uid: this.id(n('uid'), at), gid: this.id(n('guid'), at),
      nlink: v.nlink === undefined ? 1 : n('nlink'), mtime, atime: mtime, ctime: mtime, blockAt, offset,
      xattr: v.xattr === undefined ? INVALID_XATTR : n('xattr'),
    };
    switch (basic) {
      case InodeType.REG: {
        const size = n('file_size');
        if (size < 0) throw this.corrupt(what, blockAt, `file_size ${String(v.file_size)} is larger than 2^53`);
        const start = n('start_block');
        if (start < 0 || start > this.end) throw this.corrupt(what, blockAt, `start_block ${String(v.start_block)} is outside the ${this.end} bytes used`);
        return { ...common, size, start, fragment: n('fragment'), fragOffset: n('offset'), list: { blockAt: cur.blockAt, offset: cur.offset } };
      }
      case InodeType.DIR: {
        const fileSize = n('file_size');
        // file_size counts the "." and ".." the listing does not hold (squashfs.rst "Directory inodes").
        if (fileSize < 3) return { ...common, size: 0, dir: { block: 0, offset: 0, length: 0 } };
        return { ...common, size: 0, dir: { block: n('start_block'), offset: n('offset'), length: fileSize - 3 } };
      }
      case InodeType.SYMLINK: {
        const len = n('symlink_size');
        if (len > MAX_LINK) throw this.corrupt(what, blockAt, `a symlink target of ${len} bytes is longer than ${MAX_LINK}`);
        const target = Buffer.from(cur.take(len));
        // The extended symlink's xattr index follows the target (squashfs_fs.h squashfs_symlink_inode).
        const xattr = type === InodeType.LSYMLINK ? new DataView(cur.take(4).slice().buffer).getUint32(0, true) : INVALID_XATTR;
        return { ...common, size: len, target, xattr };
      }
      case InodeType.BLKDEV: case InodeType.CHRDEV: {
        const rdev = n('rdev');
        // squashfs_fs.h: major in bits 8-19, minor in bits 0-7 and 20-31 (new_encode_dev).
        return { ...common, size: 0, rdev: { major: (rdev >>> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >>> 12) & 0xfff00) } };
      }
      default: return { ...common, size: 0 };
    }
  }

  /** An owner's index into the id table, as the id. */
  private id(index: number, from: { structure: string; at: number }): number {
    const b = this.ids.entry(index, from);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }

  list(dir: FsNode): FsDirEntry[] {
    const n = dir as SqNode;
    if (n.kind !== 'dir' || !n.dir || n.dir.length === 0) return [];
    const what = `squashfs directory of inode ${n.id}`;
    if (n.dir.block > this.end || n.dir.offset >= METADATA_SIZE) throw this.corrupt(what, n.blockAt, `listing at block ${n.dir.block} offset ${n.dir.offset} is outside the directory table`);
    const cur = this.meta.cursor(this.dirTable + n.dir.block, n.dir.offset, 'squashfs directory table');
    const out: FsDirEntry[] = [];
    let left = n.dir.length;
    while (left > 0) {
      if (left < DirHeader.size) throw this.corrupt(what, cur.at, `${left} bytes left in the listing, too few for a header`);
      const h = DirHeader.decode(cur.take(DirHeader.size));
      left -= DirHeader.size;
      const count = (h.count as number) + 1;
      if (count > DIR_COUNT) throw this.corrupt(what, cur.at, `a directory header of ${count} entries (at most ${DIR_COUNT})`);
      for (let i = 0; i < count; i++) {
        if (left < DirEntry.size) throw this.corrupt(what, cur.at, 'an entry runs past the listing');
        const e = DirEntry.decode(cur.take(DirEntry.size));
        const nameLen = (e.size as number) + 1;
        if (nameLen > NAME_LEN || DirEntry.size + nameLen > left) throw this.corrupt(what, cur.at, `a name of ${nameLen} bytes runs past the listing or is longer than ${NAME_LEN}`);
        const at = cur.at;
        const name = Buffer.from(cur.take(nameLen));
        left -= DirEntry.size + nameLen;
        if (name.includes(0x2f) || name.includes(0) || name.equals(DOT) || name.equals(DOTDOT)) throw this.corrupt(what, at, `the name ${JSON.stringify(name.toString('latin1'))}`);
        const ref = (BigInt(h.start_block as number) << 16n) | BigInt(e.offset as number);
        const node = this.inodeAt(ref, { structure: what, at });
        const type = e.type as number;
        if (KINDS[type] !== node.kind) throw this.corrupt(what, at, `entry ${JSON.stringify(name.toString('latin1'))} says type ${type}, its inode is a ${node.kind}`);
        out.push({ name, node });
      }
    }
    return out;
  }

  readlink(link: FsNode): Buffer {
    return Buffer.from((link as SqNode).target ?? Buffer.alloc(0));
  }

  /** A regular file's block list: stored sizes and their starts in the filesystem (the last file asked for kept). */
  private layout(n: SqNode): Layout {
    if (this.layoutCache?.id === n.id) return this.layoutCache;
    const what = `squashfs inode ${n.id}`;
    const B = this.blockSize;
    const hasFragment = n.fragment !== INVALID_FRAG;
    const count = hasFragment ? Math.floor(n.size / B) : Math.ceil(n.size / B);
    if (count > MAX_FILE_BLOCKS) throw new DiskwrightError('E_IMAGE_UNSUPPORTED', `${this.place.image}: ${what} at offset ${this.place.base + n.blockAt}: a file of ${count} blocks (this reader holds at most ${MAX_FILE_BLOCKS})`, { value: this.place.image });
    const cur = this.meta.cursor(n.list!.blockAt, n.list!.offset, 'squashfs inode table');
    const raw = cur.take(4 * count);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const sizes = new Uint32Array(count), starts = new Float64Array(count);
    let pos = n.start!;
    for (let i = 0; i < count; i++) {
      const s = dv.getUint32(4 * i, true);
      const len = s & ~COMPRESSED_BIT_BLOCK;
      if (len > B || s & ~(COMPRESSED_BIT_BLOCK | (2 * B - 1))) throw this.corrupt(what, n.blockAt, `block ${i} has size 0x${s.toString(16)}, larger than the ${B}-byte block`);
      if (pos + len > this.end) throw this.corrupt(what, n.blockAt, `block ${i} at ${pos} runs past the ${this.end} bytes used`);
      sizes[i] = s;
      starts[i] = pos;
      pos += len;
    }
    this.layoutCache = { id: n.id, sizes, starts };
    return this.layoutCache;
  }

  /** A stored block at `at` of `size` (bit 24: stored as is) that decodes to `expect` bytes (cached). */
  private dataBlock(at: number, size: number, expect: number, what: string): Uint8Array {
    const hit = this.blockCache.get(at);
    if (hit && hit.length === expect) return hit;
    const len = size & ~COMPRESSED_BIT_BLOCK;
    const raw = this.raw(at, len, what);
    let data: Uint8Array;
    if (size & COMPRESSED_BIT_BLOCK) data = raw;
    else {
      try {
        data = this.decode(raw, this.blockSize);
      } catch (e) {
        throw this.corrupt(what, at, `data block does not decompress: ${(e as Error).message}`);
      }
    }
    if (data.length !== expect) throw this.corrupt(what, at, `data block holds ${data.length} bytes where ${expect} belong`);
    if (this.blockCache.size >= 8) this.blockCache.clear();
    this.blockCache.set(at, data);
    return data;
  }

  /** The tail of a file kept in a fragment block. */
  private tail(n: SqNode, length: number): Uint8Array {
    const what = `squashfs inode ${n.id}`;
    const e = FragmentEntry.decode(this.fragments.entry(n.fragment!, { structure: what, at: n.blockAt }));
    const start = safeNumber(e.start_block) ?? -1, size = e.size as number;
    const len = size & ~COMPRESSED_BIT_BLOCK;
    if (start < 0 || len > this.blockSize || start + len > this.end || size & ~(COMPRESSED_BIT_BLOCK | (2 * this.blockSize - 1))) throw this.corrupt('squashfs fragment entry', 0, `fragment ${n.fragment} (start ${String(e.start_block)}, size 0x${size.toString(16)}) is outside the filesystem or larger than a block`);
    const hit = this.blockCache.get(start);
    let data = hit;
    if (!data) {
      const raw = this.raw(start, len, 'squashfs fragment block');
      if (size & COMPRESSED_BIT_BLOCK) data = raw;
      else {
        try {
          data = this.decode(raw, this.blockSize);
        } catch (err) {
          throw this.corrupt('squashfs fragment block', start, `does not decompress: ${(err as Error).message}`);
        }
      }
      if (this.blockCache.size >= 8) this.blockCache.clear();
      this.blockCache.set(start, data);
    }
    const o = n.fragOffset!;
    if (o + length > data.length) throw this.corrupt(what, n.blockAt, `its tail of ${length} bytes at ${o} runs past the ${data.length}-byte fragment ${n.fragment}`);
    return data.subarray(o, o + length);
  }

  read(file: FsNode, offset: number, length: number): Uint8Array {
    const n = file as SqNode;
    const end = Math.min(n.size, offset + length);
    if (n.kind !== 'file' || offset >= end) return new Uint8Array(0);
    const B = this.blockSize;
    const out = new Uint8Array(end - offset);
    const lay = this.layout(n);
    for (let i = Math.floor(offset / B); i * B < end; i++) {
      const bs = i * B, be = Math.min(n.size, bs + B);
      const s = Math.max(bs, offset), e = Math.min(be, end);
      let data: Uint8Array;
      if (i < lay.sizes.length) {
        if (lay.sizes[i] === 0) continue; // a hole
        data = this.dataBlock(lay.starts[i]!, lay.sizes[i]!, be - bs, `squashfs data of inode ${n.id}`);
      } else data = this.tail(n, be - bs);
      out.set(data.subarray(s - bs, e - bs), s - offset);
    }
    return out;
  }

  dataRanges(file: FsNode): [number, number][] {
    const n = file as SqNode;
    if (n.kind !== 'file' || n.size === 0) return [];
    const B = this.blockSize;
    const lay = this.layout(n);
    const out: [number, number][] = [];
    const push = (s: number, e: number): void => {
      const last = out[out.length - 1];
      if (last && last[1] === s) last[1] = e; else out.push([s, e]);
    };
    for (let i = 0; i < lay.sizes.length; i++) if (lay.sizes[i] !== 0) push(i * B, Math.min(n.size, (i + 1) * B));
    if (lay.sizes.length * B < n.size) push(lay.sizes.length * B, n.size);
    return out;
  }

  /** The xattr id table (squashfs.rst "Xattr table"), or undefined when the filesystem has none. */
  private xattrIds(): { start: number; ids: LookupTable } | undefined {
    if (this.xattrTable !== null) return this.xattrTable;
    const at = this.xattrIdTableAt;
    if (at === undefined) return (this.xattrTable = undefined);
    const t = XattrIdTable.decode(this.raw(at, XattrIdTable.size, 'squashfs xattr id table'));
    const start = safeNumber(t.xattr_table_start) ?? -1;
    if (start < 0 || start >= this.end) throw this.corrupt('squashfs xattr id table', at, `xattr_table_start ${String(t.xattr_table_start)} is outside the ${this.end} bytes used`);
    this.xattrTable = { start, ids: new LookupTable(this.meta, this.ctx, at + XattrIdTable.size, t.xattr_ids as number, XattrId.size, 'squashfs xattr id table') };
    return this.xattrTable;
  }

  xattrs(node: FsNode): Xattr[] {
    const n = node as SqNode;
    if (n.xattr === INVALID_XATTR) return [];
    const what = `squashfs inode ${n.id}`;
    const table = this.xattrIds();
    if (!table) throw this.corrupt(what, n.blockAt, `xattr index ${n.xattr} but the filesystem has no xattr table`);
    const id = XattrId.decode(table.ids.entry(n.xattr, { structure: what, at: n.blockAt }));
    const count = id.count as number;
    const cur = this.cursorAt(table.start, id.xattr, 'squashfs xattr table');
    const out: Xattr[] = [];
    for (let i = 0; i < count; i++) {
      const e = XattrEntry.decode(cur.take(XattrEntry.size));
      const type = e.type as number;
      const name = Buffer.from(cur.take(e.size as number)).toString('utf8');
      const prefix = XATTR_PREFIX[type & 0xff];
      if (prefix === undefined) throw this.corrupt('squashfs xattr table', cur.at, `xattr type ${type} names no namespace`);
      let vsize = XattrVal.decode(cur.take(XattrVal.size)).vsize as number;
      let value: Uint8Array;
      if (type & XATTR_VALUE_OOL) {
        // The value is a reference (u64) to a squashfs_xattr_val elsewhere in the table.
        if (vsize !== 8) throw this.corrupt('squashfs xattr table', cur.at, `an out-of-line value reference of ${vsize} bytes`);
        const ref = new DataView(cur.take(8).slice().buffer).getBigUint64(0, true);
        const at = this.cursorAt(table.start, ref, 'squashfs xattr table');
        vsize = XattrVal.decode(at.take(XattrVal.size)).vsize as number;
        if (vsize > XATTR_SIZE_MAX) throw this.corrupt('squashfs xattr table', at.at, `a value of ${vsize} bytes is larger than ${XATTR_SIZE_MAX}`);
        value = at.take(vsize).slice();
      } else {
        if (vsize > XATTR_SIZE_MAX) throw this.corrupt('squashfs xattr table', cur.at, `a value of ${vsize} bytes is larger than ${XATTR_SIZE_MAX}`);
        value = cur.take(vsize).slice();
      }
      out.push({ name: prefix + name, value });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** A cursor at metadata reference `ref` (block relative to `tableStart` << 16 | offset). */
  private cursorAt(tableStart: number, ref: DecodedValue, structure: string): MetaCursor {
    const r = typeof ref === 'bigint' ? ref : BigInt(ref as number);
    const block = r >> 16n, offset = Number(r & 0xffffn);
    if (block > BigInt(this.end) || offset >= METADATA_SIZE) throw this.corrupt(structure, tableStart, `reference 0x${r.toString(16)} is outside the table`);
    return this.meta.cursor(tableStart + Number(block), offset, structure);
  }
}

const DOT = Buffer.from('.'), DOTDOT = Buffer.from('..');

/** Each inode type's declaration (squashfs_fs.h). */
const STRUCTS: Record<number, Struct<string, string>> = {
  [InodeType.DIR]: DirInode, [InodeType.REG]: RegInode, [InodeType.SYMLINK]: SymlinkInode, [InodeType.BLKDEV]: DevInode, [InodeType.CHRDEV]: DevInode,
  [InodeType.FIFO]: IpcInode, [InodeType.SOCKET]: IpcInode, [InodeType.LDIR]: LDirInode, [InodeType.LREG]: LRegInode, [InodeType.LSYMLINK]: SymlinkInode,
  [InodeType.LBLKDEV]: LDevInode, [InodeType.LCHRDEV]: LDevInode, [InodeType.LFIFO]: LIpcInode, [InodeType.LSOCKET]: LIpcInode,
} as unknown as Record<number, Struct<string, string>>;
