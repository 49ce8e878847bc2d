/**
 * Block decompressors for the squashfs reader, synchronous and bounded: every call is given the
 * most bytes the block may decode to (8 KiB for a metadata block, the block size for data), and
 * nothing is allocated from a size the compressed bytes claim before it is checked against that
 * cap (as the kernel's decompressors are set up once per filesystem with the block size:
 * fs/squashfs/decompressor.c). gzip: zlib streams (squashfs-tools gzip_wrapper.c) through
 * node:zlib with `maxOutputLength`; zstd: one frame with its content size (zstd_wrapper.c
 * ZSTD_compressCCtx) through fzstd, the frame header checked first (RFC 8878 §3.1.1); lz4: raw
 * LZ4 blocks (lz4_wrapper.c) decoded here against the LZ4 block format; xz: one xz stream of one
 * block (xz_wrapper.c lzma_stream_buffer_encode) through liblzma (node-liblzma's addon, driven
 * synchronously into a buffer of the cap), its Index and Block Header read first (xz file format
 * 1.2.1 §3, §4) so that the LZMA2 dictionary, which liblzma allocates, is bounded. lzo and lzma are
 * named and refused.
 *
 * @example
 * const decode = blockDecoder(Compression.ZSTD); const bytes = decode(stored, 8192);
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { inflateSync } from 'node:zlib';
import { Compression } from './format.js';

/** Decode `src` into at most `cap` bytes; throws an Error saying what is wrong. */
export type BlockDecoder = (src: Uint8Array, cap: number) => Uint8Array;

const require = createRequire(import.meta.url);

/** The name of a compression id, for messages. */
export function compressionName(id: number): string {
  return ({ 1: 'gzip', 2: 'lzma', 3: 'lzo', 4: 'xz', 5: 'lz4', 6: 'zstd' } as Record<number, string>)[id] ?? `unknown (${id})`;
}

/** The decoder of a superblock's compression id, or undefined when this reader has none (lzo, lzma, unknown). */
export function blockDecoder(id: number): BlockDecoder | undefined {
  switch (id) {
    case Compression.ZLIB: return gzipBlock;
    case Compression.ZSTD: return zstdBlock;
    case Compression.LZ4: return lz4Block;
    case Compression.XZ: return xzBlock;
    default: return undefined;
  }
}

function gzipBlock(src: Uint8Array, cap: number): Uint8Array {
  try {
    return inflateSync(src, { maxOutputLength: cap });
  } catch (e) {
    throw new Error((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? `zlib data decodes to more than ${cap} bytes` : `zlib: ${(e as Error).message}`);
  }
}

interface Fzstd { decompress(dat: Uint8Array, buf?: Uint8Array): Uint8Array }
let fzstd: Fzstd | undefined;

/** RFC 8878 §3.1.1.1: the frame header's Frame_Content_Size, which must be there and within the cap. */
function zstdBlock(src: Uint8Array, cap: number): Uint8Array {
  if (src.length < 6 || src[0] !== 0x28 || src[1] !== 0xb5 || src[2] !== 0x2f || src[3] !== 0xfd) throw new Error('no zstd frame magic');
  const fhd = src[4]!;
  const fcsFlag = fhd >> 6, single = (fhd >> 5) & 1, dictBytes = [0, 1, 2, 4][fhd & 3]!;
  if (fhd & 0x08) throw new Error('zstd frame header: reserved bit set');
  const at = 5 + (single ? 0 : 1) + dictBytes;
  const fcsBytes = [single, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) throw new Error('zstd frame without its content size');
  if (src.length < at + fcsBytes) throw new Error('zstd frame header cut short');
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const fcs = fcsBytes === 1 ? src[at]! : fcsBytes === 2 ? dv.getUint16(at, true) + 256 : fcsBytes === 4 ? dv.getUint32(at, true) : Number(dv.getBigUint64(at, true));
  if (fcs > cap) throw new Error(`zstd frame content size ${fcs} is larger than ${cap}`);
  if (!single) {
    // The window fzstd allocates when it decodes (RFC 8878 §3.1.1.1.2).
    const wb = 1 << (10 + (src[5]! >> 3));
    if (wb + (wb >> 3) * (src[5]! & 7) > Math.max(cap, 1 << 20) * 2) throw new Error('zstd window larger than the block');
  }
  fzstd ??= require('fzstd') as Fzstd;
  try {
    const out = fzstd.decompress(src);
    if (out.length !== fcs) throw new Error(`zstd frame decodes to ${out.length} bytes, not its content size ${fcs}`);
    return out;
  } catch (e) {
    throw new Error(`zstd: ${(e as Error).message}`);
  }
}

/** The LZ4 block format (lz4 doc/lz4_Block_format.md): sequences of literals and matches, decoded into at most `cap` bytes. */
function lz4Block(src: Uint8Array, cap: number): Uint8Array {
  const out = new Uint8Array(cap);
  let i = 0, o = 0;
  const length = (n: number): number => {
    if (n !== 15) return n;
    for (;;) {
      if (i >= src.length) throw new Error('lz4 block cut short in a length');
      const b = src[i++]!;
      n += b;
      if (n > cap) throw new Error(`lz4 block decodes to more than ${cap} bytes`);
      if (b !== 255) return n;
    }
  };
  while (i < src.length) {
    const token = src[i++]!;
    const lit = length(token >> 4);
    if (i + lit > src.length || o + lit > cap) throw new Error(`lz4 literals run past the ${i + lit > src.length ? 'block' : `${cap}-byte output`}`);
    out.set(src.subarray(i, i + lit), o);
    i += lit;
    o += lit;
    if (i === src.length) break; // the last sequence has literals only
    if (i + 2 > src.length) throw new Error('lz4 block cut short in an offset');
    const offset = src[i]! | (src[i + 1]! << 8);
    i += 2;
    if (offset === 0 || offset > o) throw new Error(`lz4 match offset ${offset} points before the output`);
    const len = length(token & 15) + 4;
    if (o + len > cap) throw new Error(`lz4 block decodes to more than ${cap} bytes`);
    for (let k = 0; k < len; k++, o++) out[o] = out[o - offset]!;
  }
  return out.subarray(0, o);
}

interface LzmaNative {
  codeSync(flush: number, input: Uint8Array, inOff: number, availIn: number, out: Uint8Array, outOff: number): [number, number, number];
  close(): void;
}
interface LzmaBinding { LZMA: new (mode: number, opts: Record<string, unknown>) => LzmaNative; STREAM_DECODE: number; LZMA_FINISH: number; LZMA_OK: number; LZMA_STREAM_END: number }
let binding: LzmaBinding | undefined;
/** node-liblzma's native addon (its prebuilt binding, found as the package finds it), loaded on first use. */
function lzmaBinding(): LzmaBinding {
  if (!binding) {
    const pkg = dirname(dirname(require.resolve('node-liblzma')));
    const fromPkg = createRequire(`${pkg}/package.json`);
    binding = (fromPkg('node-gyp-build') as (dir: string) => LzmaBinding)(pkg);
  }
  return binding;
}

/** xz 1.2.1 §1.2: a variable-length integer at `src[at]`: [value, next]. */
function vli(src: Uint8Array, at: number, end: number): [number, number] {
  let v = 0;
  for (let k = 0; k < 9; k++) {
    if (at + k >= end) throw new Error('xz integer cut short');
    const b = src[at + k]!;
    v += (b & 0x7f) * 2 ** (7 * k);
    if (!(b & 0x80)) return [v, at + k + 1];
  }
  throw new Error('xz integer longer than 9 bytes');
}

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const LZMA2 = 0x21;

/**
 * One xz stream holding one block: its Index (§4, found from the Stream Footer's Backward Size)
 * says where the block ends and what it decodes to; its Block Header (§3.1) names the filters and
 * the LZMA2 dictionary. Only the stream header and that block go to liblzma.
 */
function xzBlock(src: Uint8Array, cap: number): Uint8Array {
  if (src.length < 32 || XZ_MAGIC.some((b, k) => src[k] !== b)) throw new Error('no xz stream magic');
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const n = src.length;
  if (src[n - 2] !== 0x59 || src[n - 1] !== 0x5a) throw new Error('no xz stream footer');
  const indexSize = (dv.getUint32(n - 8, true) + 1) * 4;
  const indexAt = n - 12 - indexSize;
  if (indexAt < 12) throw new Error('xz index outside the stream');
  if (src[indexAt] !== 0) throw new Error('no xz index indicator');
  const [records, r1] = vli(src, indexAt + 1, n - 12);
  if (records !== 1) throw new Error(`xz stream of ${records} blocks (squashfs writes one)`);
  const [unpadded, r2] = vli(src, r1, n - 12);
  const [uncompressed] = vli(src, r2, n - 12);
  if (uncompressed > cap) throw new Error(`xz block decodes to ${uncompressed} bytes, more than ${cap}`);
  const blockEnd = 12 + Math.ceil(unpadded / 4) * 4;
  if (blockEnd > indexAt) throw new Error('xz block overlaps its index');
  // Block Header: size, flags (filters - 1 in bits 0-1; compressed and uncompressed sizes), then the filter flags.
  const headerSize = (src[12]! + 1) * 4;
  if (12 + headerSize > blockEnd) throw new Error('xz block header runs past the block');
  const flags = src[13]!;
  let at = 14;
  if (flags & 0x40) at = vli(src, at, 12 + headerSize)[1];
  if (flags & 0x80) at = vli(src, at, 12 + headerSize)[1];
  let dict = -1;
  for (let f = 0; f <= (flags & 3); f++) {
    const [id, a1] = vli(src, at, 12 + headerSize);
    const [propsSize, a2] = vli(src, a1, 12 + headerSize);
    if (a2 + propsSize > 12 + headerSize) throw new Error('xz filter properties run past the block header');
    if (id === LZMA2) {
      const p = src[a2]! & 0x3f;
      if (propsSize !== 1 || p > 40) throw new Error('bad LZMA2 properties');
      dict = (2 | (p & 1)) * 2 ** (Math.floor(p / 2) + 11);
    }
    at = a2 + propsSize;
  }
  // Squashfs dictionaries are at most the block size (1 MiB); the kernel refuses larger (xz_dec_init).
  if (dict < 0) throw new Error('xz block without an LZMA2 filter');
  if (dict > 1 << 20 && dict > cap) throw new Error(`xz dictionary of ${dict} bytes is larger than the block`);
  const lz = lzmaBinding();
  const dec = new lz.LZMA(lz.STREAM_DECODE, { check: 0, preset: 0, filters: [] });
  try {
    const out = new Uint8Array(uncompressed);
    const input = src.subarray(0, blockEnd);
    const [ret, , availOut] = dec.codeSync(lz.LZMA_FINISH, input, 0, input.length, out, 0);
    // The input stops after the block: liblzma then wants the index (LZMA_BUF_ERROR is not an error here).
    if (ret !== lz.LZMA_OK && ret !== lz.LZMA_STREAM_END && ret !== 10) throw new Error(`liblzma error ${ret}`);
    if (availOut !== 0) throw new Error(`xz block decodes to ${uncompressed - availOut} bytes, not the ${uncompressed} of its index`);
    return out;
  } finally {
    dec.close();
  }
}
