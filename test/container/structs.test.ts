import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Qcow2Header, planLayout } from '../../src/container/qcow2/format.js';
import { VhdDynamicHeader, VhdFooter, encodeFooter, vhdChecksum, vhdGeometry } from '../../src/container/vhd.js';
import { VdiHeader } from '../../src/container/vdi.js';
import { Marker, SparseExtentHeader, vmdkDescriptor } from '../../src/container/vmdk.js';
import { allocatedBlocks, blockRuns } from '../../src/container/blocks.js';
import { VolumeBuilder } from '../../src/extent/extent.js';
import { deriveUuid, guidToBytes } from '../../src/util/ids.js';

test('container structures have their specifications\' sizes', () => {
  assert.equal(Qcow2Header.size, 104); // qcow2.txt: version 3 header up to header_length
  assert.equal(Qcow2Header.offsetOf('header_length'), 100);
  assert.equal(VhdFooter.size, 512);
  assert.equal(VhdFooter.offsetOf('unique_id'), 68);
  assert.equal(VhdDynamicHeader.size, 1024);
  assert.equal(VhdDynamicHeader.offsetOf('parent_locator_entries'), 576);
  assert.equal(VdiHeader.size, 512);
  assert.equal(VdiHeader.offsetOf('uuidParentModify'), 0x1b8);
  assert.equal(SparseExtentHeader.size, 512);
  assert.equal(SparseExtentHeader.offsetOf('compressAlgorithm'), 77);
  assert.equal(Marker.size, 512);
});

test('VHD CHS geometry follows the specification\'s algorithm', () => {
  // 2 GiB: 4194304 sectors -> spt 63 path (cth >= heads * 1024 with 17 and 31 spt).
  assert.deepEqual(vhdGeometry(4194304), { cylinders: 4161, heads: 16, sectors: 63 });
  // 64 MiB: 131072 sectors -> 17 spt, heads = ceil(cth/1024) = 8.
  assert.deepEqual(vhdGeometry(131072), { cylinders: 963, heads: 8, sectors: 17 });
  // Beyond 65535*16*63: 255 sectors per track, capped at the largest geometry.
  assert.deepEqual(vhdGeometry(65535 * 16 * 255 + 1000), { cylinders: 65535, heads: 16, sectors: 255 });
  for (const ts of [1, 1000, 123457, 4194304, 41943040, 266338304]) {
    const g = vhdGeometry(ts);
    assert.ok(g.cylinders * g.heads * g.sectors <= ts, `${ts}`);
  }
});

test('VHD footer: cookie, qem2 creator (size from current_size), seed-derived id, epoch-relative time, valid checksum', () => {
  const f = encodeFooter(64 << 20, 3, { seed: 'x', epoch: 946684800 + 1234 });
  assert.equal(new TextDecoder().decode(f.subarray(0, 8)), 'conectix');
  assert.equal(new TextDecoder().decode(f.subarray(28, 32)), 'qem2');
  const dv = new DataView(f.buffer);
  assert.equal(dv.getUint32(24), 1234);
  const sum = dv.getUint32(64);
  const copy = f.slice();
  copy.fill(0, 64, 68);
  assert.equal(vhdChecksum(copy), sum);
  assert.deepEqual(encodeFooter(64 << 20, 3, { seed: 'x', epoch: 946684800 + 1234 }), f);
  assert.deepEqual(f.subarray(68, 84), guidToBytes(deriveUuid('x', 'vhd')));
  assert.notDeepEqual(encodeFooter(64 << 20, 3, { seed: 'y', epoch: 946684800 + 1234 }).subarray(68, 84), f.subarray(68, 84));
});

test('qcow2 layout: the refcount blocks cover every cluster, themselves included', () => {
  for (const data of [0, 1, 32768, 32768 * 3 + 5]) {
    const l = planLayout(1 << 40, 65536, Math.ceil(data / 8192), data);
    assert.ok(l.refcountBlocks * 32768 >= l.totalClusters);
    assert.ok(l.refcountTableClusters * 8192 >= l.refcountBlocks);
    assert.equal(l.totalClusters, l.dataAt + data);
  }
});

test('allocation follows the extent list: touched blocks only, runs of consecutive blocks with zeros in the gaps', () => {
  const b = new VolumeBuilder();
  b.addBytes(100, new Uint8Array([1, 2, 3]));
  b.addFill(4096 * 3 - 2, 4, 7);
  b.addBytes(4096 * 10, new Uint8Array(4096).fill(9));
  const v = b.finish(4096 * 11 + 5);
  assert.deepEqual(allocatedBlocks(v, 4096), [0, 2, 3, 10]);
  const runs: { first: number; count: number; sum: number }[] = [];
  // (The run buffer is reused: read each run before asking for the next.)
  for (const r of blockRuns(v, 4096)) runs.push({ first: r.first, count: r.count, sum: r.data.reduce((a, x) => a + x, 0) });
  assert.deepEqual(runs, [{ first: 0, count: 1, sum: 6 }, { first: 2, count: 2, sum: 28 }, { first: 10, count: 1, sum: 9 * 4096 }]);
});

test('VMDK descriptor declares streamOptimized with the CID and the extent size', () => {
  const d = vmdkDescriptor(0x1234abcd, 81945, 'disk.vmdk');
  assert.match(d, /^# Disk DescriptorFile\nversion=1\nCID=1234abcd\nparentCID=ffffffff\ncreateType="streamOptimized"\n/);
  assert.match(d, /\nRW 81945 SPARSE "disk.vmdk"\n/);
});

test('a disk larger than VHD allows (2040 GiB) is an error naming the limit and the formats that can hold it', async () => {
  const { emit } = await import('../../src/container/emit.js');
  const { tempDir } = await import('../helpers/tools.js');
  const { readdirSync } = await import('node:fs');
  const t = tempDir('dw-vhd-size-');
  try {
    const disk = new VolumeBuilder().finish(3 * 2 ** 40);
    for (const format of ['vhd', 'vhd-fixed']) {
      await assert.rejects(emit(disk, `${t.dir}/big.vhd`, { format, compression: 'none', seed: 's', epoch: 0 }), (e: Error & { code?: string }) => e.code === 'E_VHD_SIZE' && /2040 GiB.*qcow2/.test(e.message));
    }
    assert.deepEqual(readdirSync(t.dir), []);
  } finally {
    t.cleanup();
  }
});
