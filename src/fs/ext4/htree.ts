/**
 * Directory name hashing for htree indexes (ext4 docs directory.rst "Hash Tree Directories"; e2fsprogs
 * lib/ext2fs/dirhash.c). We write s_def_hash_version = half_md4 with the unsigned-char flag, so the
 * hash is half-MD4 over the name read as unsigned bytes, seeded with s_hash_seed.
 */
import { defineStruct } from '../../util/struct.js';
import { crc32cUpdate } from './checksum.js';

export const DX_HASH_HALF_MD4 = 1;

// Constants of the half-MD4 rounds (dirhash.c: K2 = 013240474631, K3 = 015666365641).
const K2 = 0x5a827999;
const K3 = 0x6ed9eba1;

const rotl = (x: number, s: number): number => ((x << s) | (x >>> (32 - s))) >>> 0;

function halfMd4Transform(buf: Uint32Array, inp: Uint32Array): void {
  let a = buf[0]!, b = buf[1]!, c = buf[2]!, d = buf[3]!;
  const F = (x: number, y: number, z: number): number => (z ^ (x & (y ^ z))) >>> 0;
  const G = (x: number, y: number, z: number): number => (((x & y) >>> 0) + (((x ^ y) & z) >>> 0)) >>> 0;
  const H = (x: number, y: number, z: number): number => (x ^ y ^ z) >>> 0;
  const r = (f: (x: number, y: number, z: number) => number, w: number, x: number, y: number, z: number, k: number, s: number): number =>
    rotl((w + f(x, y, z) + k) >>> 0, s);
  a = r(F, a, b, c, d, inp[0]!, 3); d = r(F, d, a, b, c, inp[1]!, 7); c = r(F, c, d, a, b, inp[2]!, 11); b = r(F, b, c, d, a, inp[3]!, 19);
  a = r(F, a, b, c, d, inp[4]!, 3); d = r(F, d, a, b, c, inp[5]!, 7); c = r(F, c, d, a, b, inp[6]!, 11); b = r(F, b, c, d, a, inp[7]!, 19);
  a = r(G, a, b, c, d, (inp[1]! + K2) >>> 0, 3); d = r(G, d, a, b, c, (inp[3]! + K2) >>> 0, 5); c = r(G, c, d, a, b, (inp[5]! + K2) >>> 0, 9); b = r(G, b, c, d, a, (inp[7]! + K2) >>> 0, 13);
  a = r(G, a, b, c, d, (inp[0]! + K2) >>> 0, 3); d = r(G, d, a, b, c, (inp[2]! + K2) >>> 0, 5); c = r(G, c, d, a, b, (inp[4]! + K2) >>> 0, 9); b = r(G, b, c, d, a, (inp[6]! + K2) >>> 0, 13);
  a = r(H, a, b, c, d, (inp[3]! + K3) >>> 0, 3); d = r(H, d, a, b, c, (inp[7]! + K3) >>> 0, 9); c = r(H, c, d, a, b, (inp[2]! + K3) >>> 0, 11); b = r(H, b, c, d, a, (inp[6]! + K3) >>> 0, 15);
  a = r(H, a, b, c, d, (inp[1]! + K3) >>> 0, 3); d = r(H, d, a, b, c, (inp[5]! + K3) >>> 0, 9); c = r(H, c, d, a, b, (inp[0]! + K3) >>> 0, 11); b = r(H, b, c, d, a, (inp[4]! + K3) >>> 0, 15);
  buf[0] = (buf[0]! + a) >>> 0; buf[1] = (buf[1]! + b) >>> 0; buf[2] = (buf[2]! + c) >>> 0; buf[3] = (buf[3]! + d) >>> 0;
}

/** dirhash.c str2hashbuf, unsigned variant: pack up to num*4 name bytes into num words, padded. */
function str2hashbuf(msg: Uint8Array, start: number, len: number, out: Uint32Array, num: number): void {
  let pad = (len | (len << 8)) >>> 0;
  pad = (pad | (pad << 16)) >>> 0;
  let val = pad;
  const n = Math.min(len, num * 4);
  let w = 0;
  for (let i = 0; i < n; i++) {
    val = (msg[start + i]! + ((val << 8) >>> 0)) >>> 0;
    if (i % 4 === 3) { out[w++] = val; val = pad; num--; }
  }
  if (--num >= 0) out[w++] = val;
  while (--num >= 0) out[w++] = pad;
}

const DEFAULT_BUF = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

/**
 * Major hash of `name` (low bit clear, never the end-of-directory value 0xfffffffe), as
 * ext2fs_dirhash2 computes it for half_md4 with unsigned chars. `seed` is s_hash_seed as 4 words.
 */
export function halfMd4Hash(name: Uint8Array, seed: Uint32Array): number {
  const buf = new Uint32Array(4);
  if (seed[0] || seed[1] || seed[2] || seed[3]) buf.set(seed); else buf.set(DEFAULT_BUF);
  const inp = new Uint32Array(8);
  let p = 0;
  let len = name.length;
  while (len > 0) {
    str2hashbuf(name, p, len, inp, 8);
    halfMd4Transform(buf, inp);
    len -= 32;
    p += 32;
  }
  let hash = (buf[1]! & ~1) >>> 0;
  if (hash === 0xfffffffe) hash = 0xfffffffc;
  return hash;
}

/** s_hash_seed bytes as the four little-endian words dirhash.c reads. */
export function seedWords(seed: Uint8Array): Uint32Array {
  const dv = new DataView(seed.buffer, seed.byteOffset, 16);
  return Uint32Array.from([0, 4, 8, 12].map((o) => dv.getUint32(o, true)));
}


/** dx_root_info, at byte 0x18 of block 0 (after the "." and ".." entries). */
export const DxRootInfo = defineStruct('dx_root_info', 8, [
  { name: 'reserved_zero', offset: 0x0, kind: 'u32le' },
  { name: 'hash_version', offset: 0x4, kind: 'u8' },
  { name: 'info_length', offset: 0x5, kind: 'u8' },
  { name: 'indirect_levels', offset: 0x6, kind: 'u8' },
  { name: 'unused_flags', offset: 0x7, kind: 'u8' },
]);

/** dx_countlimit overlays the first dx_entry's hash; its block field is that entry's block. */
export const DxCountLimit = defineStruct('dx_countlimit', 4, [
  { name: 'limit', offset: 0x0, kind: 'u16le' },
  { name: 'count', offset: 0x2, kind: 'u16le' },
]);

export const DxEntry = defineStruct('dx_entry', 8, [
  { name: 'hash', offset: 0x0, kind: 'u32le' },
  { name: 'block', offset: 0x4, kind: 'u32le' },
]);

export const DxTail = defineStruct('dx_tail', 8, [
  { name: 'dt_reserved', offset: 0x0, kind: 'u32le' },
  { name: 'dt_checksum', offset: 0x4, kind: 'u32le' },
]);

/** Byte offset of dx_root_info in a dx_root block, after the "." (12 bytes) and ".." entries (directory.rst "struct dx_root"). */
export const DX_ROOT_INFO_OFFSET = 0x18;
/** Byte offset of the count/limit header in a dx_root (after ".", ".." and dx_root_info) and a dx_node. */
export const DX_ROOT_COUNT_OFFSET = 0x20;
export const DX_NODE_COUNT_OFFSET = 0x8;

/** Entries that fit in a dx_root / dx_node block with the metadata_csum dx_tail. */
export const dxRootLimit = (blockSize: number): number => (blockSize - DX_ROOT_COUNT_OFFSET - DxTail.size) / DxEntry.size;
export const dxNodeLimit = (blockSize: number): number => (blockSize - DX_NODE_COUNT_OFFSET - DxTail.size) / DxEntry.size;

/** One index entry: children whose hashes start at `hash` live in logical block `block`. */
export interface DxRef {
  hash: number;
  block: number;
}

/**
 * Fill the index part of a dx_root or dx_node block (already holding its leading dirents) from
 * `countOffset`, then seal the dx_tail: crc32c(inode seed, block up to the last entry, dt_reserved,
 * zero checksum).
 */
export function writeDxEntries(block: Uint8Array, countOffset: number, refs: readonly DxRef[], limit: number, inodeSeed: number): void {
  DxCountLimit.encode({ limit, count: refs.length }, block, countOffset);
  DxEntry.encode({ block: refs[0]!.block }, block, countOffset);
  for (let i = 1; i < refs.length; i++) DxEntry.encode({ hash: refs[i]!.hash, block: refs[i]!.block }, block, countOffset + i * 8);
  const tail = countOffset + limit * 8;
  let c = crc32cUpdate(inodeSeed, block, 0, countOffset + refs.length * 8);
  c = crc32cUpdate(c, block, tail, tail + 4);
  c = crc32cUpdate(c, new Uint8Array(4));
  DxTail.encode({ dt_reserved: 0, dt_checksum: c }, block, tail);
}
