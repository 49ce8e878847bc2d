import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DiskwrightError } from '../errors.js';
import { type CodecParams, type FrameCodec } from './types.js';

/**
 * xz streams with an explicit LZMA2 dictionary size and optional x86 BCJ filter, as squashfs-tools'
 * xz_wrapper.c writes each block: `lzma_stream_buffer_encode` with LZMA_CHECK_CRC32, the
 * LZMA_PRESET_DEFAULT settings and `dict_size` set to the block size. The kernel's decoder
 * (xz_dec_init(XZ_PREALLOC, dict_size)) refuses a stream whose dictionary is larger than the
 * filesystem's, and knows CRC32 but not CRC64, so xz(1)'s presets (8 MiB and more) will not do.
 * node-liblzma's native addon takes presets only; its WebAssembly build of liblzma exports
 * `lzma_stream_buffer_encode`, which takes a filter chain we lay out in its heap.
 */

interface LzmaWasm {
  _malloc(n: number): number;
  _free(p: number): void;
  _lzma_stream_buffer_encode(filters: number, check: number, allocator: number, input: number, inSize: number, out: number, outPos: number, outSize: number): number;
  HEAPU8: Uint8Array;
}

const LZMA_OK = 0;
const LZMA_BUF_ERROR = 10;
const LZMA_CHECK_CRC32 = 1;
const LZMA_FILTER_X86 = 0x04n;
const LZMA_FILTER_LZMA2 = 0x21n;
const LZMA_VLI_UNKNOWN = 0xffffffffffffffffn;
const LZMA_MODE_FAST = 1;
const LZMA_MODE_NORMAL = 2;
const LZMA_MF_HC3 = 0x03;
const LZMA_MF_HC4 = 0x04;
const LZMA_MF_BT4 = 0x14;

/**
 * liblzma's `lzma_options_lzma` in the 32-bit WebAssembly build (lzma12.h, xz 5.8): ten 32-bit
 * fields from dict_size to depth, then ext_flags, ext_size_low/high and reserved words, all zero.
 */
const OPTIONS_LZMA = { size: 80, dict_size: 0, lc: 12, lp: 16, pb: 20, mode: 24, nice_len: 28, mf: 32, depth: 36 } as const;
/** `lzma_filter` in wasm32: a 64-bit id, then a 32-bit options pointer, padded to 16 bytes. */
const FILTER_SIZE = 16;

let wasm: Promise<LzmaWasm> | undefined;
/** The WebAssembly liblzma, instantiated once per thread (its .wasm given as bytes: no fetch in Node). */
function lzmaWasm(): Promise<LzmaWasm> {
  wasm ??= (async () => {
    const require = createRequire(import.meta.url);
    const create = (await import('node-liblzma/wasm/liblzma.js') as unknown as { default: (arg: Record<string, unknown>) => Promise<LzmaWasm> }).default;
    return create({ wasmBinary: readFileSync(require.resolve('node-liblzma/wasm/liblzma.wasm')) });
  })().catch((e: unknown) => {
    wasm = undefined;
    throw new DiskwrightError('E_CODEC_UNAVAILABLE', `the xz block codec (node-liblzma's WebAssembly liblzma) failed to load: ${(e as Error).message}`, { value: 'xz', cause: e });
  });
  return wasm;
}

/** Encode `data` with one filter chain; undefined when the output would not fit `data.length + 256` bytes. */
function encodeWith(m: LzmaWasm, data: Uint8Array, preset: number, dictSize: number, x86: boolean): Uint8Array | undefined {
  const outSize = data.length + 256;
  const opts = m._malloc(OPTIONS_LZMA.size + 3 * FILTER_SIZE + 8 + data.length + outSize);
  if (opts === 0) throw new Error('liblzma (WebAssembly): out of memory');
  try {
    const filters = opts + OPTIONS_LZMA.size;
    const outPos = filters + 3 * FILTER_SIZE;
    const input = outPos + 8;
    const out = input + data.length;
    m.HEAPU8.fill(0, opts, input);
    m.HEAPU8.set(data, input);
    const dv = new DataView(m.HEAPU8.buffer);
    // The preset's settings as liblzma's lzma_lzma_preset() sets them (squashfs-tools: preset 6),
    // with the dictionary squashfs asks for instead of the preset's.
    const fast = preset <= 3;
    dv.setUint32(opts + OPTIONS_LZMA.dict_size, dictSize, true);
    dv.setUint32(opts + OPTIONS_LZMA.lc, 3, true);
    dv.setUint32(opts + OPTIONS_LZMA.lp, 0, true);
    dv.setUint32(opts + OPTIONS_LZMA.pb, 2, true);
    dv.setUint32(opts + OPTIONS_LZMA.mode, fast ? LZMA_MODE_FAST : LZMA_MODE_NORMAL, true);
    dv.setUint32(opts + OPTIONS_LZMA.nice_len, fast ? (preset <= 1 ? 128 : 273) : preset === 4 ? 16 : preset === 5 ? 32 : 64, true);
    dv.setUint32(opts + OPTIONS_LZMA.mf, fast ? (preset === 0 ? LZMA_MF_HC3 : LZMA_MF_HC4) : LZMA_MF_BT4, true);
    dv.setUint32(opts + OPTIONS_LZMA.depth, fast ? [4, 8, 24, 48][preset]! : 0, true);
    let f = filters;
    if (x86) { dv.setBigUint64(f, LZMA_FILTER_X86, true); f += FILTER_SIZE; }
    dv.setBigUint64(f, LZMA_FILTER_LZMA2, true);
    dv.setUint32(f + 8, opts, true);
    dv.setBigUint64(f + FILTER_SIZE, LZMA_VLI_UNKNOWN, true);
    const ret = m._lzma_stream_buffer_encode(filters, LZMA_CHECK_CRC32, 0, input, data.length, out, outPos, outSize);
    if (ret === LZMA_BUF_ERROR) return undefined;
    if (ret !== LZMA_OK) throw new Error(`liblzma (WebAssembly): lzma_stream_buffer_encode returned ${ret}`);
    const n = new DataView(m.HEAPU8.buffer).getUint32(outPos, true);
    return m.HEAPU8.slice(out, out + n);
  } finally {
    m._free(opts);
  }
}

/**
 * `xz-block`: one xz stream per block. Params: `dictSize` (bytes, default 8 KiB: a metadata
 * block's), `x86` (also try the x86 BCJ filter and keep the smaller, as mksquashfs -Xbcj x86 does).
 * The level is the xz preset (squashfs-tools uses LZMA_PRESET_DEFAULT, 6).
 *
 * @example
 * const c = await xzBlock.compressFrame(block, 6, { dictSize: 131072, x86: true });
 */
export const xzBlock = {
  name: 'xz-block',
  levels: [0, 9],
  defaultLevel: 6,
  async compressFrame(data: Uint8Array, level: number, params?: CodecParams): Promise<Uint8Array> {
    const m = await lzmaWasm();
    const dictSize = typeof params?.dictSize === 'number' ? params.dictSize : 8192;
    const plain = encodeWith(m, data, level, dictSize, false);
    const bcj = params?.x86 === true ? encodeWith(m, data, level, dictSize, true) : undefined;
    const best = plain && bcj ? (bcj.length < plain.length ? bcj : plain) : plain ?? bcj;
    if (!best) throw new Error(`xz output of a ${data.length}-byte block exceeds ${data.length + 256} bytes`);
    return best;
  },
} as const satisfies FrameCodec<'xz-block'>;
