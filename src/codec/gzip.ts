import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { maybeYield, type Progress, type SparseOut } from './output.js';

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
