/**
 * squashfs against mksquashfs and in the pipeline: the same tree gives the same superblock fields,
 * listing and inode numbers as mksquashfs 4.5, and no more than ~1 % more bytes with gzip; bytes
 * do not depend on the order a tree was created in nor on the number of workers; files of 4 GiB and
 * more; a GPT disk whose root partition is squashfs, read at its offset; the quick form's flags.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compareTreeToDir } from '../helpers/compare-tree.js';
import { cli } from '../helpers/disk.js';
import { prng } from '../helpers/prng.js';
import { needsRoot } from '../helpers/root.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { buildSquashfs, EPOCH, superblockReport, treeOf, withMount } from './squashfs-helpers.js';

const tmp = tempDir('dw-squashfs-build-');
after(() => tmp.cleanup());
let n = 0;
const fresh = (name: string): string => { const d = join(tmp.dir, `${name}-${n++}`); mkdirSync(d, { recursive: true }); return d; };

/** A small rootfs-like tree: text, binaries (seeded random), links, nested directories; created in `order`. */
function rootfs(root: string, order: 'forward' | 'reverse'): void {
  const rnd = prng('squashfs-rootfs');
  const files: [string, Buffer][] = [];
  for (let d = 0; d < 12; d++) {
    for (let f = 0; f < 25; f++) {
      const text = Buffer.from(`# config ${d}/${f}\n${'key = value with some words in it\n'.repeat(1 + ((d * 25 + f) % 90))}`);
      files.push([`etc/d${d}/conf-${f}.txt`, text]);
    }
    files.push([`usr/lib/lib${d}.so`, Buffer.concat([rnd.bytes(20000 + d * 9000), Buffer.alloc(30000 + d * 1000, d)])]);
  }
  files.push(['usr/share/big.dat', Buffer.concat([rnd.bytes(600000), Buffer.from('tail\n'.repeat(50000))])]);
  files.push(['usr/share/copy.dat', files[files.length - 1]![1]]);
  const list = order === 'forward' ? files : [...files].reverse();
  for (const [rel, data] of list) {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, data);
  }
  symlinkSync('../lib/lib0.so', join(root, 'usr/share/link'));
  // Every time below the epoch: mksquashfs, given the same tree, stores the same times.
  const touch = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) touch(p);
      if (!e.isSymbolicLink()) utimesSync(p, EPOCH - 1000, EPOCH - 1000);
    }
    utimesSync(dir, EPOCH - 1000, EPOCH - 1000);
  };
  touch(root);
  runOk('touch', ['-h', '-d', `@${EPOCH - 1000}`, join(root, 'usr/share/link')]);
}

test('squashfs: bytes do not depend on the order the tree was made in nor on the number of workers', async () => {
  const a = fresh('order-a');
  const b = fresh('order-b');
  rootfs(a, 'forward');
  rootfs(b, 'reverse');
  const one = await buildSquashfs(treeOf(a), join(tmp.dir, 'order-a.sqfs'), { workers: 1 });
  const two = await buildSquashfs(treeOf(b), join(tmp.dir, 'order-b.sqfs'), { workers: 2 });
  assert.equal(one.sha256, two.sha256);
  const zstd1 = await buildSquashfs(treeOf(a), join(tmp.dir, 'order-a-zstd.sqfs'), { workers: 1, squashfs: { compression: 'zstd', blockSize: 4096 } });
  const zstd2 = await buildSquashfs(treeOf(b), join(tmp.dir, 'order-b-zstd.sqfs'), { workers: 2, squashfs: { compression: 'zstd', blockSize: 4096 } });
  assert.equal(zstd1.sha256, zstd2.sha256);
  assert.notEqual(one.sha256, zstd1.sha256);
});

test('squashfs: as mksquashfs on the same tree: superblock fields, listing, inode numbers; gzip within 1 % of its size', { skip: needsRoot('loop mount') }, async () => {
  const src = fresh('vs-mksquashfs');
  rootfs(src, 'forward');
  const ours = join(tmp.dir, 'ours.sqfs');
  const theirs = join(tmp.dir, 'theirs.sqfs');
  const planned = await buildSquashfs(treeOf(src), ours);
  runOk('mksquashfs', [src, theirs, '-noappend', '-quiet', '-no-progress', '-all-root', '-mkfs-time', String(EPOCH), '-processors', '2']);
  const fields = (img: string): string[] => superblockReport(img).split('\n').filter((l) => !/^(Found|Filesystem size)/.test(l));
  assert.deepEqual(fields(ours), fields(theirs));
  const listing = (img: string): string => runOk('unsquashfs', ['-lln', img]);
  assert.equal(listing(ours), listing(theirs));
  const size = (img: string): number => Number(/^Filesystem size (\d+) bytes/m.exec(superblockReport(img))![1]);
  const ratio = size(ours) / size(theirs);
  assert.ok(ratio <= 1.01, `ours ${size(ours)} bytes, mksquashfs ${size(theirs)} (${ratio.toFixed(4)})`);
  assert.equal(statSync(ours).size, planned.info.size);
  assert.equal(statSync(ours).size % 4096, 0);
  const inodes = async (img: string, mnt: string): Promise<string> => withMount(img, mnt, (dir) => runOk('find', ['.', '-printf', '%i %p\\n'], { cwd: dir }));
  assert.equal(await inodes(ours, join(tmp.dir, 'mnt-ours')), await inodes(theirs, join(tmp.dir, 'mnt-theirs')));
});

test('squashfs: a sparse file over 4 GiB (extended inode, holes not stored) reads back', { skip: needsRoot('loop mount') }, async () => {
  const src = fresh('huge');
  const fd = openSync(join(src, 'huge.img'), 'w');
  writeSync(fd, Buffer.from('head'), 0, undefined, 0);
  writeSync(fd, Buffer.from('past 4 GiB'), 0, undefined, 2 ** 32 + 100);
  closeSync(fd);
  run('truncate', ['-s', String(2 ** 32 + 3 * 4096 + 17), join(src, 'huge.img')]);
  writeFileSync(join(src, 'small'), 'small\n');
  const tree = treeOf(src);
  const img = join(tmp.dir, 'huge.sqfs');
  const planned = await buildSquashfs(tree, img);
  assert.ok(planned.info.size <= 16384, `image is ${planned.info.size} bytes: holes take no space`);
  assert.match(runOk('unsquashfs', ['-lln', img]), / 4294979601 \S+ \S+ squashfs-root\/huge\.img$/m);
  await withMount(img, join(tmp.dir, 'mnt-huge'), (dir) => {
    const fd2 = openSync(join(dir, 'huge.img'), 'r');
    const buf = Buffer.alloc(10);
    readSync(fd2, buf, 0, buf.length, 2 ** 32 + 100);
    closeSync(fd2);
    assert.equal(buf.toString(), 'past 4 GiB');
    // The kernel counts st_blocks from size minus the lreg inode's sparse bytes: the holes do not count.
    assert.ok(statSync(join(dir, 'huge.img')).blocks < 1024, `st_blocks ${statSync(join(dir, 'huge.img')).blocks}`);
  });
});

test('squashfs: a signal stops planning between blocks and leaves no temporary file', async () => {
  const src = fresh('abort');
  const rnd = prng('squashfs-abort');
  for (let i = 0; i < 40; i++) writeFileSync(join(src, `f${i}`), rnd.bytes(1 << 20));
  const temps = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith('diskwright-squashfs-'));
  const before = temps();
  const controller = new AbortController();
  const started = Date.now();
  const planning = buildSquashfs(treeOf(src), join(tmp.dir, 'abort.sqfs'), { squashfs: { compression: 'xz' }, signal: controller.signal });
  setTimeout(() => controller.abort(), 300);
  await assert.rejects(planning, (e: Error) => e.name === 'AbortError');
  assert.ok(Date.now() - started < 10_000, `stopped after ${Date.now() - started} ms`);
  assert.deepEqual(temps(), before);
});

test('squashfs: a GPT disk whose root partition is squashfs, read at its offset', async () => {
  const src = fresh('gpt-src');
  rootfs(src, 'forward');
  const spec = join(tmp.dir, 'gpt.yaml');
  writeFileSync(spec, [
    'name: sqroot', 'table: gpt', `sourceDateEpoch: ${EPOCH}`, 'partitions:',
    '  - { name: esp, type: esp, size: 1MiB }',
    `  - { name: root, filesystem: squashfs, squashfs: { compression: zstd, blockSize: 256KiB }, contents: [{ source: ${JSON.stringify(src)}, target: / }] }`,
    '',
  ].join('\n'));
  const img = join(tmp.dir, 'gpt.img');
  const report = join(tmp.dir, 'gpt.json');
  const r = cli(['build', spec, '-o', img, '--report', report, '-q']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(runOk('sgdisk', ['-v', img]), /No problems found/);
  const rep = JSON.parse(readFileSync(report, 'utf8')) as { partitions: { offset: number; size: number; type: string; fs?: { type: string; details?: Record<string, unknown> } }[] };
  const root = rep.partitions[1]!;
  assert.equal(root.fs?.type, 'squashfs');
  assert.equal(root.type, '0FC63DAF-8483-4772-8E79-3D69D8477DE4', 'Linux filesystem data by default');
  assert.match(runOk('sgdisk', ['-i', '2', img]), /Partition name: 'root'/);
  const s = superblockReport(img, root.offset);
  assert.match(s, /^Compression zstd$/m);
  assert.match(s, /^Block size 262144$/m);
  const out = join(tmp.dir, 'gpt-x');
  runOk('unsquashfs', ['-q', '-n', '-o', String(root.offset), '-d', out, img]);
  assert.deepEqual(compareTreeToDir(treeOf(src), out, { rootMetadata: false, timeGranularityNs: false, xattrs: false }), []);
});

test('squashfs: a squashfs nested in an ext4 partition (a live image\'s filesystem.squashfs) mounts from inside it', { skip: needsRoot('loop mount') }, async () => {
  const src = fresh('nested-src');
  rootfs(src, 'forward');
  const spec = join(tmp.dir, 'nested.yaml');
  writeFileSync(spec, [
    'name: nested', 'table: none', `sourceDateEpoch: ${EPOCH}`, 'partitions:',
    '  - name: root', '    filesystem: ext4', '    contents:', '      - { target: /etc/hostname, text: "live\\n" }',
    '      - target: /live/filesystem.squashfs',
    `        filesystem: { type: squashfs, squashfs: { compression: xz }, contents: [{ source: ${JSON.stringify(src)}, target: / }] }`,
    '',
  ].join('\n'));
  const img = join(tmp.dir, 'nested.img');
  const r = cli(['build', spec, '-o', img, '-q']);
  assert.equal(r.status, 0, r.stderr);
  await withMount(img, join(tmp.dir, 'mnt-nested-outer'), async (outer) => {
    const inner = join(outer, 'live/filesystem.squashfs');
    assert.match(superblockReport(inner), /^Compression xz$/m);
    mkdirSync(join(tmp.dir, 'mnt-nested-inner'), { recursive: true });
    runOk('mount', ['-t', 'squashfs', '-o', 'loop,ro', inner, join(tmp.dir, 'mnt-nested-inner')]);
    try {
      assert.deepEqual(compareTreeToDir(treeOf(src), join(tmp.dir, 'mnt-nested-inner'), { xattrs: false }), []);
    } finally {
      runOk('umount', [join(tmp.dir, 'mnt-nested-inner')]);
    }
  }, 'ext4');
});

test('squashfs: the quick form takes --compression as the compressor, --block-size, --no-fragments, --owners host', () => {
  const src = fresh('quick');
  writeFileSync(join(src, 'a.txt'), 'quick form\n'.repeat(100));
  writeFileSync(join(src, 'b.txt'), 'b\n');
  const img = join(tmp.dir, 'quick.sqfs');
  const r = cli(['squashfs', src, '-o', img, '--compression', 'xz', '--block-size', '64KiB', '--no-fragments', '--owners', 'host', '--epoch', String(EPOCH), '-q']);
  assert.equal(r.status, 0, r.stderr);
  const s = superblockReport(img);
  assert.match(s, /^Compression xz$/m);
  assert.match(s, /^Block size 65536$/m);
  assert.match(s, /^Fragments are not stored$/m);
  assert.match(s, /^Number of fragments 0$/m);
  const uid = statSync(join(src, 'a.txt')).uid;
  assert.match(runOk('unsquashfs', ['-lln', img]), new RegExp(` ${uid}/\\d+ +1100 \\S+ \\S+ squashfs-root/a\\.txt$`, 'm'));
  // The output is the filesystem itself, not compressed as a whole.
  assert.equal(readFileSync(img).readUInt32LE(0), 0x73717368);
  const bad = cli(['squashfs', src, '-o', join(tmp.dir, 'bad.sqfs'), '--block-size', '3000', '-q']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^diskwright: error E_SQUASHFS_BLOCK_SIZE: --block-size: /);
  const lzo = cli(['squashfs', src, '-o', join(tmp.dir, 'bad.sqfs'), '--compression', 'lzo', '-q']);
  assert.equal(lzo.status, 1);
  assert.match(lzo.stderr, /error E_ENUM: --compression: /);
});
