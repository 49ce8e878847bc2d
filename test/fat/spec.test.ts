/**
 * FAT through the spec: attributes from `contents`, hard links, a vfat partition inside a GPT disk
 * (mtools at the partition offset), the `diskwright fat` quick form.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildImage } from '../../src/build.js';
import { tempDir } from '../helpers/tools.js';
import { assertSameTree, EPOCH, extract, fsckClean, mtools } from './fat-helpers.js';

const tmp = tempDir('dw-fat-spec-');
after(() => tmp.cleanup());

test('fat: attributes, hard links and a vfat partition in a GPT disk', async () => {
  const src = join(tmp.dir, 'src');
  mkdirSync(join(src, 'EFI/BOOT'), { recursive: true });
  writeFileSync(join(src, 'EFI/BOOT/BOOTX64.EFI'), Buffer.alloc(12345, 0x5a));
  writeFileSync(join(src, 'shared.bin'), 'same bytes\n');
  linkSync(join(src, 'shared.bin'), join(src, 'Link To Shared.bin'));
  for (const p of ['EFI/BOOT/BOOTX64.EFI', 'shared.bin', 'EFI/BOOT', 'EFI']) utimesSync(join(src, p), 1600000000, 1600000000);
  const img = join(tmp.dir, 'disk.img');
  const report = await buildImage({
    name: 'fatspec', sourceDateEpoch: EPOCH, table: 'gpt',
    partitions: [
      {
        name: 'ESP', type: 'esp', filesystem: 'vfat', label: 'ESP', fsUuid: 'ABCD-0123', size: '40MiB', fat: { fatSize: 32 },
        contents: [
          { source: src, target: '/' },
          { text: 'sys\n', target: '/system.dat', attributes: ['readonly', 'hidden', 'system'], mtime: 1600000000 },
        ],
      },
    ],
  }, { output: img, baseDir: tmp.dir });
  const part = report.partitions[0]!;
  const at = `${img}@@${part.offset}`;
  const fs = join(tmp.dir, 'esp.img');
  writeFileSync(fs, readFileSync(img).subarray(part.offset, part.offset + part.size));
  fsckClean(fs);
  const info = mtools('minfo', ['-i', at, '::']);
  assert.match(info, /serial number: ABCD0123/);
  assert.match(info, /disk type="FAT32   "/);
  const attrs = mtools('mattrib', ['-i', at, '::/system.dat', '::/shared.bin']);
  assert.match(attrs, /^\s*A\s+SHR\s+::\/system.dat$/m);
  assert.match(attrs, /^\s*A\s+::\/shared.bin$/m);
  const out = join(tmp.dir, 'out');
  mkdirSync(out);
  extract(fs, out);
  // Both hard links are files with the same content; system.dat comes from the spec, not src.
  assert.equal(readFileSync(join(out, 'Link To Shared.bin'), 'utf8'), 'same bytes\n');
  assert.equal(readFileSync(join(out, 'system.dat'), 'utf8'), 'sys\n');
  writeFileSync(join(src, 'system.dat'), 'sys\n');
  utimesSync(join(src, 'system.dat'), 1600000000, 1600000000);
  assertSameTree(src, out);
});

test('fat: diskwright fat quick form', () => {
  const src = join(tmp.dir, 'quick');
  mkdirSync(join(src, 'a'), { recursive: true });
  writeFileSync(join(src, 'a/Hello World.txt'), 'hi\n');
  const img = join(tmp.dir, 'quick.img');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'fat', src, '-o', img, '--label', 'QUICK', '--fat', '16'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  fsckClean(img);
  const info = mtools('minfo', ['-i', img, '::']);
  assert.match(info, /disk label="QUICK      "/);
  assert.match(info, /disk type="FAT16   "/);
  assert.match(mtools('mdir', ['-/', '-i', img, '::']), /Hello World\.txt/);
});
