/**
 * Emission reads input files without an fstat per file where it can (src/extent/read.ts: a file read
 * to its end asks for one byte more); every change of an input since planning must still fail the
 * build naming the file, and leave no output: a file grown by one byte, one cut short, and both for
 * a file too large for one emit buffer (checked by fstat at open).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planImage } from '../../src/build.js';
import { emit } from '../../src/container/emit.js';
import { DiskwrightError } from '../../src/errors.js';
import { prng } from '../helpers/prng.js';

const cases: { what: string; size: number; change: (path: string, size: number) => void; message: RegExp }[] = [
  { what: 'small file grown by one byte', size: 3000, change: (p) => appendFileSync(p, 'x'), message: /changed size between planning and writing \(3000 -> 3001 bytes\)/ },
  { what: 'small file cut short', size: 3000, change: (p, n) => truncateSync(p, n - 1), message: /changed size between planning and writing \(3000 -> 2999 bytes\)/ },
  { what: 'large file grown by one byte', size: (5 << 20) + 17, change: (p) => appendFileSync(p, 'x'), message: /changed size between planning and writing/ },
  { what: 'large file cut short', size: (5 << 20) + 17, change: (p, n) => truncateSync(p, n - 4096), message: /changed size between planning and writing/ },
];

for (const c of cases) {
  test(`an input ${c.what} after planning: E_INPUT_CHANGED naming it, no output`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dw-changed-'));
    try {
      const src = join(dir, 'src');
      const out = join(dir, 'out');
      mkdirSync(src);
      mkdirSync(out);
      writeFileSync(join(src, 'a-before'), 'first\n');
      writeFileSync(join(src, 'target'), prng(c.what).bytes(c.size));
      writeFileSync(join(src, 'z-after'), 'last\n');
      const plan = await planImage({ table: 'none', partitions: [{ name: 'r', filesystem: 'ext4', contents: [{ source: src, target: '/' }] }] }, { baseDir: dir });
      try {
        c.change(join(src, 'target'), c.size);
        await assert.rejects(emit(plan.disk, join(out, 'x.img'), { format: 'raw', compression: 'none', seed: 's', epoch: 1, hash: false }), (e: unknown) => {
          assert.ok(e instanceof DiskwrightError, String(e));
          assert.equal(e.code, 'E_INPUT_CHANGED');
          assert.match(e.message, /src\/target/);
          assert.match(e.message, c.message);
          return true;
        });
      } finally {
        plan.dispose();
      }
      assert.deepEqual(readdirSync(out), [], 'no output left');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
