import { sniffCompression, SNIFF_BYTES } from '../../codec/index.js';
import { DiskwrightError } from '../../errors.js';
import { QCOW2_MAGIC, Qcow2Header } from '../qcow2/format.js';
import { containerFormat } from '../registry.js';
import { SPARSE_MAGICNUMBER, SparseExtentHeader } from '../vmdk.js';
import { VDI_SIGNATURE, VdiHeader } from '../vdi.js';
import { MappedDisk, type Mapping } from './disk.js';
import { fileSource, InputFile } from './file.js';
import { diskVolume, type InputVolume } from './materialize.js';
import { Qcow2Mapping } from './qcow2.js';
import { decodeToScratch, type Scratch } from './scratch.js';
import { VdiMapping } from './vdi.js';
import { isVhd, VhdMapping } from './vhd.js';
import { VmdkMapping } from './vmdk.js';
import { openZstdSeekable } from './zstd.js';

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

/** A raw image: the file's bytes are the disk's. */
const rawMapping = (file: InputFile): Mapping & { size: number } => ({ size: file.size, map: (offset, length) => [{ kind: 'data', length, at: offset }] });

/**
 * Open a disk image of any format diskwright writes or qemu-img writes (raw, qcow2, VHD, VDI,
 * VMDK; also inside a zstd/xz/gzip/bzip2 stream) as a VirtualDisk: random access to the guest
 * bytes, holes known. zstd streams of sized frames are read at random, frame by frame; other
 * streams are decoded once into a sparse scratch file (removed by `close`). `format` forces the
 * container format ('auto' or undefined: detected from magic numbers).
 *
 * @example
 * const disk = await openDisk('disk.qcow2');
 * try { console.log(disk.format, disk.size, disk.read(0, 512)); } finally { disk.close(); }
 */
export async function openDisk(path: string, format?: string): Promise<MappedDisk> {
  let file: InputFile | undefined = new InputFile(path);
  let scratch: Scratch | undefined;
  let compression: string | undefined;
  try {
    const codec = sniffCompression(file.read(0, SNIFF_BYTES));
    if (codec) {
      compression = codec;
      file.close();
      file = undefined;
      const seekable = codec === 'zstd' ? await openZstdSeekable(path) : undefined;
      if (seekable) file = new InputFile(path, seekable);
      else {
        scratch = await decodeToScratch(codec, path);
        file = new InputFile(path, fileSource(scratch.path));
      }
    }
    const fmt = format === undefined || format === 'auto' ? detectFormat(file) : containerFormat(format)?.name ?? format;
    let mapping: Mapping & { size: number };
    let found: string = fmt;
    switch (fmt) {
      case 'qcow2': case 'qcow2-compressed': mapping = new Qcow2Mapping(file); found = 'qcow2'; break;
      case 'vhd': case 'vhd-fixed': { const m = new VhdMapping(file); mapping = m; found = m.format; break; }
      case 'vdi': mapping = new VdiMapping(file); break;
      case 'vmdk': mapping = new VmdkMapping(file); break;
      case 'raw': mapping = rawMapping(file); break;
      default: throw new DiskwrightError('E_FORMAT', `input format ${fmt} is not supported`, { path: 'format', value: fmt });
    }
    const done = scratch;
    return new MappedDisk(file, mapping, found, mapping.size, compression, () => done?.cleanup());
  } catch (e) {
    file?.close();
    scratch?.cleanup();
    throw e;
  }
}

/**
 * Open a disk image of any format as a Volume, so the same writers serve `convert`: allocated
 * clusters of an uncompressed container reference the input file, compressed ones are inflated
 * into a sparse scratch file, a raw image's zero blocks are holes. Call `cleanup` once the volume
 * has been written.
 *
 * @example
 * const input = await openImage('disk.qcow2');
 * try { await emit(input.volume, 'disk.vhd', { format: 'vhd', compression: 'none', seed, epoch }); } finally { input.cleanup(); }
 */
export async function openImage(path: string, format?: string, signal?: AbortSignal): Promise<InputVolume> {
  const disk = await openDisk(path, format);
  try {
    const v = await diskVolume(disk, signal);
    return { volume: v.volume, format: disk.format, cleanup: () => { v.cleanup(); disk.close(); } };
  } catch (e) {
    disk.close();
    throw e;
  }
}
