import { basename } from 'node:path';
import { DEFAULT_SEED } from '../util/ids.js';
import { emit, type EmitResult } from './emit.js';
import { openImage } from './read/open.js';

export interface ConvertOptions {
  /** Output container format (raw, qcow2, qcow2-compressed, vhd/vpc, vhd-fixed, vdi, vmdk). */
  format: string;
  /** Input format; detected from magic numbers when omitted. */
  inputFormat?: string;
  compression?: string;
  compressionLevel?: number;
  /** Seed for container ids (default: the fixed default seed). */
  seed?: string;
  /** Timestamp for container headers (default: $SOURCE_DATE_EPOCH, else 0). */
  epoch?: number;
  clusterSize?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface ConvertResult extends EmitResult {
  inputFormat: string;
  size: number;
}

/**
 * Convert a disk image between any two formats diskwright writes: the input is read as a Volume
 * (allocated clusters reference the input file; holes stay holes) and written by the same
 * container writers a build uses.
 *
 * @example
 * await convertImage('disk.img', 'disk.qcow2', { format: 'qcow2' });
 * await convertImage('disk.vhd', 'disk.img', { format: 'raw' });
 */
export async function convertImage(input: string, output: string, opts: ConvertOptions): Promise<ConvertResult> {
  const img = await openImage(input, opts.inputFormat, opts.signal);
  try {
    const envEpoch = process.env.SOURCE_DATE_EPOCH;
    const epoch = opts.epoch ?? (envEpoch !== undefined && /^\d+$/.test(envEpoch) ? Number(envEpoch) : undefined);
    const r = await emit(img.volume, output, {
      format: opts.format,
      compression: opts.compression ?? 'none',
      compressionLevel: opts.compressionLevel,
      seed: opts.seed ?? DEFAULT_SEED,
      epoch,
      name: output === '-' ? 'disk.vmdk' : basename(output),
      ...(opts.clusterSize !== undefined ? { clusterSize: opts.clusterSize } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return { ...r, inputFormat: img.format, size: img.volume.size };
  } finally {
    img.cleanup();
  }
}
