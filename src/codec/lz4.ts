import { createRequire } from 'node:module';
import { DiskwrightError } from '../errors.js';
import { own, type FrameCodec } from './types.js';

/**
 * Raw LZ4 blocks (the LZ4 block format, no frame), as squashfs stores its lz4 data and metadata
 * blocks (squashfs-tools lz4_wrapper.c: LZ4_compress_default; the kernel: LZ4_decompress_safe).
 * Compressed by lz4-napi (napi-rs over lz4_flex, prebuilt for each platform), whose `compressSync`
 * writes the block after a 4-byte little-endian length: the block is what follows it.
 */

interface Lz4Napi { compressSync(data: Buffer): Buffer }

let lz4Module: Lz4Napi | undefined;
function lz4Napi(): Lz4Napi {
  if (!lz4Module) {
    try {
      lz4Module = createRequire(import.meta.url)('lz4-napi') as Lz4Napi;
    } catch (e) {
      throw new DiskwrightError('E_CODEC_UNAVAILABLE', `the lz4 codec (lz4-napi) failed to load: ${(e as Error).message}`, { value: 'lz4', cause: e });
    }
  }
  return lz4Module;
}

/**
 * `lz4-block`: one raw LZ4 block per call (no level: lz4_flex has one speed, like LZ4_compress_default).
 *
 * @example
 * const block = await lz4Block.compressFrame(data, 0);
 */
export const lz4Block = {
  name: 'lz4-block',
  levels: [0, 0],
  defaultLevel: 0,
  async compressFrame(data) {
    const withLength = lz4Napi().compressSync(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    if (withLength.length < 4 || withLength.readUInt32LE(0) !== data.length) throw new Error('lz4-napi: unexpected output (no length prefix)');
    return own(withLength.subarray(4));
  },
} as const satisfies FrameCodec<'lz4-block'>;
