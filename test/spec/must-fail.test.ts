import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, ROOT } from '../helpers/disk.js';
import { prng } from '../helpers/prng.js';
import { tempDir } from '../helpers/tools.js';

/**
 * Every spec in test/specs/must-fail names its expected error on its first line
 * (`# expect: CODE [spec.path]`). Each must fail through the CLI with exit code 1, a one-line
 * error naming the code and the path, and leave no output (nor temporary) file behind. A spec
 * with a `layout:` preset must be told about in its own keys (`root.size`, `bootSize`), never in
 * the expanded `partitions[…]` paths.
 */
const SPECS = join(ROOT, 'test/specs/must-fail');
const { dir, cleanup } = tempDir('dw-mustfail-');
after(cleanup);
mkdirSync(join(dir, 'specs'));
const rand = prng(0xdead);
writeFileSync(join(dir, 'blob.bin'), rand.bytes(4096));
writeFileSync(join(dir, 'fs.img'), rand.bytes(3 * 1024 * 1024));

for (const file of readdirSync(SPECS).filter((f) => /\.(ya?ml|json)$/.test(f)).sort()) {
  const text = readFileSync(join(SPECS, file), 'utf8');
  const m = /^# expect: (E_[A-Z0-9_]+)(?: (\S+))?/.exec(text);
  test(`must fail: ${file}`, () => {
    assert.ok(m, `${file} lacks an "# expect: CODE path" first line`);
    copyFileSync(join(SPECS, file), join(dir, 'specs', file));
    const out = join(dir, 'out', `${file}.img`);
    mkdirSync(join(dir, 'out'), { recursive: true });
    const r = cli(['build', join(dir, 'specs', file), '-o', out, '-q'], { cwd: dir });
    assert.equal(r.status, 1, `exit status (stderr: ${r.stderr})`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one-line error, got: ${r.stderr}`);
    assert.match(lines[0]!, new RegExp(`error ${m![1]}\\b`), r.stderr);
    if (m![2]) assert.ok(lines[0]!.includes(`${m![2]}:`), `error names the path ${m![2]}: ${r.stderr}`);
    if (/^layout:/m.test(text) && !/^partitions:/m.test(text)) assert.doesNotMatch(lines[0]!, /partitions\[/, 'a preset error names the user\'s keys');
    assert.deepEqual(readdirSync(join(dir, 'out')), [], 'no output or temporary file left');
  });
}
