import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { emit } from '../../src/container/emit.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { fixtures } from './fixtures.js';
import { qemuCompare } from './oracle.js';

const opts = { seed: 'container-test', epoch: 1_700_000_000 };
const TOOLS: Record<string, { test: string[]; decompress: string[]; suffix: string }> = {
  zstd: { test: ['zstd', '-q', '-t'], decompress: ['zstd', '-q', '-d', '-c'], suffix: '.zst' },
  xz: { test: ['xz', '-t'], decompress: ['xz', '-d', '-c'], suffix: '.xz' },
  gzip: { test: ['gzip', '-t'], decompress: ['gzip', '-d', '-c'], suffix: '.gz' },
  bzip2: { test: ['bzip2', '-t'], decompress: ['bzip2', '-d', '-c'], suffix: '.bz2' },
};

const { dir, cleanup } = tempDir('dw-compress-');
const { dir: dir2, cleanup: cleanup2 } = tempDir('dw-compress-again-');
test.after(() => { cleanup(); cleanup2(); });
const [small, , empty] = fixtures(dir);

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

for (const [name, tool] of Object.entries(TOOLS)) {
  test(`${name}: the reference tool verifies and decompresses our stream to the raw build, byte-identical twice`, async () => {
    for (const f of [small!, empty!]) {
      const raw = join(dir, `${f.name}.raw`);
      await emit(f.volume, raw, { ...opts, format: 'raw', compression: 'none' });
      const out = join(dir, `${f.name}.raw${tool.suffix}`);
      const first = await emit(f.volume, out, { ...opts, format: 'raw', compression: name });
      runOk(tool.test[0]!, [...tool.test.slice(1), out]);
      const dec = join(dir, `${f.name}.dec`);
      runOk('sh', ['-c', `${tool.decompress.join(' ')} < "${out}" > "${dec}"`]);
      assert.equal(sha(dec), sha(raw), `${name} -d output equals the raw build`);
      assert.equal(first.sha256, sha(out));
      const again = await emit(f.volume, out.replace(dir, dir2), { ...opts, format: 'raw', compression: name });
      assert.equal(again.sha256, first.sha256, 'byte-identical second build');
    }
  });
}

test('a container inside a compression stream: qcow2 + zstd decompresses to an image qemu-img reads as the raw build', async () => {
  const raw = join(dir, 'small.raw');
  await emit(small!.volume, raw, { ...opts, format: 'raw', compression: 'none' });
  const out = join(dir, 'small.qcow2.zst');
  await emit(small!.volume, out, { ...opts, format: 'qcow2', compression: 'zstd', compressionLevel: 19 });
  const dec = join(dir, 'small.qcow2');
  runOk('zstd', ['-q', '-d', '-f', out, '-o', dec]);
  qemuCompare(raw, dec, 'qcow2');
  assert.equal(run('qemu-img', ['check', dec]).status, 0);
});

test('a compression level outside the codec\'s range is an error before any output', async () => {
  const out = join(dir, 'bad.zst');
  await assert.rejects(emit(small!.volume, out, { ...opts, format: 'raw', compression: 'zstd', compressionLevel: 30 }), { code: 'E_COMPRESSION_LEVEL' });
  await assert.rejects(emit(small!.volume, out, { ...opts, format: 'raw', compression: 'bzip2', compressionLevel: 0 }), { code: 'E_COMPRESSION_LEVEL' });
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.bad') || f.startsWith('bad')), []);
});
