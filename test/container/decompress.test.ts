import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { decompressFile, sniffCompression } from '../../src/codec/index.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { pattern } from './fixtures.js';

const { dir, cleanup } = tempDir('dw-decompress-');
test.after(cleanup);

test('tar inputs compressed by the zstd and xz CLIs decompress (multi-frame)', async () => {
  const plain = join(dir, 'layer.tar');
  writeFileSync(plain, pattern(5 << 20, 'tar-layer'));
  // Two concatenated frames/streams, as parallel compressors write them.
  runOk('sh', ['-c', `(head -c 3000000 "${plain}" | zstd -q -c; tail -c +3000001 "${plain}" | zstd -q -c) > "${plain}.zst"`]);
  runOk('sh', ['-c', `(head -c 3000000 "${plain}" | xz -c; tail -c +3000001 "${plain}" | xz -c) > "${plain}.xz"`]);
  for (const codec of ['zstd', 'xz'] as const) {
    const out = join(dir, `out.${codec}`);
    await decompressFile(codec, `${plain}.${codec === 'zstd' ? 'zst' : 'xz'}`, out);
    assert.ok(readFileSync(out).equals(readFileSync(plain)), codec);
  }
});

test('streaming decompression of every codec, multi-frame, matches the input', async () => {
  const plain = join(dir, 'data');
  writeFileSync(plain, pattern(3 << 20, 'stream'));
  for (const [codec, tool, suffix] of [['zstd', 'zstd -q', 'zst'], ['xz', 'xz', 'xz'], ['gzip', 'gzip', 'gz'], ['bzip2', 'bzip2', 'bz2']] as const) {
    const packed = join(dir, `data.${suffix}`);
    runOk('sh', ['-c', `(head -c 1000000 "${plain}" | ${tool} -c; tail -c +1000001 "${plain}" | ${tool} -c) > "${packed}"`]);
    assert.equal(sniffCompression(readFileSync(packed).subarray(0, 6)), codec);
    const out = join(dir, `data.${codec}.out`);
    await decompressFile(codec, packed, out);
    assert.ok(readFileSync(out).equals(readFileSync(plain)), codec);
  }
});

test('a .zst whose content checksum does not match fails with E_DECOMPRESS (file, compressed offset)', async () => {
  const plain = join(dir, 'sum');
  writeFileSync(plain, pattern(1 << 20, 'checksum'));
  runOk('sh', ['-c', `zstd -q --check -c "${plain}" > "${plain}.zst"`]);
  const packed = readFileSync(`${plain}.zst`);
  packed[packed.length - 1] ^= 0xff; // the frame's XXH64 checksum (low 32 bits)
  writeFileSync(`${plain}.bad.zst`, packed);
  await assert.rejects(decompressFile('zstd', `${plain}.bad.zst`, join(dir, 'sum.out')), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_DECOMPRESS');
    assert.match(e.message, /zstd data of .*sum\.bad\.zst is corrupt or truncated \(at compressed byte \d+\): .*checksum mismatch/);
    return true;
  });
});

test('decompressed output is sparse: all-zero aligned 64 KiB blocks are holes, reported, content exact', async () => {
  const plain = join(dir, 'holey');
  const data = Buffer.alloc(40 << 20);
  data.set(pattern(100_000, 'head'), 0);
  data.set(pattern(5000, 'mid'), (20 << 20) + 123);
  data.set(pattern(70_000, 'tail'), data.length - 70_000);
  writeFileSync(plain, data);
  for (const [codec, tool, suffix] of [['zstd', 'zstd -q', 'zst'], ['xz', 'xz -0', 'xz'], ['gzip', 'gzip -1', 'gz'], ['bzip2', 'bzip2 -1', 'bz2']] as const) {
    runOk('sh', ['-c', `${tool} -c "${plain}" > "${plain}.${suffix}"`]);
    const out = join(dir, `holey.${codec}.out`);
    const { size, holes } = await decompressFile(codec, `${plain}.${suffix}`, out);
    assert.equal(size, data.length, codec);
    assert.ok(readFileSync(out).equals(data), codec);
    const K = 64 << 10;
    assert.deepEqual(holes, [{ start: 2 * K, end: 320 * K }, { start: 321 * K, end: 638 * K }], codec);
    assert.ok(statSync(out).blocks * 512 < 1 << 20, `${codec}: ${statSync(out).blocks} blocks allocated`);
  }
});
