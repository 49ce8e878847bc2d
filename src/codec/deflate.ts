import { constants, deflateRawSync, deflateSync } from 'node:zlib';
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
