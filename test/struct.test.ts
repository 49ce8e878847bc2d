import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineStruct, kindSize } from '../src/util/struct.js';
import { parseSize } from '../src/util/size.js';
import { deriveUuid, guidToBytes, bytesToGuid } from '../src/util/ids.js';

test('struct encodes little, big and both-endian fields at their offsets', () => {
  const S = defineStruct('s', 16, [
    { name: 'a', offset: 0, kind: 'u16le' }, { name: 'b', offset: 2, kind: 'u32be' }, { name: 'c', offset: 6, kind: 'u16both' }, { name: 'd', offset: 10, kind: { bytes: 6 } },
  ]);
  const buf = new Uint8Array(16);
  S.encode({ a: 0x1234, b: 0xa1b2c3d4, c: 0x0102, d: new Uint8Array([9, 8]) }, buf);
  assert.deepEqual([...buf], [0x34, 0x12, 0xa1, 0xb2, 0xc3, 0xd4, 0x02, 0x01, 0x01, 0x02, 9, 8, 0, 0, 0, 0]);
  assert.throws(() => S.encode({ a: 0x10000 }, buf), RangeError);
  assert.equal(S.decode(buf).b, 0xa1b2c3d4);
});

test('sizes parse with binary units and reject junk', () => {
  assert.equal(parseSize('1.5GiB', 'x'), 1610612736);
  assert.equal(parseSize('8KiB', 'x'), 8192);
  assert.equal(parseSize(512, 'x'), 512);
  assert.throws(() => parseSize('12XB', 'p.size'), /p\.size: bad size "12XB"/);
  assert.throws(() => parseSize('0.3', 'x'), /whole number/);
});

test('derived uuids are v4-shaped, stable, and GPT byte order swaps the first three fields', () => {
  const u = deriveUuid('seed', 'disk');
  assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(u, deriveUuid('seed', 'disk'));
  assert.notEqual(u, deriveUuid('seed', 'partition:root'));
  const g = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
  assert.deepEqual([...guidToBytes(g)].slice(0, 8), [0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11]);
  assert.equal(bytesToGuid(guidToBytes(g)), g.toLowerCase());
});

/** A struct with a split whose halves sit apart, as ext4's s_blocks_count_lo (0x4) and _hi (0x150) do. */
const Split = defineStruct('split', 24, [
  { name: 'magic', offset: 0x0, kind: 'u16le' },
  { name: 'count_hi', offset: 0x2, kind: 'u16le' },
  { name: 'count_lo', offset: 0x4, kind: 'u32le' },
  { name: 'words', offset: 0x8, kind: { array: 'u32le', count: 3 } },
  { name: 'uid', offset: 0x14, kind: 'u16le' },
  { name: 'uid_high', offset: 0x16, kind: 'u16le' },
], { count: ['count_lo', 'count_hi'], uid: ['uid', 'uid_high'] });

test('a split field takes the logical value and writes its halves at their offsets', () => {
  const buf = new Uint8Array(24);
  Split.encode({ magic: 0xef53, count: 0x1234_5678_9abc, uid: 70000 }, buf);
  assert.deepEqual([...buf.subarray(0, 8)], [0x53, 0xef, 0x34, 0x12, 0xbc, 0x9a, 0x78, 0x56]);
  // 70000 = 0x1_1170: low 16 bits in uid, the rest in uid_high.
  assert.deepEqual([...buf.subarray(0x14, 0x18)], [0x70, 0x11, 0x01, 0x00]);
  const d = Split.decode(buf);
  assert.equal(d.count, 0x1234_5678_9abc);
  assert.equal(d.uid, 70000);
  assert.equal(d.count_lo, 0x5678_9abc);
  assert.equal(Split.decodeField(buf, 'count_hi'), 0x1234);
  // A bigint, and the direct writer hot paths use, write the same bytes.
  const b2 = new Uint8Array(24);
  Split.encode({ magic: 0xef53, count: 0x1234_5678_9abcn, uid: 70000n }, b2);
  assert.deepEqual(b2, buf);
  const b3 = new Uint8Array(24);
  const dv = new DataView(b3.buffer);
  Split.encode({ magic: 0xef53 }, b3);
  Split.split('count').write(dv, 0, 0x1234_5678_9abc);
  Split.split('uid').write(dv, 0, 70000);
  assert.deepEqual(b3, buf);
  assert.equal(Split.split('count').bits, 48);
  assert.equal(Split.split('count').read(dv, 0), 0x1234_5678_9abc);
});

test('a split value that does not fit its halves is a RangeError, never truncated', () => {
  const buf = new Uint8Array(24);
  const dv = new DataView(buf.buffer);
  for (const v of [2 ** 48, 2n ** 48n, -1, -1n, 0.5, Number.MAX_SAFE_INTEGER + 2, NaN]) {
    assert.throws(() => Split.encode({ count: v }, buf), RangeError, String(v));
    assert.throws(() => Split.split('count').write(dv, 0, v), RangeError, String(v));
  }
  assert.throws(() => Split.encode({ uid: 2 ** 32 }, buf), /split\.uid: value 4294967296 does not fit in 32 bits/);
  assert.deepEqual([...buf], new Array(24).fill(0), 'nothing written by a failed encode');
  Split.encode({ count: 2 ** 48 - 1 }, buf);
  assert.equal(Split.decode(buf).count, 2 ** 48 - 1);
});

test('a split and one of its halves cannot both be given; names are checked at declaration', () => {
  const buf = new Uint8Array(24);
  assert.throws(() => Split.encode({ count: 1, count_hi: 0 }, buf), /count given together with its part count_hi/);
  assert.throws(() => Split.encode({ count: 1, count_lo: 0 }, buf), /count given together with its part count_lo/);
  assert.throws(() => Split.encode({ uid: 1, uid_high: 0 }, buf), /uid given together with its part uid_high/);
  assert.throws(() => defineStruct('x', 8, [{ name: 'a', offset: 0, kind: 'u32le' }], { v: ['a', 'b' as 'a'] }), /split v names no field b/);
  assert.throws(() => defineStruct('x', 16, [{ name: 'a', offset: 0, kind: 'u64le' }, { name: 'b', offset: 8, kind: 'u32le' }], { v: ['a', 'b'] }), /96 bits, more than 64/);
  assert.throws(() => defineStruct('x', 8, [{ name: 'a', offset: 0, kind: 'u32le' }, { name: 'b', offset: 4, kind: 'u32le' }], { b: ['a', 'b'] }), /not its low part/);
  assert.throws(() => defineStruct('x', 8, [{ name: 'a', offset: 0, kind: { bytes: 4 } }, { name: 'b', offset: 4, kind: 'u32le' }], { v: ['a', 'b'] }), /not an integer field/);
});

test('a split decodes above 2^53 as a bigint', () => {
  const S = defineStruct('wide', 8, [{ name: 'lo', offset: 0, kind: 'u32be' }, { name: 'hi', offset: 4, kind: 'u32be' }], { v: ['lo', 'hi'] });
  const buf = new Uint8Array(8);
  S.encode({ v: 2n ** 64n - 1n }, buf);
  assert.deepEqual([...buf], new Array(8).fill(0xff));
  assert.equal(S.decode(buf).v, 2n ** 64n - 1n);
  assert.throws(() => S.encode({ v: 2n ** 64n }, buf), RangeError);
});

test('array fields: element lists at the element size, raw bytes for unions, checked lengths', () => {
  assert.equal(kindSize({ array: 'u32le', count: 15 }), 60);
  assert.equal(kindSize({ array: 'u16be', count: 3 }), 6);
  const buf = new Uint8Array(24);
  Split.encode({ words: [1, 0x01020304] }, buf);
  assert.deepEqual([...buf.subarray(8, 20)], [1, 0, 0, 0, 4, 3, 2, 1, 0, 0, 0, 0]);
  assert.deepEqual(Split.decode(buf).words, [1, 0x01020304, 0]);
  Split.encode({ words: Uint32Array.of(7, 8, 9) }, buf);
  assert.deepEqual(Split.decodeField(buf, 'words'), [7, 8, 9]);
  Split.encode({ words: new Uint8Array([0xaa, 0xbb]) }, buf);
  assert.deepEqual([...buf.subarray(8, 12)], [0xaa, 0xbb, 0, 0]);
  assert.throws(() => Split.encode({ words: [1, 2, 3, 4] }, buf), /4 elements do not fit in 3/);
  assert.throws(() => Split.encode({ words: [2 ** 32] }, buf), /split\.words\[0\]: value 4294967296 does not fit in 32 bits/);
  assert.throws(() => Split.encode({ words: new Uint8Array(13) }, buf), /13 bytes do not fit in 12/);
  assert.throws(() => defineStruct('x', 8, [{ name: 'a', offset: 0, kind: { array: 'u32le', count: 3 } }]), /runs past size 8/);
});
