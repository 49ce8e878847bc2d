import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { decompressFile, sniffCompression } from '../../src/container/decompress.js';
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
