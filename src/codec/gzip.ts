import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gzipSync } from 'node:zlib';
import { maybeYield, type Progress, type SparseOut } from './output.js';
import { decompressor, own, type FileCodec } from './types.js';

/** gzip magic: ID1 ID2 (RFC 1952). */
export const GZIP_MAGIC = [0x1f, 0x8b] as const;

/**
 * gzip through Node's zlib (concatenated members are read on). zlib stops inflating while its
 * readable side is full, so a 1000:1 member does not pile up output; small input chunks keep each
 * step short.
 */
export async function gunzipFile(input: string, out: SparseOut, progress: Progress): Promise<void> {
  const src = createReadStream(input, { highWaterMark: 64 << 10 });
  src.on('data', (c) => { progress.read += c.length; });
  await pipeline(src, createGunzip({ chunkSize: 256 << 10 }), async (chunks: AsyncIterable<Buffer>) => {
    for await (const c of chunks) { out.write(c); await maybeYield(out); }
  });
}

/** gzip: members of Node's zlib, concatenated; each records its input length (ISIZE). */
export const gzip = {
  name: 'gzip',
  suffix: '.gz',
  magic: GZIP_MAGIC,
  levels: [1, 9],
  defaultLevel: 6,
  frameSize: 4 << 20,
  compressFrame: async (data, level) => own(gzipSync(data, { level })),
  checkFrame(frame, inputLength) {
    if (frame.length < 18 || frame[0] !== 0x1f || frame[1] !== 0x8b) return 'no gzip member magic';
    const isize = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(frame.length - 4, true);
    return isize === inputLength % 2 ** 32 ? undefined : `gzip ISIZE ${isize}, expected ${inputLength % 2 ** 32}`;
  },
  decompressFile: decompressor('gzip', gunzipFile),
} as const satisfies FileCodec<'gzip'>;
