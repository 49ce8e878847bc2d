import { constants, deflateRawSync, deflateSync } from 'node:zlib';
import { DiskwrightError } from '../errors.js';
import { own, type FrameCodec } from './types.js';

/**
 * Cluster/grain codecs (Node's zlib): no file suffix, no magic, no whole-file decoder; the container
 * writers compress each cluster (qcow2) or grain (VMDK) with them on the workers.
 */

/** VMDK streamOptimized grains: zlib-wrapped deflate. */
export const zlib = {
  name: 'zlib',
  levels: [0, 9],
  defaultLevel: 6,
  compressFrame: async (data, level) => own(deflateSync(data, { level })),
} as const satisfies FrameCodec<'zlib'>;

/** qcow2 compressed clusters: qemu compresses them as raw deflate with a 4 KiB window (qcow2_co_compress: windowBits -12). */
export const deflateQcow2 = {
  name: 'deflate-qcow2',
  levels: [-1, 9],
  defaultLevel: constants.Z_DEFAULT_COMPRESSION,
  compressFrame: async (data, level) => own(deflateRawSync(data, { level, windowBits: 12, memLevel: 9 })),
} as const satisfies FrameCodec<'deflate-qcow2'>;

type Libdeflate = { zlib(input: Uint8Array, level: number): Uint8Array };
let libdeflate: Promise<Libdeflate> | undefined;

/**
 * zlib streams (RFC 1950) from libdeflate compiled to WebAssembly (the `libdeflate` package),
 * loaded on first use, once per thread. At the same level its matcher finds more than zlib's:
 * on 24 MiB of 128 KiB blocks of an npm node_modules tree at level 9, libdeflate 6.78 MB in
 * 1.48 s CPU, Node's zlib (Chromium's) 6.91 MB in 2.02 s, Debian's zlib 1.2.13 (mksquashfs's)
 * 6.83 MB in 3.31 s. Squashfs gzip data and metadata blocks use it: they need zlib streams of one
 * block each (squashfs-tools gzip_wrapper.c; the kernel's zlib_inflate reads any valid stream),
 * not zlib's exact bytes. The same WebAssembly everywhere: the same bytes on every host.
 */
export const zlibLibdeflate = {
  name: 'zlib-libdeflate',
  levels: [1, 12],
  defaultLevel: 9,
  async compressFrame(data, level) {
    libdeflate ??= (import('libdeflate') as Promise<Libdeflate>).catch((e: unknown) => {
      libdeflate = undefined;
      throw new DiskwrightError('E_CODEC_UNAVAILABLE', `the zlib codec (libdeflate, WebAssembly) failed to load: ${(e as Error).message}`, { value: 'gzip', cause: e });
    });
    return own((await libdeflate).zlib(data, level));
  },
} as const satisfies FrameCodec<'zlib-libdeflate'>;
