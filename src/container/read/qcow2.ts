import { DiskwrightError } from '../../errors.js';
import { bigIntOf } from '../../util/struct.js';
import { L1E_OFFSET_MASK, L2E_OFFSET_MASK, QCOW2_HEADER_LENGTH, QCOW2_MAGIC, QCOW_OFLAG_COMPRESSED, Qcow2Header } from '../qcow2/format.js';
import { pushRun, type Mapping, type Run } from './disk.js';
import { corrupt, corruptAt, fieldNumber, type InputFile } from './file.js';

/** L2 entry bit 0 (version 3): the cluster reads as zeros. */
const QCOW_OFLAG_ZERO = 1n;
/** qemu's limits (block/qcow2.h): cluster_bits 9 to 21, an active L1 table of at most 32 MiB. */
const MIN_CLUSTER_BITS = 9;
const MAX_CLUSTER_BITS = 21;
const QCOW_MAX_L1_SIZE = 32 << 20;
const HEADER = 'qcow2 header';
/** L2 tables kept decoded (each one cluster): sequential reads need one, scattered ones a few. */
const L2_CACHE = 16;

/**
 * The mapping of a qcow2 image (version 2 or 3, no backing file, no encryption, no extended L2;
 * qemu docs/interop/qcow2.txt "Cluster mapping"). The header and the L1 table are checked when it
 * is opened, as qemu's qcow2_validate_table does: sizes under qemu's caps, tables cluster-aligned
 * and inside the file, and no two L1 entries naming the same L2 table (which would map one table
 * at many guest offsets: a small file posing as a huge disk). L2 tables are read and their
 * entries checked when a guest range is mapped.
 */
export class Qcow2Mapping implements Mapping {
  readonly size: number;
  private readonly cs: number;
  private readonly l2Entries: number;
  private readonly l1: bigint[] = [];
  private readonly l1Offset: number;
  private readonly x: bigint;
  private readonly offMask: bigint;
  private readonly sectMask: bigint;
  private readonly version: number;
  private readonly cache = new Map<number, DataView>();

  constructor(private readonly file: InputFile) {
    const h = file.decode(Qcow2Header, 0);
    if (h.magic !== QCOW2_MAGIC) throw corrupt(file.path, 'not a qcow2 image');
    const unsupported = (what: string): DiskwrightError => new DiskwrightError('E_IMAGE_UNSUPPORTED', `${file.path}: qcow2 ${what} is not supported`, { value: file.path });
    if (h.version !== 2 && h.version !== 3) throw unsupported(`version ${h.version}`);
    this.version = h.version;
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
    this.cs = 2 ** bits;
    this.size = fieldNumber(file, HEADER, 0, h, 'size');
    this.l2Entries = this.cs / 8;
    this.x = BigInt(62 - (bits - 8));
    this.offMask = (1n << this.x) - 1n;
    this.sectMask = (1n << BigInt(bits - 8)) - 1n;

    // The L1 table: enough entries for the virtual size, aligned, in the file.
    const l1Size = fieldNumber(file, HEADER, 0, h, 'l1_size', 0, QCOW_MAX_L1_SIZE / 8);
    const l1Offset = bigIntOf(h.l1_table_offset);
    const l1Needed = Math.ceil(this.size / (this.cs * this.l2Entries));
    if (l1Size < l1Needed) throw corruptAt(file.path, HEADER, 0, `l1_size ${l1Size} maps less than the virtual size ${this.size} (needs ${l1Needed} entries)`);
    if (l1Offset % BigInt(this.cs) !== 0n) throw corruptAt(file.path, 'qcow2 L1 table', l1Offset, `not aligned to the ${this.cs}-byte cluster`);
    // Only the entries the virtual size uses are read (qemu ignores the rest too).
    this.l1Offset = file.within('qcow2 L1 table', l1Offset, l1Size * 8);
    const l1 = file.read(this.l1Offset, l1Needed * 8);
    const dv = new DataView(l1.buffer, l1.byteOffset, l1.byteLength);
    const seen = new Map<bigint, number>();
    for (let i = 0; i < l1Needed; i++) {
      const l2 = dv.getBigUint64(i * 8) & L1E_OFFSET_MASK;
      const entryAt = this.l1Offset + i * 8;
      if (l2 !== 0n) {
        if (l2 % BigInt(this.cs) !== 0n) throw corruptAt(file.path, 'qcow2 L1 entry', entryAt, `L2 table ${i} offset ${l2} is not aligned to the ${this.cs}-byte cluster`);
        file.within(`qcow2 L2 table ${i} (qcow2 L1 entry at ${entryAt})`, l2, this.cs);
        if (l2 === l1Offset) throw corruptAt(file.path, 'qcow2 L1 entry', entryAt, `L2 table ${i} is the L1 table itself`);
        const other = seen.get(l2);
        if (other !== undefined) throw corruptAt(file.path, 'qcow2 L1 entry', entryAt, `L2 table ${i} at ${l2} is also L2 table ${other}`);
        seen.set(l2, i);
      }
      this.l1.push(l2);
    }
  }

  /** L2 table `i` (its L1 entry was checked when opened). */
  private l2(i: number): DataView {
    const at = Number(this.l1[i]!);
    let t = this.cache.get(at);
    if (t) { this.cache.delete(at); this.cache.set(at, t); return t; }
    const b = this.file.read(at, this.cs);
    t = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (this.cache.size >= L2_CACHE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(at, t);
    return t;
  }

  map(offset: number, length: number): Run[] {
    const out: Run[] = [];
    const cs = this.cs, span = cs * this.l2Entries;
    for (let pos = offset, end = offset + length; pos < end;) {
      const i = Math.floor(pos / span);
      if (this.l1[i] === 0n) {
        const next = Math.min(end, (i + 1) * span);
        pushRun(out, { kind: 'zero', length: next - pos });
        pos = next;
        continue;
      }
      const table = this.l2(i);
      const c = Math.floor(pos / cs);
      const j = c % this.l2Entries;
      const skip = pos - c * cs;
      const len = Math.min(end, (c + 1) * cs) - pos;
      pushRun(out, this.cluster(table.getBigUint64(j * 8), Number(this.l1[i]!) + j * 8, skip, len));
      pos += len;
    }
    return out;
  }

  /** The run of one cluster's `[skip, skip + len)` from its L2 entry `e` (at `entryAt` in the file). */
  private cluster(e: bigint, entryAt: number, skip: number, len: number): Run {
    const cs = this.cs;
    if (e & QCOW_OFLAG_COMPRESSED) {
      // Compressed cluster descriptor (qcow2.txt): host offset in bits 0..x-1, extra 512-byte sectors above.
      const host = Number(e & this.offMask);
      const what = `qcow2 compressed cluster (qcow2 L2 entry at ${entryAt})`;
      this.file.within(what, host, 1);
      const sectors = Number((e >> this.x) & this.sectMask) + 1;
      const size = Math.min(sectors * 512 - (host % 512), this.file.size - host);
      return { kind: 'deflate', length: len, at: host, size, skip, zlib: false, clusterSize: cs, structure: what, structureAt: host };
    }
    const host = e & L2E_OFFSET_MASK;
    if (host === 0n || (this.version === 3 && e & QCOW_OFLAG_ZERO)) return { kind: 'zero', length: len };
    if (host % BigInt(cs) !== 0n) throw corruptAt(this.file.path, 'qcow2 L2 entry', entryAt, `data cluster offset ${host} is not aligned to the ${cs}-byte cluster`);
    // A data cluster past the end of the file reads as zeros (as in qemu); it must start inside it.
    const at = this.file.within(`qcow2 data cluster (qcow2 L2 entry at ${entryAt})`, host, 1);
    return { kind: 'data', length: len, at: at + skip };
  }
}
