import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineStruct } from '../src/util/struct.js';
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
