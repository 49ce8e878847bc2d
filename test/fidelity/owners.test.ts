/**
 * Issue 15.3: `owners: host` keeps the host's numeric uid/gid (as mke2fs -d and tar do); the
 * default stays root:root; setuid, setgid and sticky bits survive either way; per-entry user/group
 * still override; `--owners host` on the quick forms (FAT takes it and has no owners to keep).
 */
import assert from 'node:assert/strict';
import { chownSync, chmodSync, lchownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildImage } from '../../src/build.js';
import { DiskwrightError } from '../../src/errors.js';
import { resolveSpec } from '../../src/spec/validate.js';
import type { ContentEntry, ImageSpec } from '../../src/spec/types.js';
import { buildTree } from '../../src/tree/build.js';
import { compareTreeToDir } from '../helpers/compare-tree.js';
import { assertFsckClean } from '../ext4/ext4-helpers.js';
import { cli } from '../helpers/disk.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { prng } from '../helpers/prng.js';
import { listing, SKIP_UNLESS_ROOT, withRoMount } from './fixtures.js';

const skip = SKIP_UNLESS_ROOT;
const tmp = tempDir('dw-fid-owners-');
after(() => tmp.cleanup());
const src = join(tmp.dir, 'src');
const extra = join(tmp.dir, 'extra');

/** [path, kind, mode, uid, gid]: a debootstrap-like set of owners and special bits. */
const NODES: [string, 'd' | 'f' | 'l' | 'p', number, number, number][] = [
  ['etc', 'd', 0o755, 0, 0],
  ['etc/shadow', 'f', 0o640, 0, 42],
  ['usr', 'd', 0o755, 0, 0],
  ['usr/sbin', 'd', 0o755, 0, 0],
  ['usr/sbin/unix_chkpwd', 'f', 0o2755, 0, 42],
  ['usr/bin', 'd', 0o755, 0, 0],
  ['usr/bin/chage', 'f', 0o2755, 0, 42],
  ['usr/bin/passwd', 'f', 0o4755, 0, 0],
  ['usr/bin/both', 'f', 0o6750, 1000, 1000],
  ['tmp', 'd', 0o1777, 0, 0],
  ['var', 'd', 0o755, 0, 0],
  ['var/mail', 'd', 0o2775, 0, 8],
  ['home', 'd', 0o755, 0, 0],
  ['home/user', 'd', 0o700, 1000, 1000],
  ['home/user/notes', 'f', 0o600, 1000, 1000],
  ['home/user/link', 'l', 0o777, 1000, 1000],
  ['home/user/fifo', 'p', 0o640, 1000, 100],
  ['wide-ids', 'f', 0o644, 100000, 200000],
  ['nobody', 'f', 0o4711, 65534, 65534],
  ['sticky-setgid', 'd', 0o3775, 50, 50],
];

function makeTree(): void {
  const rnd = prng(0x15_03);
  mkdirSync(src);
  for (const [rel, kind, mode, uid, gid] of NODES) {
    const p = join(src, rel);
    if (kind === 'd') mkdirSync(p);
    else if (kind === 'f') writeFileSync(p, rnd.bytes(100 + rel.length));
    else if (kind === 'l') symlinkSync('notes', p);
    else runOk('mkfifo', [p]);
    if (kind === 'l') { lchownSync(p, uid, gid); continue; }
    chownSync(p, uid, gid);
    chmodSync(p, mode); // after chown: chown clears setuid/setgid
  }
  runOk('setfattr', ['-n', 'user.keep', '-v', 'me', join(src, 'etc/shadow')]);
  mkdirSync(extra);
  writeFileSync(join(extra, 'file'), 'extra\n');
  chownSync(join(extra, 'file'), 3000, 3001);
  chmodSync(join(extra, 'file'), 0o2711);
}

const ext4Spec = (contents: ContentEntry[]): ImageSpec =>
  ({ name: 'own', table: 'none', sourceDateEpoch: 1700000000, partitions: [{ name: 'root', filesystem: 'ext4', contents }] });

test('owners: host keeps numeric owners and special bits; the default is root:root with the same bits', { skip }, async () => {
  makeTree();
  const expectHost = listing(src, 'host');
  const expectRoot = listing(src, 'root');
  assert.ok(expectHost.some((l) => l.startsWith('0:42 02755 f ./usr/sbin/unix_chkpwd')), expectHost.join('\n'));

  const host = join(tmp.dir, 'host.img');
  await buildImage(ext4Spec([{ source: src, target: '/', owners: 'host' }]), { output: host, env: {} });
  assertFsckClean(host);
  const dflt = join(tmp.dir, 'default.img');
  await buildImage(ext4Spec([{ source: src, target: '/' }]), { output: dflt, env: {} });
  assertFsckClean(dflt);

  const tree = buildTree([{ source: src, target: '/', owners: 'host' }], { baseDir: '/', epoch: 1700000000, specPath: 'contents' });
  withRoMount(host, join(tmp.dir, 'mnt'), 'ext4', (mnt) => {
    assert.deepEqual(listing(mnt, 'host'), expectHost);
    assert.deepEqual(compareTreeToDir(tree, mnt, { ignore: ['/lost+found'] }), []);
  });
  withRoMount(dflt, join(tmp.dir, 'mnt'), 'ext4', (mnt) => {
    const got = listing(mnt, 'host');
    assert.deepEqual(got, expectRoot);
    assert.ok(got.every((l) => l.startsWith('0:0 ')), got.join('\n'));
  });

  const stat = (img: string, p: string): string => runOk('debugfs', ['-R', `stat ${p}`, img]);
  assert.match(stat(host, '/usr/sbin/unix_chkpwd'), /Mode: +02755[^]*User: +0 +Group: +42 /);
  assert.match(stat(host, '/usr/bin/both'), /Mode: +06750[^]*User: +1000 +Group: +1000 /);
  assert.match(stat(host, '/wide-ids'), /User: +100000 +Group: +200000 /);
  assert.match(stat(host, '/tmp'), /Mode: +01777/);
  assert.match(stat(host, '/etc/shadow'), /Mode: +0640[^]*User: +0 +Group: +42 /);
  assert.match(stat(dflt, '/usr/sbin/unix_chkpwd'), /Mode: +02755[^]*User: +0 +Group: +0 /);
  assert.match(stat(dflt, '/nobody'), /Mode: +04711[^]*User: +0 +Group: +0 /);
  // The host's xattrs came along by default.
  assert.match(runOk('debugfs', ['-R', 'ea_list /etc/shadow', host]), /user\.keep \(2\) = "me"/);
});

test('per-entry user/group override host owners; the quick forms take --owners', { skip }, async () => {
  const img = join(tmp.dir, 'override.img');
  await buildImage(ext4Spec([
    { source: src, target: '/', owners: 'host' },
    { source: join(extra, 'file'), target: '/override', owners: 'host', user: 7, group: 8 },
    { source: extra, target: '/extra-host', owners: 'host' },
    { source: join(src, 'home'), target: '/home-root', owners: 'host', user: 0, group: 0, recursiveOwner: true },
  ]), { output: img, env: {} });
  const stat = (p: string): string => runOk('debugfs', ['-R', `stat ${p}`, img]);
  assert.match(stat('/override'), /Mode: +02711[^]*User: +7 +Group: +8 /);
  assert.match(stat('/extra-host/file'), /Mode: +02711[^]*User: +3000 +Group: +3001 /);
  assert.match(stat('/home-root/user/notes'), /User: +0 +Group: +0 /);
  assert.match(stat('/home/user/notes'), /User: +1000 +Group: +1000 /);

  const q = join(tmp.dir, 'quick.img');
  const r = cli(['ext4', src, '-o', q, '-q', '--owners', 'host', '--epoch', '1700000000']);
  assert.equal(r.status, 0, r.stderr);
  withRoMount(q, join(tmp.dir, 'mnt'), 'ext4', (mnt) => assert.deepEqual(listing(mnt, 'host'), listing(src, 'host')));
  const fatDir = join(tmp.dir, 'fat-src');
  mkdirSync(fatDir);
  writeFileSync(join(fatDir, 'f'), 'x');
  chownSync(join(fatDir, 'f'), 1000, 1000);
  const f = cli(['fat', fatDir, '-o', join(tmp.dir, 'q.fat'), '-q', '--owners', 'host']);
  assert.equal(f.status, 0, f.stderr);
  assert.equal(f.stderr, '');
});

test('owners and xattrs: false are checked in the spec', () => {
  const bad = cli(['ext4', tmp.dir, '-o', join(tmp.dir, 'bad.img'), '--owners', 'nobody']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^diskwright: error \S+: --owners: .*"nobody"/);
  const resolve = (entry: Record<string, unknown>): unknown => resolveSpec({ table: 'none', partitions: [{ filesystem: 'ext4', contents: [entry] }] }, { baseDir: tmp.dir, env: {} });
  const code = (entry: Record<string, unknown>): string => { try { resolve(entry); return 'ok'; } catch (e) { return `${(e as DiskwrightError).code} ${(e as DiskwrightError).path}`; } };
  assert.equal(code({ target: '/a', text: 'x', owners: 'host' }), 'E_OWNER partitions[0].contents[0].owners');
  assert.equal(code({ target: '/a', text: 'x', xattrs: false }), 'E_XATTR partitions[0].contents[0].xattrs');
  assert.equal(code({ source: tmp.dir, target: '/', owners: 'root', xattrs: false }), 'ok');
  assert.equal(code({ source: tmp.dir, target: '/', xattrs: { 'user.a': 'b' } }), 'ok');
  assert.match(code({ source: tmp.dir, target: '/', owners: 'HOST' }), /^E_\w+ partitions\[0\]\.contents\[0\]\.owners$/);
});
