import { createReadStream, createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { closeSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { Decompress as ZstdDecompress } from 'fzstd';
import { tarDecompressors } from '../tree/tarinput.js';

/**
 * Streaming decompression of whole files (compressed disk images given to `convert`, compressed
 * tar inputs). Every decoder accepts concatenated frames/streams/members, as our compressors write
 * them. Packages: fzstd (pure JS zstd decoder), node-liblzma (liblzma), unbzip2-stream (pure JS).
 */
export type StreamCodec = 'zstd' | 'xz' | 'gzip' | 'bzip2';

export function sniffCompression(head: Uint8Array): StreamCodec | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0x00) return 'xz';
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  return undefined;
}

const require = createRequire(import.meta.url);

interface Lzma { createUnxz(opts?: object): NodeJS.ReadWriteStream; unxzSync(b: Buffer): Buffer }
/** liblzma loads once; a platform without the prebuilt addon still has every other codec. */
const lzma = (await import('node-liblzma').catch(() => undefined)) as unknown as Lzma | undefined;

class ZstdTransform extends Transform {
  private readonly dec = new ZstdDecompress((chunk) => { this.push(Buffer.from(chunk)); });
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try { this.dec.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)); cb(); } catch (e) { cb(e as Error); }
  }
  override _flush(cb: TransformCallback): void {
    try { this.dec.push(new Uint8Array(0), true); cb(); } catch (e) { cb(e as Error); }
  }
}

async function decoder(codec: StreamCodec): Promise<NodeJS.ReadWriteStream> {
  switch (codec) {
    case 'gzip': return createGunzip();
    case 'zstd': return new ZstdTransform();
    case 'xz': {
      if (!lzma) throw new Error('the xz codec (node-liblzma) failed to load');
      return lzma.createUnxz();
    }
    case 'bzip2': return (require('unbzip2-stream') as () => NodeJS.ReadWriteStream)();
  }
}

/** Decompress `input` into `output`, streaming (bounded memory). */
export async function decompressFile(codec: StreamCodec, input: string, output: string): Promise<void> {
  await pipeline(createReadStream(input, { highWaterMark: 1 << 20 }), await decoder(codec) as NodeJS.ReadWriteStream, createWriteStream(output));
}

/** Synchronous zstd decompression for the tree phase (tar inputs): streams through fzstd in 1 MiB reads. */
function zstdFileSync(input: string, output: string): void {
  const fdIn = openSync(input, 'r');
  const fdOut = openSync(output, 'w');
  try {
    const dec = new ZstdDecompress((chunk) => { let o = 0; while (o < chunk.length) o += writeSync(fdOut, chunk, o); });
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const n = readSync(fdIn, buf, 0, buf.length, null);
      if (n === 0) break;
      dec.push(buf.slice(0, n));
    }
    dec.push(new Uint8Array(0), true);
  } finally {
    closeSync(fdIn);
    closeSync(fdOut);
  }
}

/** Synchronous xz decompression for the tree phase (tar layers are inputs, read whole). */
function xzFileSync(input: string, output: string): void {
  if (!lzma) throw new Error('the xz codec (node-liblzma) failed to load');
  writeFileSync(output, lzma.unxzSync(readFileSync(input)));
}

tarDecompressors.set('zstd', zstdFileSync);
tarDecompressors.set('xz', xzFileSync);
