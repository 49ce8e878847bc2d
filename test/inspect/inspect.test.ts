import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../../src/build.js';
import { cli, sfdiskJson } from '../helpers/disk.js';
import { runOk, tempDir } from '../helpers/tools.js';

const { dir, cleanup } = tempDir('dw-inspect-');
after(cleanup);
mkdirSync(join(dir, 'root/etc'), { recursive: true });
writeFileSync(join(dir, 'root/etc/os-release'), 'ID=test\n');
const spec = (seed: string): Record<string, unknown> => ({
  seed, sourceDateEpoch: 1700000000, layout: 'efi', bootSize: '64MiB',
  boot: { contents: [{ target: '/EFI/BOOT/x.txt', text: 'x' }] },
  root: { contents: [{ source: './root', target: '/' }] },
});

/** blkid -p reads a superblock at an offset: the reference for TYPE, LABEL and UUID. */
function blkid(img: string, offset: number): Record<string, string> {
  const out = runOk('blkid', ['-p', '-o', 'export', '-O', String(offset), img]);
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split('=') as [string, string]));
}

test('inspect agrees with sfdisk and blkid on tables, filesystems, labels and ids', async () => {
  const img = join(dir, 'a.img');
  await buildImage(spec('one'), { output: img, baseDir: dir });
  const r = cli(['inspect', img, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  const t = sfdiskJson(img);
  assert.equal(info.table, 'gpt');
  assert.equal(info.diskUuid.toUpperCase(), t.id);
  assert.deepEqual(info.problems, []);
  info.partitions.forEach((p: { offset: number; size: number; uuid: string; name: string; filesystem: { type: string; label?: string; uuid?: string } }, i: number) => {
    assert.equal(p.offset, t.partitions[i]!.start * 512);
    assert.equal(p.size, t.partitions[i]!.size * 512);
    assert.equal(p.uuid.toUpperCase(), t.partitions[i]!.uuid);
    assert.equal(p.name, t.partitions[i]!.name);
    const b = blkid(img, p.offset);
    assert.equal(p.filesystem.type, b.TYPE);
    assert.equal(p.filesystem.label, b.LABEL);
    assert.equal(p.filesystem.uuid!.toLowerCase(), b.UUID!.toLowerCase());
  });
});

test('diff: identical builds are identical; another seed differs in ids and content', async () => {
  const a = join(dir, 'a.img'), b = join(dir, 'b.img'), c = join(dir, 'c.img');
  await buildImage(spec('one'), { output: a, baseDir: dir });
  await buildImage(spec('one'), { output: b, baseDir: dir });
  await buildImage({ ...spec('two'), diskUuid: '11111111-2222-4333-8444-555555555555' }, { output: c, baseDir: dir });
  const same = cli(['diff', a, b]);
  assert.equal(same.status, 0);
  assert.equal(same.stdout.trim(), 'identical');
  const d = cli(['diff', a, c]);
  assert.equal(d.status, 1);
  assert.match(d.stdout, /^disk GUID: 97fd5997-f390-0b4a-a3f8-d106c1723aea != 11111111-2222-4333-8444-555555555555$/m);
  assert.match(d.stdout, /partition 1 \(ESP\) filesystem uuid: /);
  assert.match(d.stdout, /partition 1 \(ESP\) content sha256: /);
});
