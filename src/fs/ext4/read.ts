/**
 * The ext2/3/4 reader (ext4 docs: super.rst, group_descr.rst, inodes.rst, ifork.rst,
 * directory.rst, attributes.rst), decoding with the writer's declarations (Superblock, GroupDesc,
 * Inode, DirEntry): superblock and group descriptors checked when opened, inodes read on demand,
 * file data through extent trees or block maps (read-map.ts) with holes and unwritten extents as
 * zeros, inline data, fast and slow symlinks, devices, xattrs (read-xattr.ts). Directories, hashed
 * (htree) or not, are read as linear entries: an htree's index blocks are entries spanning their
 * block with inode 0 (directory.rst "Hash Tree Directories": kept readable by code unaware of the
 * tree), so every name is found by a scan.
 */
import type { DirEntry as FsDirEntry, FsNode, FsPlace, FsReader, ReadSource } from '../../inspect/fsread.js';
import type { NodeKind, Timestamp, Xattr } from '../../tree/model.js';
import { DiskwrightError } from '../../errors.js';
import { safeNumber, type DecodedValue } from '../../util/struct.js';
import { DirEntry } from './dir.js';
import { GroupDesc } from './group.js';
import { EXT4_EXTENTS_FL, I_BLOCK, I_BLOCK_SIZE, Inode } from './inode.js';
import { blockMapRuns, extentRuns, type BlockRun, type MapContext } from './read-map.js';
import { Ext4Checksums } from './read-csum.js';
import { regionXattrs, type XattrContext } from './read-xattr.js';
import { EXT4_SUPER_MAGIC, INCOMPAT_64BIT, Superblock } from './superblock.js';

const INCOMPAT_INLINE_DATA = 0x8000;
/** Incompatible features this reader understands (ext2_fs.h EXT4_FEATURE_INCOMPAT_*): filetype, recover, extents, 64bit, mmp, flex_bg, ea_inode, csum_seed, largedir, inline_data, casefold. */
const INCOMPAT_KNOWN = 0x2 | 0x4 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x2000 | 0x4000 | INCOMPAT_INLINE_DATA | 0x20000;
const EXT4_INLINE_DATA_FL = 0x10000000;
const ROOT_INO = 2;
const KINDS: Record<number, NodeKind> = { 0x1: 'fifo', 0x2: 'char', 0x4: 'dir', 0x6: 'block', 0x8: 'file', 0xa: 'symlink', 0xc: 'socket' };
const SB = 'ext4 superblock';
/** The longest symlink target read (PATH_MAX). */
const MAX_LINK = 4096;

interface Ext4Node extends FsNode {
  /** The inode's bytes (padded to the 256-byte declaration) and where they are in the filesystem. */
  readonly raw: Uint8Array;
  readonly at: number;
  readonly flags: number;
  readonly fileAcl: number;
  readonly extra: number;
}

export class Ext4Reader implements FsReader {
  readonly type = 'ext4';
  readonly keeps = { owners: true, modes: true, links: true, xattrs: true, devices: true, timeGranularityNs: 1 };
  readonly blockSize: number;
  readonly blocksCount: number;
  private readonly inodeSize: number;
  private readonly inodesPerGroup: number;
  private readonly inodesCount: number;
  private readonly groups: number;
  private readonly descSize: number;
  private readonly gdtAt: number;
  private readonly hasExtra: boolean;
  private readonly map: MapContext;
  private runsCache: { id: number; runs: BlockRun[] } | undefined;
  /** metadata_csum checks (read-csum.ts), when the filesystem has them. */
  private readonly csum: Ext4Checksums | undefined;

  constructor(private readonly src: ReadSource, private readonly place: FsPlace) {
    const sbBytes = this.bytes(1024, Superblock.size, SB);
    const sb = Superblock.decode(sbBytes);
    if (sb.s_magic !== EXT4_SUPER_MAGIC) throw this.corrupt(SB, 1024, 'no ext2/3/4 magic');
    const num = (field: string, min: number, max: number): number => {
      const v = safeNumber((sb as Record<string, DecodedValue>)[field]!);
      if (v === undefined || v < min || v > max) throw this.corrupt(SB, 1024, `${field} ${String((sb as Record<string, DecodedValue>)[field])} is not between ${min} and ${max}`);
      return v;
    };
    const log = num('s_log_block_size', 0, 6);
    const B = this.blockSize = 1024 << log;
    const incompat = sb.s_feature_incompat as number;
    if (incompat & ~INCOMPAT_KNOWN) {
      throw new DiskwrightError('E_IMAGE_UNSUPPORTED', `${place.image}: ext4 at offset ${place.base}: incompatible features 0x${(incompat & ~INCOMPAT_KNOWN).toString(16)} are not supported (meta_bg, encryption, compression or unknown)`, { value: place.image });
    }
    const is64 = (incompat & INCOMPAT_64BIT) !== 0;
    this.blocksCount = is64 ? num('s_blocks_count', 1, Number.MAX_SAFE_INTEGER) : num('s_blocks_count_lo', 1, 0xffffffff);
    const firstData = num('s_first_data_block', 0, B === 1024 ? 1 : 0);
    const bpg = num('s_blocks_per_group', 8, B * 8);
    this.inodesPerGroup = num('s_inodes_per_group', 1, B * 8);
    this.groups = Math.ceil((this.blocksCount - firstData) / bpg);
    this.inodesCount = num('s_inodes_count', ROOT_INO, this.groups * this.inodesPerGroup);
    const rev = sb.s_rev_level as number;
    this.inodeSize = rev === 0 ? 128 : num('s_inode_size', 128, B);
    if (this.inodeSize & (this.inodeSize - 1)) throw this.corrupt(SB, 1024, `s_inode_size ${this.inodeSize} is not a power of two`);
    this.hasExtra = this.inodeSize > 128;
    this.descSize = is64 ? num('s_desc_size', 64, 1024) : 32;
    if (this.descSize & (this.descSize - 1)) throw this.corrupt(SB, 1024, `s_desc_size ${this.descSize} is not a power of two`);
    this.gdtAt = (firstData + 1) * B;
    if (this.gdtAt + this.groups * this.descSize > this.blocksCount * B) throw this.corrupt(SB, 1024, `${this.groups} group descriptors do not fit in the filesystem`);
    this.csum = Ext4Checksums.of(sbBytes, (s, o, w) => this.corrupt(s, o, w));
    this.map = {
      blockSize: B, blocksCount: this.blocksCount,
      block: (pblk, structure) => this.bytes(pblk * B, B, structure),
      corrupt: (structure, offset, what) => this.corrupt(structure, offset, what),
    };
  }

  /** E_IMAGE_CORRUPT naming the image, the structure and its byte offset in the disk. */
  private corrupt(structure: string, offset: number, what: string): DiskwrightError {
    return new DiskwrightError('E_IMAGE_CORRUPT', `${this.place.image}: ${structure} at offset ${this.place.base + offset}: ${what}`, { value: this.place.image });
  }

  /** `length` bytes at `offset` of the filesystem, all inside the source, else E_IMAGE_CORRUPT. */
  private bytes(offset: number, length: number, structure: string): Uint8Array {
    const b = this.src.read(offset, length);
    if (b.length < length) throw this.corrupt(structure, offset, `its ${length} bytes run past the end of the ${this.src.size}-byte partition`);
    return b;
  }

  root(): FsNode { return this.inode(ROOT_INO); }

  where(node: FsNode): string { return `ext4 inode ${node.id} at offset ${this.place.base + this.node(node).at}`; }

  /** Inode `ino` (1-based), decoded. */
  inode(ino: number, from = { structure: 'ext4 superblock', at: 1024 }): Ext4Node {
    if (!Number.isInteger(ino) || ino < 1 || ino > this.inodesCount) throw this.corrupt(from.structure, from.at, `inode ${ino} is not between 1 and ${this.inodesCount}`);
    const g = Math.floor((ino - 1) / this.inodesPerGroup), index = (ino - 1) % this.inodesPerGroup;
    const descAt = this.gdtAt + g * this.descSize;
    const desc = new Uint8Array(GroupDesc.size);
    desc.set(this.bytes(descAt, Math.min(this.descSize, GroupDesc.size), 'ext4 group descriptor'));
    this.csum?.groupDesc(g, desc, this.descSize, descAt);
    const table = safeNumber(GroupDesc.decodeField(desc, 'bg_inode_table'));
    if (table === undefined || table === 0 || table + Math.ceil((this.inodesPerGroup * this.inodeSize) / this.blockSize) > this.blocksCount) {
      throw this.corrupt('ext4 group descriptor', descAt, `group ${g}: inode table at block ${String(GroupDesc.decodeField(desc, 'bg_inode_table'))} is outside the filesystem`);
    }
    const at = table * this.blockSize + index * this.inodeSize;
    const raw = new Uint8Array(Inode.size);
    raw.set(this.bytes(at, Math.min(this.inodeSize, Inode.size), `ext4 inode ${ino}`));
    const v = Inode.decode(raw);
    const modeBits = v.i_mode as number;
    const kind = KINDS[modeBits >> 12];
    if (!kind) throw this.corrupt(`ext4 inode ${ino}`, at, `i_mode 0${modeBits.toString(8)} names no file type`);
    const extra = this.hasExtra ? (v.i_extra_isize as number) : 0;
    if (extra > this.inodeSize - 128 || extra % 4) throw this.corrupt(`ext4 inode ${ino}`, at, `i_extra_isize ${extra} does not fit the ${this.inodeSize}-byte inode`);
    this.csum?.inode(ino, raw, this.inodeSize, extra, at);
    const size = kind === 'file' || kind === 'dir' || kind === 'symlink' ? safeNumber(v.i_size) : 0;
    if (size === undefined) throw this.corrupt(`ext4 inode ${ino}`, at, `i_size ${String(v.i_size)} is larger than 2^53`);
    /** A time with its extra word when i_extra_isize covers it (inodes.rst "Inode Timestamps"). */
    const time = (base: string, extraField: string): Timestamp => {
      const low = v[base as keyof typeof v] as number;
      const signed = low >= 0x8000_0000 ? low - 0x1_0000_0000 : low;
      if (128 + extra < Inode.offsetOf(extraField as Parameters<typeof Inode.offsetOf>[0]) + 4) return { sec: signed, nsec: 0 };
      const x = v[extraField as keyof typeof v] as number;
      return { sec: signed + (x & 3) * 0x1_0000_0000, nsec: Math.min(999_999_999, x >>> 2) };
    };
    const iblock = raw.subarray(I_BLOCK, I_BLOCK + I_BLOCK_SIZE);
    let rdev: { major: number; minor: number } | undefined;
    if (kind === 'char' || kind === 'block') {
      const dv = new DataView(iblock.buffer, iblock.byteOffset, 8);
      const old = dv.getUint32(0, true), neu = dv.getUint32(4, true);
      // fs/ext4/inode.c: old_decode_dev in i_block[0], else new_decode_dev in i_block[1].
      rdev = old ? { major: (old >> 8) & 0xff, minor: old & 0xff } : { major: (neu & 0xfff00) >>> 8, minor: (neu & 0xff) | ((neu >>> 12) & 0xfff00) };
    }
    return {
      id: ino, kind, mode: modeBits & 0o7777, uid: v.i_uid as number, gid: v.i_gid as number, size, nlink: v.i_links_count as number,
      mtime: time('i_mtime', 'i_mtime_extra'), atime: time('i_atime', 'i_atime_extra'), ctime: time('i_ctime', 'i_ctime_extra'),
      ...(rdev ? { rdev } : {}),
      raw, at, flags: v.i_flags as number, fileAcl: safeNumber(v.i_file_acl) ?? 0, extra,
    };
  }

  private node(n: FsNode): Ext4Node { return n as Ext4Node; }

  /** The block runs of a file, directory or slow symlink (the last one asked for kept). */
  private runs(n: Ext4Node): BlockRun[] {
    if (this.runsCache?.id === n.id) return this.runsCache.runs;
    const maxLblk = Math.ceil(n.size / this.blockSize);
    const iblock = n.raw.subarray(I_BLOCK, I_BLOCK + I_BLOCK_SIZE);
    const csum = this.csum, seed = csum?.inodeSeed(n.id, n.raw);
    // Extent tree blocks are checked against their tails as the walk reads them.
    const map: MapContext = csum ? {
      ...this.map,
      block: (pblk, structure) => {
        const b = this.map.block(pblk, structure);
        if (structure === 'ext4 extent block') csum.extentBlock(b, pblk * this.blockSize, seed!);
        return b;
      },
    } : this.map;
    const runs = n.flags & EXT4_EXTENTS_FL ? extentRuns(map, iblock, n.at + I_BLOCK, maxLblk) : blockMapRuns(map, iblock, n.at + I_BLOCK, maxLblk);
    // One file cannot own more blocks than the filesystem has: more means runs alias one another
    // (a small image posing as a huge file, read over and over).
    let mapped = 0;
    for (const r of runs) mapped += r.len;
    if (mapped > this.blocksCount) throw this.corrupt(`ext4 inode ${n.id}`, n.at, `maps ${mapped} blocks, more than the ${this.blocksCount} of the filesystem`);
    this.runsCache = { id: n.id, runs };
    return runs;
  }

  /** Inline data (ext4 docs inline_data.rst): i_block's 60 bytes, then the system.data xattr. */
  private inline(n: Ext4Node): Uint8Array {
    const head = n.raw.subarray(I_BLOCK, I_BLOCK + I_BLOCK_SIZE);
    const rest = this.xattrs(n, true).find((x) => x.name === 'system.data')?.value ?? new Uint8Array(0);
    const all = new Uint8Array(head.length + rest.length);
    all.set(head);
    all.set(rest, head.length);
    return all.subarray(0, Math.min(all.length, n.size));
  }

  read(file: FsNode, offset: number, length: number): Uint8Array {
    const n = this.node(file);
    const end = Math.min(n.size, offset + length);
    if (offset >= end) return new Uint8Array(0);
    if (n.flags & EXT4_INLINE_DATA_FL) return this.inline(n).slice(offset, end);
    const out = new Uint8Array(end - offset);
    const B = this.blockSize;
    for (const r of this.runs(n)) {
      const rs = r.lblk * B, re = Math.min(n.size, (r.lblk + r.len) * B);
      const s = Math.max(rs, offset), e = Math.min(re, end);
      if (s >= e || r.unwritten) continue;
      out.set(this.bytes(r.pblk * B + (s - rs), e - s, `ext4 data of inode ${n.id}`), s - offset);
    }
    return out;
  }

  dataRanges(file: FsNode): [number, number][] {
    const n = this.node(file);
    if (n.flags & EXT4_INLINE_DATA_FL) return n.size > 0 ? [[0, n.size]] : [];
    const out: [number, number][] = [];
    for (const r of this.runs(n)) {
      if (r.unwritten) continue;
      const s = r.lblk * this.blockSize, e = Math.min(n.size, (r.lblk + r.len) * this.blockSize);
      const last = out[out.length - 1];
      if (last && last[1] === s) last[1] = e; else if (e > s) out.push([s, e]);
    }
    return out;
  }

  readlink(link: FsNode): Buffer {
    const n = this.node(link);
    if (n.size > MAX_LINK) throw this.corrupt(`ext4 inode ${n.id}`, n.at, `a symlink target of ${n.size} bytes is longer than ${MAX_LINK}`);
    // A fast symlink keeps its target in i_block (ext2fs_is_fast_symlink).
    if (!(n.flags & (EXT4_EXTENTS_FL | EXT4_INLINE_DATA_FL)) && n.size < I_BLOCK_SIZE && this.runsOrEmpty(n)) return Buffer.from(n.raw.subarray(I_BLOCK, I_BLOCK + n.size));
    return Buffer.from(this.read(n, 0, n.size));
  }

  /** True when a block-mapped symlink maps no block (its target is in i_block). */
  private runsOrEmpty(n: Ext4Node): boolean {
    const blocks = new DataView(n.raw.buffer).getUint32(Inode.offsetOf('i_blocks_lo'), true);
    return blocks === 0 || (n.fileAcl !== 0 && blocks === this.blockSize / 512);
  }

  list(dir: FsNode): FsDirEntry[] {
    const n = this.node(dir);
    if (n.kind !== 'dir') return [];
    const out: FsDirEntry[] = [];
    if (n.flags & EXT4_INLINE_DATA_FL) {
      // The parent's inode number (4 bytes), then entries without "." and "..".
      const data = this.inline(n);
      this.entries(data.subarray(4), n.at + I_BLOCK + 4, out, `ext4 inline directory of inode ${n.id}`);
      return out;
    }
    const B = this.blockSize;
    for (const r of this.runs(n)) {
      for (let k = 0; k < r.len && (r.lblk + k) * B < n.size; k++) {
        if (r.unwritten) continue;
        const at = (r.pblk + k) * B;
        const block = this.bytes(at, B, `ext4 directory block of inode ${n.id}`);
        if (this.csum) this.csum.dirBlock(block, at, this.csum.inodeSeed(n.id, n.raw));
        this.entries(block, at, out, `ext4 directory block of inode ${n.id}`);
      }
    }
    return out;
  }

  /** The ext4_dir_entry_2 records of one directory block (or inline area) at `at`. */
  private entries(b: Uint8Array, at: number, out: FsDirEntry[], what: string): void {
    for (let o = 0; o + DirEntry.size <= b.length;) {
      const e = DirEntry.decode(b, o);
      const rec = e.rec_len as number, nameLen = e.name_len as number, ino = e.inode as number;
      // rec_len is at least the header, 4-aligned and inside the block: a zero would never end the scan.
      if (rec < 8 || rec % 4 || o + rec > b.length || 8 + nameLen > rec) throw this.corrupt(what, at + o, `rec_len ${rec} (name_len ${nameLen}) does not fit the block`);
      if (ino !== 0 && nameLen > 0) {
        const name = Buffer.from(b.subarray(o + 8, o + 8 + nameLen));
        if (!(nameLen === 1 && name[0] === 0x2e) && !(nameLen === 2 && name[0] === 0x2e && name[1] === 0x2e)) {
          if (name.includes(0x2f) || name.includes(0)) throw this.corrupt(what, at + o, `a name with "/" or NUL (${JSON.stringify(name.toString('latin1'))})`);
          out.push({ name, node: this.inode(ino, { structure: what, at: at + o }) });
        }
      }
      o += rec;
    }
  }

  xattrs(node: FsNode, withData = false): Xattr[] {
    const n = this.node(node);
    const ctx: XattrContext = {
      corrupt: (s, o, w) => this.corrupt(s, o, w),
      inodeValue: (ino, size, at) => {
        if (ino === n.id) throw this.corrupt('ext4 xattr entry', at, 'its value is in its own inode');
        const v = this.inode(ino, { structure: 'ext4 xattr entry', at });
        if (v.kind !== 'file' || v.size < size) throw this.corrupt('ext4 xattr entry', at, `value inode ${ino} does not hold ${size} bytes`);
        return this.read(v, 0, size);
      },
    };
    const out: Xattr[] = [];
    const bodyAt = 128 + n.extra;
    if (this.inodeSize > bodyAt) out.push(...regionXattrs(ctx, { bytes: this.bytes(n.at + bodyAt, this.inodeSize - bodyAt, `ext4 inode ${n.id}`), at: n.at + bodyAt, kind: 'ibody' }));
    if (n.fileAcl !== 0) {
      if (n.fileAcl >= this.blocksCount) throw this.corrupt(`ext4 inode ${n.id}`, n.at, `xattr block ${n.fileAcl} is outside the filesystem`);
      const at = n.fileAcl * this.blockSize;
      out.push(...regionXattrs(ctx, { bytes: this.bytes(at, this.blockSize, 'ext4 xattr block'), at, kind: 'block' }));
    }
    const shown = withData ? out : out.filter((x) => x.name !== 'system.data');
    return shown.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
