/**
 * The container readers on damaged images: every count, offset and pointer is checked against the
 * file before use, so a damaged header or table is one E_IMAGE_CORRUPT DiskwrightError naming the
 * file, the structure and its offset (never a RangeError, a zlib error or a huge allocation).
 * Fields are damaged through the writers' own struct declarations.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DiskwrightError } from '../../src/errors.js';
import { VolumeBuilder } from '../../src/extent/extent.js';
import { emit } from '../../src/container/emit.js';
import { Qcow2Header } from '../../src/container/qcow2/format.js';
import { openImage } from '../../src/container/read/open.js';
import { VdiHeader } from '../../src/container/vdi.js';
import { VhdDynamicHeader, VhdFooter } from '../../src/container/vhd.js';
import { SparseExtentHeader } from '../../src/container/vmdk.js';
import type { Struct } from '../../src/util/struct.js';
import { prng } from '../helpers/prng.js';
import { tempDir } from '../helpers/tools.js';

const { dir, cleanup } = tempDir('dw-readers-');
after(cleanup);

const FORMATS = ['qcow2', 'qcow2-compressed', 'vhd', 'vhd-fixed', 'vdi', 'vmdk'] as const;
type Format = typeof FORMATS[number];
const rand = prng(0x5eed);
const disk = (() => {
  const b = new VolumeBuilder();
  b.addBytes(0, rand.bytes(5000));
  b.addBytes(3 << 20, rand.bytes(70000));
  b.addFill((6 << 20) - 4096, 4096, 0x5a);
  return b.finish(6 << 20, 'disk');
})();
const images = new Map<Format, Buffer>();
async function image(format: Format): Promise<Buffer> {
  if (!images.has(format)) {
    const path = join(dir, `disk.${format}`);
    await emit(disk, path, { format, compression: 'none', seed: 's', epoch: 0 });
    images.set(format, readFileSync(path));
  }
  return images.get(format)!;
}

/** A copy of `img` with `values` encoded into `struct` at `offset`. */
function damage<N extends string>(img: Buffer, struct: Struct<N>, offset: number, values: Partial<Record<N, number | bigint>>): Buffer {
  const b = Buffer.from(img);
  struct.encode(values, b, offset);
  return b;
}

/** Open `bytes` as an image: 'ok', or the error (which must be a DiskwrightError naming the file). */
async function open(name: string, bytes: Buffer): Promise<'ok' | DiskwrightError> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  try {
    const v = await openImage(path);
    v.cleanup();
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof DiskwrightError, `${name}: ${(e as Error)?.stack ?? String(e)}`);
    assert.ok(e.message.startsWith(`${path}: `), `${name}: the error names the file: ${e.message}`);
    return e;
  }
}

async function expectCorrupt(name: string, bytes: Buffer, re: RegExp): Promise<void> {
  const r = await open(name, bytes);
  assert.notEqual(r, 'ok', `${name}: opened`);
  const e = r as DiskwrightError;
  assert.equal(e.code, 'E_IMAGE_CORRUPT', `${name}: ${e.message}`);
  assert.match(e.message, re, name);
}

test('undamaged images of every format open', async () => {
  for (const f of FORMATS) assert.equal(await open(`good.${f}`, await image(f)), 'ok', f);
});

test('qcow2: header fields and table pointers outside the file are errors naming the structure and offset', async () => {
  const q = await image('qcow2');
  const h = Qcow2Header.decode(q);
  const cs = 2 ** (h.cluster_bits as number);
  await expectCorrupt('l1-size', damage(q, Qcow2Header, 0, { l1_size: 0xffffffff }), /qcow2 header at offset 0: l1_size 4294967295 is not between 0 and/);
  await expectCorrupt('l1-far', damage(q, Qcow2Header, 0, { l1_table_offset: 1n << 60n }), /qcow2 L1 table at offset 1152921504606846976: its \d+ bytes run past the end/);
  await expectCorrupt('l1-unaligned', damage(q, Qcow2Header, 0, { l1_table_offset: (h.l1_table_offset as number) + 8 }), /qcow2 L1 table at offset \d+: not aligned/);
  await expectCorrupt('cluster-bits', damage(q, Qcow2Header, 0, { cluster_bits: 40 }), /cluster_bits 40 is not between 9 and 21/);
  await expectCorrupt('size', damage(q, Qcow2Header, 0, { size: 1n << 60n }), /size 1152921504606846976 is not between 0 and/);
  // An L1 entry pointing past the end of the file.
  const l1 = Buffer.from(q);
  l1.writeBigUInt64BE(BigInt(q.length + cs) | (1n << 63n), h.l1_table_offset as number);
  await expectCorrupt('l2-far', l1, /qcow2 L2 table 0 \(qcow2 L1 entry at \d+\) at offset \d+: its \d+ bytes run past the end/);
});

test('qcow2 compressed: a cluster that does not inflate is an error naming its offset', async () => {
  const q = Buffer.from(await image('qcow2-compressed'));
  // Overwrite everything after the metadata with garbage: the compressed clusters no longer inflate.
  const h = Qcow2Header.decode(q);
  const cs = 2 ** (h.cluster_bits as number);
  const dataAt = q.length - 40000;
  assert.ok(dataAt > (h.l1_table_offset as number) + cs * 2);
  q.fill(0xff, dataAt);
  const r = await open('qc-garbage', q);
  if (r !== 'ok') assert.match(r.message, /qcow2 (compressed cluster|L2)/);
});

test('VHD: the dynamic header, BAT and blocks are checked against the file', async () => {
  const v = await image('vhd');
  const f = VhdFooter.decode(v);
  const at = f.data_offset as number;
  await expectCorrupt('vhd-header-far', damage(v, VhdFooter, 0, { data_offset: 1n << 40n }), /VHD dynamic disk header at offset 1099511627776: /);
  await expectCorrupt('vhd-entries', damage(v, VhdDynamicHeader, at, { max_table_entries: 0xffffffff }), /VHD block allocation table at offset \d+: its 17179869180 bytes run past/);
  await expectCorrupt('vhd-block-size', damage(v, VhdDynamicHeader, at, { block_size: 3 << 20 }), /block_size 3145728 is not a power of two/);
  await expectCorrupt('vhd-small-table', damage(v, VhdDynamicHeader, at, { max_table_entries: 1 }), /cover less than current_size/);
  const bat = Buffer.from(v);
  bat.writeUInt32BE(0x7fffffff, Number(VhdDynamicHeader.decode(v, at).table_offset));
  await expectCorrupt('vhd-bat-far', bat, /VHD block 0 \(BAT entry at \d+\) at offset \d+: /);
  // (A dynamic VHD is read through the footer copy at its start.)
  await expectCorrupt('vhd-size', damage(v, VhdFooter, 0, { current_size: 1n << 62n }), /VHD footer at offset 0: current_size 4611686018427387904 is not between/);
  const fixed = await image('vhd-fixed');
  await expectCorrupt('vhd-fixed-size', damage(fixed, VhdFooter, fixed.length - 512, { current_size: 1n << 62n }), /VHD footer at offset \d+: current_size 4611686018427387904 is not between/);
});

test('VDI: the block map and blocks are checked against the file', async () => {
  const v = await image('vdi');
  const h = VdiHeader.decode(v);
  await expectCorrupt('vdi-map-far', damage(v, VdiHeader, 0, { offBlocks: 0xfffffff0 }), /VDI block map at offset 4294967280: /);
  await expectCorrupt('vdi-blocks', damage(v, VdiHeader, 0, { cBlocks: 0xffffffff }), /VDI block map at offset \d+: its 17179869180 bytes/);
  await expectCorrupt('vdi-cover', damage(v, VdiHeader, 0, { cBlocks: 1 }), /cover less than cbDisk/);
  await expectCorrupt('vdi-block-size', damage(v, VdiHeader, 0, { cbBlock: 0 }), /cbBlock 0 is not between 512/);
  const map = Buffer.from(v);
  map.writeUInt32LE(5000, h.offBlocks as number);
  await expectCorrupt('vdi-index', map, /VDI block map at offset \d+: block 0 points to block 5000/);
});

test('VMDK: the grain directory, grain tables and grains are checked against the file', async () => {
  const v = await image('vmdk');
  const footer = v.length - 1024;
  await expectCorrupt('vmdk-grain', damage(v, SparseExtentHeader, footer, { grainSize: 0 }), /VMDK footer at offset \d+: grainSize 0 is not between 1 and/);
  await expectCorrupt('vmdk-gtes', damage(v, SparseExtentHeader, footer, { numGTEsPerGT: 1 << 30 }), /numGTEsPerGT 1073741824 is not between 1 and 512/);
  await expectCorrupt('vmdk-gd-far', damage(v, SparseExtentHeader, footer, { gdOffset: 1n << 50n }), /VMDK grain directory at offset \d+: /);
  await expectCorrupt('vmdk-capacity', damage(v, SparseExtentHeader, footer, { capacity: 1n << 62n }), /capacity 4611686018427387904 is not between/);
  // Grain table entries pointing past the end of the file.
  const gdAt = Number(SparseExtentHeader.decode(v, footer).gdOffset) * 512;
  const gtAt = v.readUInt32LE(gdAt) * 512;
  const bad = Buffer.from(v);
  bad.writeUInt32LE(0x7fffffff, gtAt);
  await expectCorrupt('vmdk-grain-far', bad, /VMDK grain \(table 0 entry 0 at \d+\) at offset \d+: /);
  const huge = Buffer.from(v);
  huge.writeUInt32LE(0x80000000, v.readUInt32LE(gtAt) * 512 + 8); // the first grain's marker claims 2^31 bytes
  await expectCorrupt('vmdk-grain-size', huge, /VMDK compressed grain marker at offset \d+: size 2147483648 is not between 1 and twice/);
});

test('seeded random damage to the metadata of every format never throws anything but a DiskwrightError', async () => {
  const r = prng(0xbad);
  for (const f of FORMATS) {
    const base = await image(f);
    for (let i = 0; i < 60; i++) {
      const b = Buffer.from(base);
      const n = 1 + r.int(12);
      for (let k = 0; k < n; k++) {
        // The first 4 KiB (headers, tables) and the last 2 KiB (footers, directories).
        const at = r.int(2) ? r.int(Math.min(4096, b.length)) : Math.max(0, b.length - 2048) + r.int(Math.min(2048, b.length));
        r.bytes(1 + r.int(8)).copy(b, Math.min(at, b.length - 1));
      }
      await open(`fuzz.${f}`, b);
    }
  }
});
