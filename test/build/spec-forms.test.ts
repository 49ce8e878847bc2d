import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, defineImage } from '../../src/index.js';
import { cli, ROOT } from '../helpers/disk.js';
import { runOk, tempDir } from '../helpers/tools.js';

const { dir, cleanup } = tempDir('dw-forms-');
after(cleanup);

test('the YAML, JSON and TypeScript forms of one spec give the same bytes', async () => {
  const y = join(dir, 'y.img'), j = join(dir, 'j.img'), t = join(dir, 't.img');
  assert.equal(cli(['build', join(ROOT, 'examples/efi-disk.yaml'), '-o', y, '-q']).status, 0);
  assert.equal(cli(['build', join(ROOT, 'examples/efi-disk.json'), '-o', j, '-q']).status, 0);
  const spec = defineImage(JSON.parse(readFileSync(join(ROOT, 'examples/efi-disk.json'), 'utf8')));
  await buildImage(spec, { output: t, baseDir: join(ROOT, 'examples') });
  const h = (f: string): string => runOk('sha256sum', [f]).split(' ')[0]!;
  assert.equal(h(j), h(y));
  assert.equal(h(t), h(y));
});
