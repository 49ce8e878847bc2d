import { inflateRawSync } from 'node:zlib';
import { DiskwrightError } from '../../errors.js';
import { L1E_OFFSET_MASK, L2E_OFFSET_MASK, QCOW2_MAGIC, QCOW_OFLAG_COMPRESSED, Qcow2Header } from '../qcow2/format.js';
import { pace } from '../sink.js';
import { corrupt, type InputFile } from './file.js';
import { SparseScratch, type InputVolume } from './materialize.js';
import { ExtentCollector } from './volume.js';

/** L2 entry bit 0 (version 3): the cluster reads as zeros. */
const QCOW_OFLAG_ZERO = 1n;

/** A qcow2 image (version 2 or 3, no backing file, no encryption, no extended L2) as a Volume. */
export async function readQcow2(file: InputFile, signal?: AbortSignal): Promise<InputVolume> {
  const h = Qcow2Header.decode(file.read(0, 104)) as Record<string, number>;
  if (h.magic !== QCOW2_MAGIC) throw corrupt(file.path, 'not a qcow2 image');
  const unsupported = (what: string): DiskwrightError => new DiskwrightError('E_IMAGE_UNSUPPORTED', `${file.path}: qcow2 ${what} is not supported`, { value: file.path });
  if (h.version !== 2 && h.version !== 3) throw unsupported(`version ${h.version}`);
  if (h.backing_file_offset !== 0) throw unsupported('with a backing file');
  if (h.crypt_method !== 0) throw unsupported('encryption');
  const incompatible = h.version === 3 ? BigInt(h.incompatible_features!) : 0n;
  if (incompatible & ~0b1001n) throw unsupported(`incompatible features 0x${incompatible.toString(16)} (external data file, extended L2, or corrupt)`);
  if (incompatible & 0b1000n) {
    const type = file.read(104, 1)[0];
    if (type !== 0) throw unsupported('zstd-compressed clusters');
  }
  const cs = 2 ** h.cluster_bits!;
  const size = h.size!;
  const l2Entries = cs / 8;
  const x = 62 - (h.cluster_bits! - 8);
  const offMask = (1n << BigInt(x)) - 1n;
  const sectMask = (1n << BigInt(h.cluster_bits! - 8)) - 1n;

  const l1 = file.read(h.l1_table_offset!, h.l1_size! * 8);
  const l1v = new DataView(l1.buffer);
  const l2 = new Uint8Array(cs);
  const l2v = new DataView(l2.buffer);
  // Walk the mapping once to learn whether any cluster is compressed.
  // (Yielding to the event loop now and then: inflating a large image takes seconds.)
  const visit = async (fn: (guest: number, entry: bigint) => void): Promise<void> => {
    for (let i = 0; i < h.l1_size!; i++) {
      const l2off = Number(l1v.getBigUint64(i * 8) & L1E_OFFSET_MASK);
      if (l2off === 0) continue;
      file.read(l2off, cs, l2);
      for (let j = 0; j < l2Entries; j++) {
        const guest = (i * l2Entries + j) * cs;
        if (guest >= size) break;
        const e = l2v.getBigUint64(j * 8);
        if (e !== 0n) fn(guest, e);
        const p = pace(signal);
        if (p) await p;
      }
    }
  };
  let compressed = false;
  await visit((_g, e) => { if (e & QCOW_OFLAG_COMPRESSED) compressed = true; });

  if (!compressed) {
    const out = new ExtentCollector(file.path, file.size, size);
    await visit((guest, e) => {
      const host = Number(e & L2E_OFFSET_MASK);
      if (host !== 0 && !(h.version === 3 && e & QCOW_OFLAG_ZERO)) out.add(guest, cs, host);
    });
    return { volume: out.finish(), format: 'qcow2', cleanup: () => undefined };
  }
  const scratch = new SparseScratch(size);
  try {
    const cluster = new Uint8Array(cs);
    await visit((guest, e) => {
      if (e & QCOW_OFLAG_COMPRESSED) {
        const host = Number(e & offMask);
        const sectors = Number((e >> BigInt(x)) & sectMask) + 1;
        const csize = sectors * 512 - (host % 512);
        const data = inflateRawSync(file.read(host, csize), { finishFlush: 2 /* Z_SYNC_FLUSH: trailing bytes are padding */ });
        if (data.length < Math.min(cs, size - guest)) throw corrupt(file.path, `compressed cluster at guest offset ${guest} inflates to ${data.length} bytes`);
        scratch.write(guest, data.subarray(0, cs));
        return;
      }
      const host = Number(e & L2E_OFFSET_MASK);
      if (host !== 0 && !(h.version === 3 && e & QCOW_OFLAG_ZERO)) scratch.write(guest, file.read(host, cs, cluster));
    });
    return scratch.finish('qcow2');
  } catch (err) {
    scratch.abort();
    throw err;
  }
}
