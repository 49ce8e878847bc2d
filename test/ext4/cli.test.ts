/**
 * ext4 through the CLI: the quick form `diskwright ext4 DIR -o OUT` and a spec with an ext4
 * partition in a GPT disk, both judged by e2fsck and the kernel's mount.
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cli } from '../helpers/disk.js';
import { compareTreeToDir } from '../helpers/compare-tree.js';
import { needsRoot } from '../helpers/root.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { assertFsckClean, DEFAULT_FEATURES, dumpe2fsHeader, treeOf, withMount } from './ext4-helpers.js';

const tmp = tempDir('dw-ext4c-');
after(() => tmp.cleanup());

let made: string | undefined;
function source(): string {
  if (made) return made;
  const src = join(tmp.dir, 'src');
  made = src;
  mkdirSync(join(src, 'etc'), { recursive: true });
  writeFileSync(join(src, 'etc/hostname'), 'box\n');
  for (let i = 0; i < 100; i++) writeFileSync(join(src, `f${i}`), Buffer.alloc(i * 97, i));
  symlinkSync('etc/hostname', join(src, 'hostname'));
  return src;
}

test('diskwright ext4 DIR -o OUT --label --uuid --extra-space: clean, ids as given, same tree', { skip: needsRoot('loop mount') }, async () => {
  const src = source();
  const img = join(tmp.dir, 'quick.img');
  const r = cli(['ext4', src, '-o', img, '--label', 'quick', '--uuid', 'f222513b-ded1-49fa-b591-20ce86a2fe7f', '--extra-space', '16MiB', '--epoch', '1700000000', '-q']);
  assert.equal(r.status, 0, r.stderr);
  assertFsckClean(img);
  const h = dumpe2fsHeader(img);
  assert.equal(h.get('Filesystem features'), DEFAULT_FEATURES);
  assert.equal(h.get('Filesystem volume name'), 'quick');
  assert.equal(h.get('Filesystem UUID'), 'f222513b-ded1-49fa-b591-20ce86a2fe7f');
  const free = Number(h.get('Free blocks')) * Number(h.get('Block size'));
  assert.ok(free >= 16 * 2 ** 20 && free < 17 * 2 ** 20, `free bytes ${free}`);
  await withMount(img, join(tmp.dir, 'mnt-quick'), (dir) => {
    assert.deepEqual(compareTreeToDir(treeOf(src, 1700000000), dir, { ignore: ['/lost+found'] }), []);
  });
  // Same command, same bytes.
  const img2 = join(tmp.dir, 'quick2.img');
  assert.equal(cli(['ext4', src, '-o', img2, '--label', 'quick', '--uuid', 'f222513b-ded1-49fa-b591-20ce86a2fe7f', '--extra-space', '16MiB', '--epoch', '1700000000', '-q']).status, 0);
  assert.equal(runOk('sha256sum', [img]).split(' ')[0], runOk('sha256sum', [img2]).split(' ')[0]);
});

test('diskwright ext4 with a size too small fails with E_TOO_SMALL and writes nothing', () => {
  const src = source();
  const img = join(tmp.dir, 'small.img');
  const r = cli(['ext4', src, '-o', img, '--size', '300KiB', '-q']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /E_TOO_SMALL.*needs at least \d+ bytes/);
  assert.equal(run('test', ['-e', img]).status, 1);
});

test('an ext4 partition in a GPT disk built from a spec: e2fsck clean at its offset', { skip: needsRoot('loop mount') }, async () => {
  const src = source();
  const spec = join(tmp.dir, 'disk.yaml');
  writeFileSync(spec, `name: disk
seed: ext4-cli
sourceDateEpoch: 1700000000
table: gpt
partitions:
  - { name: root, type: linux, filesystem: ext4, label: nixos, extraSpace: 8MiB, contents: [{ source: ${JSON.stringify(src)}, target: / }, { target: /tmp, directory: true, mode: "1777" }] }
`);
  const img = join(tmp.dir, 'disk.img');
  const r = cli(['build', spec, '-o', img, '-q']);
  assert.equal(r.status, 0, r.stderr);
  const part = (JSON.parse(runOk('sfdisk', ['--json', img])) as { partitiontable: { partitions: { start: number; size: number }[] } }).partitiontable.partitions[0]!;
  const fs = join(tmp.dir, 'part.img');
  runOk('dd', [`if=${img}`, `of=${fs}`, 'bs=512', `skip=${part.start}`, `count=${part.size}`, 'conv=sparse', 'status=none']);
  assertFsckClean(fs);
  const h = dumpe2fsHeader(fs);
  assert.equal(h.get('Filesystem volume name'), 'nixos');
  await withMount(fs, join(tmp.dir, 'mnt-part'), (dir) => {
    assert.equal(run('stat', ['-c', '%a', join(dir, 'tmp')]).stdout.trim(), '1777');
    assert.equal(run('cat', [join(dir, 'etc/hostname')]).stdout, 'box\n');
  });
});

test('ext4 options in a spec reach the filesystem (block size, journal size, reserved %, bytes per inode, hash seed)', () => {
  const src = source();
  const spec = join(tmp.dir, 'opts.yaml');
  writeFileSync(spec, `name: opts
seed: s
sourceDateEpoch: 1700000000
table: none
partitions:
  - name: root
    filesystem: ext4
    label: opts
    size: 64MiB
    ext4: { blockSize: 2048, journalSize: 8MiB, reservedPercent: 1, bytesPerInode: 8192, hashSeed: 11111111-2222-4333-8444-555555555555 }
    contents: [{ source: ${JSON.stringify(src)}, target: / }]
`);
  const img = join(tmp.dir, 'opts.img');
  const r = cli(['build', spec, '-o', img, '-q']);
  assert.equal(r.status, 0, r.stderr);
  assertFsckClean(img);
  const h = dumpe2fsHeader(img);
  assert.equal(h.get('Block size'), '2048');
  assert.equal(h.get('Inode count'), '8192');
  assert.equal(h.get('Reserved block count'), '327');
  assert.equal(h.get('Total journal size'), '8M');
  assert.equal(h.get('Directory Hash Seed'), '11111111-2222-4333-8444-555555555555');
});
