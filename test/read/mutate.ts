/**
 * Seeded mutations of a valid image for the read-side fuzz test: truncations (to 0..511 bytes and
 * anywhere), bytes flipped in the structures that matter (located through the writers' own struct
 * declarations: headers, tables, allocation maps, superblocks, boot sectors), header fields set to
 * extreme values, and loops and duplicates in the allocation tables (qcow2 L1/L2, VHD BAT, VDI
 * block map, VMDK grain directory and tables).
 */
import { Qcow2Header, L1E_OFFSET_MASK } from '../../src/container/qcow2/format.js';
import { VdiHeader, VDI_SIGNATURE } from '../../src/container/vdi.js';
import { VhdDynamicHeader, VhdFooter } from '../../src/container/vhd.js';
import { GD_AT_END, SparseExtentHeader, SPARSE_MAGICNUMBER } from '../../src/container/vmdk.js';
import { BootSector16, BootSector32, DirEntry as FatDirEntry, LfnEntry } from '../../src/fs/fat/bootsector.js';
import { DirEntry } from '../../src/fs/ext4/dir.js';
import { ExtentHeader, ExtentLeaf } from '../../src/fs/ext4/extent.js';
import { GroupDesc } from '../../src/fs/ext4/group.js';
import { Inode } from '../../src/fs/ext4/inode.js';
import { EXT4_SUPER_MAGIC, Superblock } from '../../src/fs/ext4/superblock.js';
import { GptEntry, GptHeader } from '../../src/table/gpt.js';
import { MbrPartitionRecord } from '../../src/table/mbr.js';
import { bigIntOf, type Struct } from '../../src/util/struct.js';
import type { Prng } from '../helpers/prng.js';

/** A named byte range of the image worth damaging. */
export interface Region { name: string; offset: number; length: number }
/** A struct instance in the image whose fields can be set to extreme values. */
interface Placed { struct: Struct<string, string>; offset: number }

export interface Anatomy {
  regions: Region[];
  structs: Placed[];
  /** 8- or 4-byte table entries (offset, size, endianness) where loops and duplicates go. */
  tables: { name: string; offset: number; count: number; entry: 4 | 8; le: boolean; pointsTo: bigint[] }[];
}

const clampRegion = (size: number, r: Region): Region | undefined => {
  const offset = Math.max(0, Math.min(r.offset, size));
  const length = Math.max(0, Math.min(r.length, size - offset));
  return length > 0 ? { name: r.name, offset, length } : undefined;
};

/** Where the structures are in `img` (a raw disk or one of the containers). */
export function anatomy(img: Buffer, kind: 'raw' | 'qcow2' | 'vhd' | 'vhdfixed' | 'vdi' | 'vmdk' | 'stream'): Anatomy {
  const a: Anatomy = { regions: [], structs: [], tables: [] };
  const size = img.length;
  const add = (name: string, offset: number, length: number): void => { const r = clampRegion(size, { name, offset, length }); if (r) a.regions.push(r); };
  add('head', 0, 4096);
  add('tail', size - 4096, 4096);
  if (kind === 'raw') {
    a.structs.push({ struct: GptHeader, offset: 512 });
    for (let i = 0; i < 4; i++) a.structs.push({ struct: MbrPartitionRecord, offset: 446 + 16 * i });
    const gptEntries = 1024;
    for (let i = 0; i < 2; i++) a.structs.push({ struct: GptEntry, offset: gptEntries + 128 * i });
    add('GPT entries', gptEntries, 16384);
    // Partitions as the MBR or GPT says (the base images are well formed): their first 1 MiB, in
    // non-zero 4 KiB blocks (metadata: superblocks, group descriptors, bitmaps, inode tables, FATs, directories).
    for (const [start, end] of partitionStarts(img)) {
      a.structs.push({ struct: Superblock as unknown as Struct<string, string>, offset: start + 1024 });
      a.structs.push({ struct: BootSector16, offset: start }, { struct: BootSector32, offset: start });
      for (let b = start; b < Math.min(size, end); b += 4096) {
        if (img.subarray(b, b + 4096).some((x) => x !== 0)) add(`metadata block at ${b}`, b, 4096);
      }
      ext4Structs(img, start, a);
      fatStructs(img, start, a);
    }
  } else if (kind === 'qcow2') {
    a.structs.push({ struct: Qcow2Header, offset: 0 });
    const h = Qcow2Header.decode(img);
    const cs = 2 ** (h.cluster_bits as number);
    const l1 = Number(h.l1_table_offset), l1n = h.l1_size as number;
    add('qcow2 L1 table', l1, l1n * 8);
    add('qcow2 refcount table', Number(h.refcount_table_offset), cs);
    const l2s: bigint[] = [];
    for (let i = 0; i < l1n; i++) {
      const l2 = img.readBigUInt64BE(l1 + 8 * i) & L1E_OFFSET_MASK;
      if (l2 === 0n) continue;
      l2s.push(l2);
      add(`qcow2 L2 table ${i}`, Number(l2), cs);
      a.tables.push({ name: `qcow2 L2 table ${i}`, offset: Number(l2), count: cs / 8, entry: 8, le: false, pointsTo: [BigInt(l1), 0n, l2, BigInt(size - 512), BigInt(size) * 4n] });
    }
    a.tables.push({ name: 'qcow2 L1 table', offset: l1, count: l1n, entry: 8, le: false, pointsTo: [BigInt(l1), 0n, ...l2s, BigInt(Number(h.refcount_table_offset))] });
  } else if (kind === 'vhd' || kind === 'vhdfixed') {
    a.structs.push({ struct: VhdFooter, offset: size - 512 });
    if (kind === 'vhd') {
      a.structs.push({ struct: VhdFooter, offset: 0 });
      const dh = Number(VhdFooter.decode(img).data_offset);
      a.structs.push({ struct: VhdDynamicHeader, offset: dh });
      const d = VhdDynamicHeader.decode(img, dh);
      const bat = Number(d.table_offset), n = d.max_table_entries as number;
      add('VHD BAT', bat, n * 4);
      a.tables.push({ name: 'VHD BAT', offset: bat, count: n, entry: 4, le: false, pointsTo: [0n, BigInt(bat / 512), BigInt(dh / 512), BigInt(size / 512 - 1), 0x7fffffffn, 0xfffffffen] });
    }
  } else if (kind === 'vdi') {
    if (img.readUInt32LE(0x40) === VDI_SIGNATURE) {
      a.structs.push({ struct: VdiHeader, offset: 0 });
      const h = VdiHeader.decode(img);
      const map = h.offBlocks as number, n = h.cBlocks as number;
      add('VDI block map', map, n * 4);
      a.tables.push({ name: 'VDI block map', offset: map, count: n, entry: 4, le: true, pointsTo: [0n, 1n, BigInt(n - 1), BigInt(n), 0xfffffffen, 0x7fffffffn] });
    }
  } else {
    // VMDK: the header, and for a stream the footer 1 KiB from the end, which names the directory.
    const hdrAt = kind === 'stream' ? size - 1024 : 0;
    a.structs.push({ struct: SparseExtentHeader, offset: 0 });
    if (kind === 'stream') a.structs.push({ struct: SparseExtentHeader, offset: hdrAt });
    const h = SparseExtentHeader.decode(img, hdrAt);
    if (h.magicNumber === SPARSE_MAGICNUMBER && bigIntOf(h.gdOffset) !== GD_AT_END) {
      const gd = Number(h.gdOffset) * 512;
      const gtes = h.numGTEsPerGT as number;
      const gdn = Math.ceil(Number(h.capacity) / (h.grainSize as number) / gtes);
      add('VMDK grain directory', gd, gdn * 4);
      a.tables.push({ name: 'VMDK grain directory', offset: gd, count: gdn, entry: 4, le: true, pointsTo: [0n, 1n, BigInt(gd / 512), BigInt(hdrAt / 512), 0xffffffffn] });
      for (let i = 0; i < gdn; i++) {
        const gt = img.readUInt32LE(gd + 4 * i) * 512;
        if (gt === 0 || gt + gtes * 4 > size) continue;
        add(`VMDK grain table ${i}`, gt, gtes * 4);
        a.tables.push({ name: `VMDK grain table ${i}`, offset: gt, count: gtes, entry: 4, le: true, pointsTo: [1n, 2n, BigInt(gt / 512), BigInt(gd / 512), BigInt(hdrAt / 512), 0xffffffffn] });
      }
    }
  }
  return a;
}

/** Partition ranges (bytes) from the GPT, else the MBR, of a well-formed base image. */
function partitionStarts(img: Buffer): [number, number][] {
  if (img.subarray(512, 520).toString('latin1') === 'EFI PART') {
    const out: [number, number][] = [];
    for (let i = 0; i < 128; i++) {
      const e = 1024 + 128 * i;
      if (img.subarray(e, e + 16).some((x) => x !== 0)) out.push([Number(img.readBigUInt64LE(e + 0x20)) * 512, (Number(img.readBigUInt64LE(e + 0x28)) + 1) * 512]);
    }
    return out;
  }
  const out: [number, number][] = [];
  for (let i = 0; i < 4; i++) {
    const r = 446 + 16 * i;
    if (img[r + 4]) out.push([img.readUInt32LE(r + 8) * 512, (img.readUInt32LE(r + 8) + img.readUInt32LE(r + 12)) * 512]);
  }
  return out;
}

/**
 * In an ext4 partition: the first group descriptor, the first inodes (root, lost+found and the
 * tree's first files), their extent roots and first extents, and the root directory's first
 * entries, through the writer's declarations.
 */
function ext4Structs(img: Buffer, start: number, a: Anatomy): void {
  const sb = Superblock.decode(img, start + 1024);
  if (sb.s_magic !== EXT4_SUPER_MAGIC) return;
  const B = 1024 << (sb.s_log_block_size as number);
  const gdAt = start + ((sb.s_first_data_block as number) + 1) * B;
  a.structs.push({ struct: GroupDesc as unknown as Struct<string, string>, offset: gdAt });
  const table = start + Number(GroupDesc.decode(img, gdAt).bg_inode_table) * B;
  const isize = sb.s_inode_size as number;
  for (const ino of [2, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]) {
    const at = table + (ino - 1) * isize;
    a.structs.push({ struct: Inode as unknown as Struct<string, string>, offset: at });
    a.structs.push({ struct: ExtentHeader, offset: at + Inode.offsetOf('i_block') });
    a.structs.push({ struct: ExtentLeaf as unknown as Struct<string, string>, offset: at + Inode.offsetOf('i_block') + ExtentHeader.size });
  }
  const rootAt = table + isize;
  const leaf = ExtentLeaf.decode(img, rootAt + Inode.offsetOf('i_block') + ExtentHeader.size);
  const dirAt = start + Number(leaf.ee_start) * B;
  for (let o = 0, k = 0; o < B && k < 8; k++) {
    a.structs.push({ struct: DirEntry, offset: dirAt + o });
    const rec = img.readUInt16LE(dirAt + o + 4);
    if (rec === 0) break;
    o += rec;
  }
}

/** In a FAT partition: the first entries of its root directory (short and long). */
function fatStructs(img: Buffer, start: number, a: Anatomy): void {
  const bs = BootSector16.decode(img, start);
  if (bs.Signature_word !== 0xaa55 || (bs.BPB_FATSz16 as number) === 0) return;
  const bps = bs.BPB_BytsPerSec as number;
  const root = start + ((bs.BPB_RsvdSecCnt as number) + (bs.BPB_NumFATs as number) * (bs.BPB_FATSz16 as number)) * bps;
  for (let i = 0; i < 8; i++) a.structs.push({ struct: FatDirEntry, offset: root + 32 * i }, { struct: LfnEntry, offset: root + 32 * i });
}

const EXTREMES = [0n, 1n, 2n, 0x7fn, 0xffn, 0x7fffn, 0xffffn, 0x7fffffffn, 0xffffffffn, 1n << 40n, 1n << 62n, (1n << 63n) - 1n, (1n << 64n) - 1n];

/** The largest value a scalar field holds, or undefined for byte fields and arrays. */
function maxOf(kind: unknown): bigint | undefined {
  switch (kind) {
    case 'u8': return 0xffn;
    case 'u16le': case 'u16be': case 'u16both': return 0xffffn;
    case 'u32le': case 'u32be': case 'u32both': return 0xffffffffn;
    case 'u64le': case 'u64be': return (1n << 64n) - 1n;
    default: return undefined;
  }
}

export interface Mutation { what: string; bytes: Buffer }

/** One seeded mutation of `base` (whose structures are `a`). */
export function mutate(base: Buffer, a: Anatomy, rand: Prng): Mutation {
  const pick = <T>(xs: readonly T[]): T => xs[rand.int(xs.length)]!;
  const op = rand.int(10);
  if (op === 0) {
    const n = rand.int(512);
    return { what: `truncated to ${n} bytes`, bytes: base.subarray(0, n) };
  }
  if (op === 1) {
    const r = a.regions.length ? pick(a.regions) : { name: 'anywhere', offset: 0, length: base.length };
    const n = Math.min(base.length - 1, r.offset + rand.int(r.length));
    return { what: `truncated to ${n} bytes (inside ${r.name})`, bytes: base.subarray(0, n) };
  }
  const b = Buffer.from(base);
  if (op <= 4 && a.regions.length) {
    const r = pick(a.regions);
    const k = 1 + rand.int(16);
    for (let i = 0; i < k; i++) b[r.offset + rand.int(r.length)] = rand.int(256);
    return { what: `${k} bytes changed in ${r.name}`, bytes: b };
  }
  if (op <= 7 && a.structs.length) {
    const s = pick(a.structs);
    const fields = s.struct.fields.filter((f) => maxOf(f.kind) !== undefined);
    const f = pick(fields);
    const max = maxOf(f.kind)!;
    let v = pick(EXTREMES);
    if (v > max) v = rand.int(2) ? max : v & max;
    if (rand.int(4) === 0) v = BigInt(rand.int(2) ? base.length : base.length + 512 * (rand.int(3) - 1)) & max;
    if (s.offset + s.struct.size > b.length) return { what: 'unchanged (struct past the end)', bytes: b };
    s.struct.encode({ [f.name]: v }, b, s.offset);
    return { what: `${s.struct.name} at ${s.offset}: ${f.name} = ${v}`, bytes: b };
  }
  if (a.tables.length) {
    const t = pick(a.tables);
    const get = (i: number): bigint => (t.entry === 8 ? (t.le ? b.readBigUInt64LE(t.offset + 8 * i) : b.readBigUInt64BE(t.offset + 8 * i)) : BigInt(t.le ? b.readUInt32LE(t.offset + 4 * i) : b.readUInt32BE(t.offset + 4 * i)));
    const set = (i: number, v: bigint): void => {
      const at = t.offset + t.entry * i;
      if (at + t.entry > b.length) return;
      if (t.entry === 8) { if (t.le) b.writeBigUInt64LE(v & ((1n << 64n) - 1n), at); else b.writeBigUInt64BE(v & ((1n << 64n) - 1n), at); } else if (t.le) b.writeUInt32LE(Number(v & 0xffffffffn), at); else b.writeUInt32BE(Number(v & 0xffffffffn), at);
    };
    const used = [...Array(t.count).keys()].filter((i) => t.offset + t.entry * (i + 1) <= b.length && get(i) !== 0n && get(i) !== 0xffffffffn);
    const flag = t.entry === 8 ? 1n << 63n : 0n;
    const kind = rand.int(3);
    if (kind === 0 && used.length) {
      // Every entry the same: one cluster/block/table mapped at every guest offset.
      const v = get(pick(used));
      for (let i = 0; i < t.count; i++) set(i, v);
      return { what: `${t.name}: every entry = ${v}`, bytes: b };
    }
    if (kind === 1) {
      // Entries pointing back into the metadata (the table itself, a header, the footer) or far away.
      const k = 1 + rand.int(4);
      const target = pick(t.pointsTo);
      for (let i = 0; i < k; i++) set(used.length ? pick(used) : rand.int(t.count), target | flag);
      return { what: `${t.name}: ${k} entries = ${target}`, bytes: b };
    }
    // Two entries swapped and one duplicated: out-of-order and aliased mappings.
    if (used.length >= 2) {
      const i = pick(used), j = pick(used);
      const vi = get(i), vj = get(j);
      set(i, vj); set(j, vi); set(rand.int(t.count), vi);
      return { what: `${t.name}: entries ${i} and ${j} swapped, ${vi} duplicated`, bytes: b };
    }
  }
  const at = rand.int(b.length);
  b[at] ^= 1 << rand.int(8);
  return { what: `one bit flipped at ${at}`, bytes: b };
}
