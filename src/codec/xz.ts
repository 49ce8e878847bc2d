import { open } from 'node:fs/promises';
import { DiskwrightError } from '../errors.js';
import { OUT, READ, type Progress, type SparseOut } from './output.js';
import { decompressor, own, type FileCodec } from './types.js';

/** xz magic: FD '7zXZ' 00. */
export const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] as const;

interface LzmaNative {
  code(flush: number, input: Buffer | null, inOff: number, availIn: number, out: Buffer, outOff: number, cb: (ret: number, availIn: number, availOut: number) => void): void;
  close(): void;
}
interface LzmaModule {
  createUnxz(): unknown;
  xzSync(buf: Buffer, opts?: { preset?: number; check?: number; chunkSize?: number }): Buffer;
  LZMA_RUN: number; LZMA_FINISH: number; LZMA_OK: number; LZMA_STREAM_END: number;
}
const LZMA_ERRORS: Record<number, string> = {
  5: 'cannot allocate memory', 6: 'memory limit reached', 7: 'not an xz file', 8: 'unsupported xz options',
  9: 'compressed data is corrupt', 10: 'unexpected end of input',
};

let lzmaModule: Promise<LzmaModule> | undefined;
/** node-liblzma (liblzma, prebuilt addon shipped in the package), loaded on first use only. */
function lzma(): Promise<LzmaModule> {
  lzmaModule ??= (import('node-liblzma') as unknown as Promise<LzmaModule>).catch((e: unknown) => {
    lzmaModule = undefined;
    throw new DiskwrightError('E_CODEC_UNAVAILABLE', `the xz codec (node-liblzma) failed to load: ${(e as Error).message}`, { value: 'xz', cause: e });
  });
  return lzmaModule;
}

/** xz through node-liblzma (liblzma addon), loaded here on first use. */
export async function unxzFile(input: string, out: SparseOut, progress: Progress): Promise<void> {
  const mod = await lzma();
  // The decoder object of node-liblzma's stream (lzma_stream_decoder with LZMA_CONCATENATED),
  // driven one output buffer at a time: its Transform pushes all the output of an input chunk at
  // once, which for a layer of zeros is thousands of times the chunk.
  const native = (mod.createUnxz() as { lzma?: LzmaNative }).lzma;
  if (!native || typeof native.code !== 'function') throw new DiskwrightError('E_CODEC_UNAVAILABLE', 'this node-liblzma has no decoder object to stream with', { value: 'xz' });
  const step = (action: number, buf: Buffer | null, inOff: number, availIn: number, outBuf: Buffer): Promise<[number, number, number]> =>
    new Promise((res) => native.code(action, buf, inOff, availIn, outBuf, 0, (ret, ai, ao) => res([ret, ai, ao])));
  const fh = await open(input, 'r');
  const outBuf = Buffer.alloc(OUT);
  try {
    let ended = false;
    for (;;) {
      const buf = Buffer.allocUnsafe(READ);
      const { bytesRead } = await fh.read(buf, 0, READ, null);
      const last = bytesRead === 0;
      let inOff = 0;
      let availIn = bytesRead;
      for (;;) {
        const [ret, ai, ao] = await step(last ? mod.LZMA_FINISH : mod.LZMA_RUN, last ? null : buf, inOff, availIn, outBuf);
        if (ret !== mod.LZMA_OK && ret !== mod.LZMA_STREAM_END) throw new Error(`liblzma: ${LZMA_ERRORS[ret] ?? `error ${ret}`}`);
        if (ao < outBuf.length) out.write(outBuf.subarray(0, outBuf.length - ao));
        progress.read += availIn - ai;
        inOff += availIn - ai;
        availIn = ai;
        if (ret === mod.LZMA_STREAM_END) { ended = true; break; }
        if (availIn === 0 && ao > 0) break;
      }
      if (last || ended) break;
    }
    if (!ended) throw new Error('liblzma: unexpected end of input');
  } finally {
    native.close();
    await fh.close();
  }
}

/**
 * xz: one xz stream per frame (CRC64, as xz(1)). The compressor runs in child processes, not worker
 * threads (container/pool.ts startProcess): a worker thread terminated in the middle of a
 * node-liblzma call ends the whole process in a fatal N-API error.
 */
export const xz = {
  name: 'xz',
  suffix: '.xz',
  magic: XZ_MAGIC,
  levels: [0, 9],
  defaultLevel: 6,
  frameSize: 8 << 20,
  isolation: 'process',
  async compressFrame(data, level) {
    const x = await lzma();
    return own(x.xzSync(Buffer.from(data.buffer, data.byteOffset, data.length), { preset: level, check: 4 /* CRC64, as xz(1) */, chunkSize: 1 << 20 }));
  },
  checkFrame(frame) {
    if (frame.length < 32 || XZ_MAGIC.some((b, i) => frame[i] !== b)) return 'no xz stream magic';
    return frame[frame.length - 2] === 0x59 && frame[frame.length - 1] === 0x5a ? undefined : 'no xz stream footer';
  },
  decompressFile: decompressor('xz', unxzFile),
} as const satisfies FileCodec<'xz'>;
