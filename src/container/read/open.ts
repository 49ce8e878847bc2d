import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskwrightError } from '../../errors.js';
import { QCOW2_MAGIC, Qcow2Header } from '../qcow2/format.js';
import { SPARSE_MAGICNUMBER, SparseExtentHeader } from '../vmdk.js';
import { VDI_SIGNATURE, VdiHeader } from '../vdi.js';
import { decompressFile, sniffCompression, SNIFF_BYTES } from '../../codec/index.js';
import { containerFormat } from '../registry.js';
import { registerTemporary } from '../sink.js';
import { InputFile } from './file.js';
import type { InputVolume } from './materialize.js';
import { readQcow2 } from './qcow2.js';
import { readRawVolumeAsync } from './raw.js';
import { readVdi } from './vdi.js';
import { isVhd, readVhd } from './vhd.js';
import { readVmdk } from './vmdk.js';

/** Detect an input image's container format from its magic numbers. */
export function detectFormat(file: InputFile): 'qcow2' | 'vhd' | 'vdi' | 'vmdk' | 'raw' {
  // Each magic read through its header's declaration (the first 512 bytes cover all three).
  const head = file.read(0, 512);
  if (Qcow2Header.decodeField(head, 'magic') === QCOW2_MAGIC) return 'qcow2';
  if (SparseExtentHeader.decodeField(head, 'magicNumber') === SPARSE_MAGICNUMBER) return 'vmdk';
  if (VdiHeader.decodeField(head, 'u32Signature') === VDI_SIGNATURE) return 'vdi';
  if (isVhd(file)) return 'vhd';
  return 'raw';
}

/**
 * Open a disk image of any format diskwright writes (raw, qcow2, VHD, VDI, VMDK; also inside a
 * zstd/xz/gzip/bzip2 stream) as a Volume, so the same writers serve `convert`. Call `cleanup` once
 * the volume has been written.
 *
 * @example
 * const input = openImage('disk.qcow2');
 * try { await emit(input.volume, 'disk.vhd', { format: 'vhd', compression: 'none', seed, epoch }); } finally { input.cleanup(); }
 */
export async function openImage(path: string, format?: string, signal?: AbortSignal): Promise<InputVolume> {
  let file = new InputFile(path);
  let scratchDir: string | undefined;
  let forgetScratch: (() => void) | undefined;
  try {
    const codec = sniffCompression(file.read(0, SNIFF_BYTES));
    if (codec) {
      file.close();
      scratchDir = mkdtempSync(join(tmpdir(), 'diskwright-input-'));
      forgetScratch = registerTemporary(scratchDir);
      const plain = join(scratchDir, 'image');
      await decompressFile(codec, path, plain);
      file = new InputFile(plain);
    }
    const fmt = format === undefined || format === 'auto' ? detectFormat(file) : containerFormat(format)?.name ?? format;
    let result: InputVolume;
    switch (fmt) {
      case 'qcow2': case 'qcow2-compressed': result = await readQcow2(file, signal); break;
      case 'vhd': case 'vhd-fixed': result = await readVhd(file, signal); break;
      case 'vdi': result = readVdi(file); break;
      case 'vmdk': result = await readVmdk(file, signal); break;
      case 'raw': result = { volume: await readRawVolumeAsync(file.path, undefined, file, signal), format: 'raw', cleanup: () => undefined }; break;
      default: throw new DiskwrightError('E_FORMAT', `input format ${fmt} is not supported`, { path: 'format', value: fmt });
    }
    const dir = scratchDir;
    const inner = result.cleanup;
    const forget = forgetScratch;
    return { ...result, cleanup: () => { inner(); if (dir) rmSync(dir, { recursive: true, force: true }); forget?.(); } };
  } catch (e) {
    if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
    forgetScratch?.();
    throw e;
  } finally {
    file.close();
  }
}

