/**
 * `diff` down to files (issue 11): two builds that differ in one file's mode, one file's content
 * and one label name exactly those (and the partition's bytes); added and removed files, an
 * owner, an xattr, a time and a link target are named; two identical builds in different
 * containers (raw against a zstd-compressed streamOptimized VMDK) are identical, exit 0; --json
 * carries the same.
 */
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runOk, tempDir } from '../helpers/tools.js';
import { runBounded, transpileCli, type BoundedRun } from './fast-cli.js';
import { build, diskSpec, EPOCH, sourceTree } from './fixtures.js';

const { dir, cleanup } = tempDir('dw-readdiff-');
after(cleanup);
let main = '';
let tree = '';
const LIMITS = { timeoutMs: 60_000, heapMiB: 256 };
const diff = (a: string, b: string, json = false): Promise<BoundedRun> => runBounded(main, ['diff', a, b, ...(json ? ['--json'] : [])], LIMITS, dir);

before(async () => {
  main = await transpileCli(join(dir, 'cli'));
  tree = sourceTree(dir);
});

/** diskSpec with the ext4 root's label and extra contents entries. */
function spec(src: string, label = 'root', extra: Record<string, unknown>[] = []): Record<string, unknown> {
  const s = diskSpec(src, 'gpt') as { partitions: { label?: string; contents: unknown[] }[] };
  s.partitions[1]!.label = label;
  s.partitions[1]!.contents.push(...extra);
  return s;
}

test('two identical builds in different containers are identical', async () => {
  const a = join(dir, 'same.img'), b = join(dir, 'same.vmdk.zst');
  await build(spec(tree), a);
  await build(spec(tree), b, 'vmdk', 'zstd');
  const r = await diff(a, b);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(r.stdout, 'identical\n');
  const j = await diff(b, a, true);
  assert.equal(j.status, 0, j.stderr);
  assert.deepEqual(JSON.parse(j.stdout), { identical: true, differences: [], files: [] });
});

test('one mode, one content and one label: diff names exactly those', async () => {
  const other = join(dir, 'tree-b');
  cpSync(tree, other, { recursive: true });
  runOk('chmod', ['0600', join(other, 'etc/hostname')]);
  writeFileSync(join(other, 'usr/share/doc/note-03.txt'), 'x'.repeat(2356)); // same length, other bytes
  const a = join(dir, 'a.img'), b = join(dir, 'b.qcow2');
  await build(spec(tree), a);
  await build(spec(other, 'rootfs'), b, 'qcow2');
  const r = await diff(a, b);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.deepEqual(lines.filter((l) => !/content sha256: [0-9a-f]{64} != [0-9a-f]{64}$/.test(l)), [
    'partition 2 (root) filesystem label: root != rootfs',
    'partition 2 (root) /etc/hostname: changed: mode 0644 != 0600',
    'partition 2 (root) /usr/share/doc/note-03.txt: changed: content',
  ]);
  assert.deepEqual(lines.filter((l) => /content sha256/.test(l)).map((l) => l.split(':')[0]), ['partition 2 (root) content sha256']);
  const j = JSON.parse((await diff(a, b, true)).stdout) as { identical: boolean; differences: { what: string }[]; files: { partition: string; path: string; change: string; what: string[] }[] };
  assert.equal(j.identical, false);
  assert.deepEqual(j.differences.map((d) => d.what), ['partition 2 (root) filesystem label', 'partition 2 (root) content sha256']);
  assert.deepEqual(j.files, [
    { partition: 'partition 2 (root)', path: '/etc/hostname', change: 'changed', what: ['mode 0644 != 0600'] },
    { partition: 'partition 2 (root)', path: '/usr/share/doc/note-03.txt', change: 'changed', what: ['content'] },
  ]);
});

test('added, removed, owner, xattr, time and link target are each named', async () => {
  const a = join(dir, 'c.img'), b = join(dir, 'd.vhd');
  const common = [{ target: '/bin/busybox', text: 'bb\n' }, { target: '/etc/motd', text: 'hello\n', xattrs: { 'user.note': 'one' } }];
  await build(spec(tree, 'root', [...common, { target: '/srv/gone', text: 'old\n' }, { target: '/srv/owned', text: 'o\n', user: 0 }, { target: '/srv/link', symlink: '/etc/motd' }]), a);
  await build(spec(tree, 'root', [
    { target: '/bin/busybox', text: 'bb\n' }, { target: '/etc/motd', text: 'hello\n', xattrs: { 'user.note': 'two' } },
    { target: '/srv/new', text: 'new\n' }, { target: '/srv/owned', text: 'o\n', user: 1000, mtime: EPOCH - 10 }, { target: '/srv/link', symlink: '/bin/busybox' },
  ]), b, 'vhd');
  const r = await diff(a, b);
  assert.equal(r.status, 1, r.stderr);
  const files = r.stdout.split('\n').filter((l) => l.startsWith('partition 2 (root) /'));
  assert.deepEqual(files, [
    'partition 2 (root) /etc/motd: changed: xattrs (user.note)',
    'partition 2 (root) /srv/gone: removed',
    'partition 2 (root) /srv/link: changed: target /etc/motd != /bin/busybox',
    'partition 2 (root) /srv/new: added',
    'partition 2 (root) /srv/owned: changed: owner 0:0 != 1000:0, mtime 2023-11-14 22:13:20 != 2023-11-14 22:13:10, atime 2023-11-14 22:13:20 != 2023-11-14 22:13:10, ctime 2023-11-14 22:13:20 != 2023-11-14 22:13:10',
  ]);
});
