import { constants, inflateRawSync } from 'node:zlib';
import { DiskwrightError } from '../../errors.js';
import { bigIntOf } from '../../util/struct.js';
import { L1E_OFFSET_MASK, L2E_OFFSET_MASK, QCOW2_HEADER_LENGTH, QCOW2_MAGIC, QCOW_OFLAG_COMPRESSED, Qcow2Header } from '../qcow2/format.js';
import { pace } from '../sink.js';
import { corrupt, corruptAt, fieldNumber, type InputFile } from './file.js';
import { SparseScratch, type InputVolume } from './materialize.js';
import { ExtentCollector } from './volume.js';

/** L2 entry bit 0 (version 3): the cluster reads as zeros. */
const QCOW_OFLAG_ZERO = 1n;
/** qemu's limits (block/qcow2.h): cluster_bits 9 to 21, an active L1 table of at most 32 MiB. */
const MIN_CLUSTER_BITS = 9;
const MAX_CLUSTER_BITS = 21;
const QCOW_MAX_L1_SIZE = 32 << 20;
const HEADER = 'qcow2 header';

/**
 * A qcow2 image (version 2 or 3, no backing file, no encryption, no extended L2) as a Volume. Every
 * table offset and size is checked against the file before it is read, as qemu's
 * qcow2_validate_table does: cluster-aligned, within the file, under qemu's size caps.
 */
export async function readQcow2(file: InputFile, signal?: AbortSignal): Promise<InputVolume> {
  const h = file.decode(Qcow2Header, 0);
  if (h.magic !== QCOW2_MAGIC) throw corrupt(file.path, 'not a qcow2 image');
  const unsupported = (what: string): DiskwrightError => new DiskwrightError('E_IMAGE_UNSUPPORTED', `${file.path}: qcow2 ${what} is not supported`, { value: file.path });
  if (h.version !== 2 && h.version !== 3) throw unsupported(`version ${h.version}`);
  if (h.backing_file_offset !== 0) throw unsupported('with a backing file');
  if (h.crypt_method !== 0) throw unsupported('encryption');
  const incompatible = h.version === 3 ? bigIntOf(h.incompatible_features) : 0n;
  if (incompatible & ~0b1001n) throw unsupported(`incompatible features 0x${incompatible.toString(16)} (external data file, extended L2, or corrupt)`);
  if (incompatible & 0b1000n) {
    // The compression type byte follows the 104-byte header when header_length covers it.
    const type = (h.header_length as number) > QCOW2_HEADER_LENGTH ? file.read(QCOW2_HEADER_LENGTH, 1)[0] : 0;
    if (type !== 0) throw unsupported('zstd-compressed clusters');
  }
  const bits = fieldNumber(file, HEADER, 0, h, 'cluster_bits', MIN_CLUSTER_BITS, MAX_CLUSTER_BITS);
  const cs = 2 ** bits;
  const size = fieldNumber(file, HEADER, 0, h, 'size');
  const l2Entries = cs / 8;
  const x = 62 - (bits - 8);
  const offMask = (1n << BigInt(x)) - 1n;
  const sectMask = (1n << BigInt(bits - 8)) - 1n;

  // The L1 table (qcow2.txt "Cluster mapping"): enough entries for the virtual size, aligned, in the file.
  const l1Size = fieldNumber(file, HEADER, 0, h, 'l1_size', 0, QCOW_MAX_L1_SIZE / 8);
  const l1Offset = bigIntOf(h.l1_table_offset);
  const l1Needed = Math.ceil(size / (cs * l2Entries));
  if (l1Size < l1Needed) throw corruptAt(file.path, HEADER, 0, `l1_size ${l1Size} maps less than the virtual size ${size} (needs ${l1Needed} entries)`);
  if (l1Offset % BigInt(cs) !== 0n) throw corruptAt(file.path, 'qcow2 L1 table', l1Offset, `not aligned to the ${cs}-byte cluster`);
  const l1 = file.read(file.within('qcow2 L1 table', l1Offset, l1Size * 8), l1Size * 8);
  const l1v = new DataView(l1.buffer);
  const l2 = new Uint8Array(cs);
  const l2v = new DataView(l2.buffer);
  /** The cluster an L1 or L2 entry points to (`pointed`), checked: cluster-aligned and inside the file. */
  const clusterAt = (entry: string, entryAt: number, pointed: string, host: bigint, length: number): number => {
    if (host % BigInt(cs) !== 0n) throw corruptAt(file.path, entry, entryAt, `${pointed} offset ${host} is not aligned to the ${cs}-byte cluster`);
    return file.within(`${pointed} (${entry} at ${entryAt})`, host, length);
  };
  // Walk the mapping once to learn whether any cluster is compressed.
  // (Yielding to the event loop now and then: inflating a large image takes seconds.)
  const visit = async (fn: (guest: number, entry: bigint, l2At: number) => void): Promise<void> => {
    for (let i = 0; i < l1Size; i++) {
      const l1e = l1v.getBigUint64(i * 8);
      if ((l1e & L1E_OFFSET_MASK) === 0n) continue;
      const l2off = clusterAt('qcow2 L1 entry', Number(l1Offset) + i * 8, `qcow2 L2 table ${i}`, l1e & L1E_OFFSET_MASK, cs);
      file.read(l2off, cs, l2);
      for (let j = 0; j < l2Entries; j++) {
        const guest = (i * l2Entries + j) * cs;
        if (guest >= size) break;
        const e = l2v.getBigUint64(j * 8);
        if (e !== 0n) fn(guest, e, l2off + j * 8);
        const p = pace(signal);
        if (p) await p;
      }
    }
  };
  let compressed = false;
  await visit((_g, e) => { if (e & QCOW_OFLAG_COMPRESSED) compressed = true; });

  /** A standard cluster's host offset, or undefined when it reads as zeros. Past the end of the file reads as zeros, as in qemu. */
  const dataCluster = (e: bigint, l2At: number): number | undefined => {
    if ((e & L2E_OFFSET_MASK) === 0n || (h.version === 3 && e & QCOW_OFLAG_ZERO)) return undefined;
    return clusterAt('qcow2 L2 entry', l2At, 'qcow2 data cluster', e & L2E_OFFSET_MASK, 1);
  };
  if (!compressed) {
    const out = new ExtentCollector(file.path, file.size, size);
    await visit((guest, e, l2At) => {
      const host = dataCluster(e, l2At);
      if (host !== undefined) out.add(guest, Math.min(cs, file.size - host), host);
    });
    return { volume: out.finish(), format: 'qcow2', cleanup: () => undefined };
  }
  const scratch = new SparseScratch(size);
  try {
    const cluster = new Uint8Array(cs);
    await visit((guest, e, l2At) => {
      if (e & QCOW_OFLAG_COMPRESSED) {
        // Compressed cluster descriptor (qcow2.txt): host offset in bits 0..x-1, extra 512-byte sectors above.
        const host = file.within('qcow2 compressed cluster', e & offMask, 1);
        const sectors = Number((e >> BigInt(x)) & sectMask) + 1;
        const csize = Math.min(sectors * 512 - (host % 512), file.size - host);
        let data: Uint8Array;
        try {
          data = inflateRawSync(file.read(host, csize), { finishFlush: constants.Z_SYNC_FLUSH /* trailing bytes are padding */, maxOutputLength: cs });
        } catch (err) {
          throw corruptAt(file.path, 'qcow2 compressed cluster', host, `does not inflate to a cluster (${(err as Error).message})`);
        }
        if (data.length < Math.min(cs, size - guest)) throw corrupt(file.path, `compressed cluster at guest offset ${guest} inflates to ${data.length} bytes`);
        scratch.write(guest, data.subarray(0, cs));
        return;
      }
      const host = dataCluster(e, l2At);
      if (host !== undefined) scratch.write(guest, file.read(host, cs, cluster));
    });
    return scratch.finish('qcow2');
  } catch (err) {
    scratch.abort();
    throw err;
  }
}
