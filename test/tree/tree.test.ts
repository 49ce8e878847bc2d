import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, symlinkSync, linkSync, utimesSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildTree } from '../../src/tree/build.js';
import { prepareTarInputs } from '../../src/tree/tarinput.js';
import { walkTree, type Tree } from '../../src/tree/model.js';
import { DiskwrightError } from '../../src/errors.js';
import { runOk, tempDir } from '../helpers/tools.js';

/** A plain description of a tree for comparisons (sources' host paths left out). */
function describe(tree: Tree): string[] {
  const out: string[] = [];
  walkTree(tree, (n, path) => {
    const content = n.content?.kind === 'bytes' ? Buffer.from(n.content.data).toString('hex') : n.content?.kind === 'file' ? `file:${n.content.size}` : n.content ? n.content.kind : '';
    out.push([path.toString('latin1'), n.kind, n.mode.toString(8), n.uid, n.gid, n.mtime.sec, n.mtime.nsec, n.size, content, n.symlinkTarget?.toString() ?? '', n.linkId ?? '', n.xattrs.map((x) => `${x.name}=${Buffer.from(x.value).toString()}`).join(',')].join('|'));
  });
  return out;
}

function makeTree(root: string, order: 'forward' | 'reverse'): void {
  const names = ['b', 'a', 'Z', 'é', 'c.d', 'a b', '10', '9'];
  const list = order === 'forward' ? names : names.slice().reverse();
  mkdirSync(join(root, 'dir'), { recursive: true });
  for (const n of list) {
    writeFileSync(join(root, 'dir', n), `content of ${n}\n`);
    utimesSync(join(root, 'dir', n), 1600000000, 1600000000);
  }
  symlinkSync('dir/a', join(root, 'link'));
  linkSync(join(root, 'dir', 'a'), join(root, 'hard'));
  utimesSync(join(root, 'dir'), 1600000000, 1600000000);
}

const { dir, cleanup } = tempDir('dw-tree-');
after(cleanup);

test('reading a tree does not depend on readdir or creation order; children are byte-sorted', () => {
  makeTree(join(dir, 't1'), 'forward');
  makeTree(join(dir, 't2'), 'reverse');
  const a = buildTree([{ source: join(dir, 't1'), target: '/' }], { baseDir: dir, epoch: 1700000000, specPath: 'contents' });
  const b = buildTree([{ source: join(dir, 't2'), target: '/' }], { baseDir: dir, epoch: 1700000000, specPath: 'contents' });
  // every time after the epoch is clamped to it, so the two copies describe identically
  assert.deepEqual(describe(a), describe(b));
  assert.notEqual(describe(a).length, 0);
  const names = a.root.children!.find((c) => c.name.toString() === 'dir')!.children!.map((c) => c.name.toString());
  assert.deepEqual(names, ['10', '9', 'Z', 'a', 'a b', 'b', 'c.d', 'é']);
  const hard = a.root.children!.find((c) => c.name.toString() === 'hard')!;
  const orig = a.root.children!.find((c) => c.name.toString() === 'dir')!.children!.find((c) => c.name.toString() === 'a')!;
  assert.equal(hard.linkId, orig.linkId);
  assert.ok(hard.linkId !== undefined);
  assert.equal(hard.uid, 0, 'owners are root unless the spec says otherwise');
});

test('declared entries, owner names from the tree\'s own /etc/passwd and /etc/group, epoch clamp', () => {
  const t = buildTree([
    { target: '/etc/passwd', text: 'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n' },
    { target: '/etc/group', text: 'root:x:0:\nwheel:x:10:alice\n' },
    { target: '/home/alice', directory: true, mode: '0700', user: 'alice', group: 'wheel' },
    { target: '/tmp', directory: true, mode: '1777' },
    { target: '/bin/sh', symlink: 'busybox' },
    { target: '/dev/console', device: 'char', major: 5, minor: 1, mode: '0600' },
    { target: '/etc/x', text: 'x', xattrs: { 'user.b': '2', 'user.a': '1' }, mtime: 2000000000 },
  ], { baseDir: dir, epoch: 1700000000, specPath: 'contents' });
  const d = describe(t);
  assert.ok(d.includes('/home/alice|dir|700|1000|10|1700000000|0|0||||'), d.join('\n'));
  assert.ok(d.includes('/tmp|dir|1777|0|0|1700000000|0|0||||'));
  assert.ok(d.includes('/bin/sh|symlink|777|0|0|1700000000|0|7||busybox||'));
  assert.ok(d.some((l) => l.startsWith('/dev/console|char|600|')));
  assert.ok(d.includes('/etc/x|file|644|0|0|1700000000|0|1|78|||user.a=1,user.b=2'), 'xattrs sorted, mtime clamped to the epoch');
});

test('errors: duplicate targets, unknown users, collisions without replace', () => {
  const opts = { baseDir: dir, epoch: 1, specPath: 'p[0].contents' };
  assert.throws(() => buildTree([{ target: '/a', text: '1' }, { target: '/a', text: '2' }], opts), (e: DiskwrightError) => e.code === 'E_DUPLICATE_TARGET' && e.path === 'p[0].contents[1].target');
  assert.throws(() => buildTree([{ target: '/a', text: '1', user: 'nobody' }], opts), (e: DiskwrightError) => e.code === 'E_OWNER' && e.path === 'p[0].contents[0].user');
  mkdirSync(join(dir, 'src/etc'), { recursive: true });
  writeFileSync(join(dir, 'src/etc/hosts'), 'a\n');
  assert.throws(() => buildTree([{ source: join(dir, 'src'), target: '/' }, { target: '/etc/hosts', text: 'b' }], opts), (e: DiskwrightError) => e.code === 'E_DUPLICATE_TARGET');
  const t = buildTree([{ source: join(dir, 'src'), target: '/' }, { target: '/etc/hosts', text: 'b', replace: true }], opts);
  assert.ok(describe(t).some((l) => l.startsWith('/etc/hosts|file|644|0|0|1|0|1|62')));
});

test('tar archives (plain and gzip): members, long names, links, owners and times from the archive', async () => {
  const src = join(dir, 'tarsrc');
  mkdirSync(join(src, 'usr/bin'), { recursive: true });
  const long = 'x'.repeat(150);
  writeFileSync(join(src, 'usr/bin', long), 'long\n');
  writeFileSync(join(src, 'usr/bin/tool'), 'tool\n');
  linkSync(join(src, 'usr/bin/tool'), join(src, 'usr/bin/tool2'));
  symlinkSync('tool', join(src, 'usr/bin/t'));
  runOk('tar', ['--format=posix', '--owner=5:5', '--group=7', '--mtime=@1500000000', '--sort=name', '-cf', join(dir, 'l.tar'), '-C', src, '.']);
  runOk('sh', ['-c', `gzip -c ${join(dir, 'l.tar')} > ${join(dir, 'l.tar.gz')}`]);
  for (const f of ['l.tar', 'l.tar.gz']) {
    const entries = [{ tar: join(dir, f), target: '/opt' }];
    const tars = await prepareTarInputs(entries, { baseDir: dir, specPath: 'c' });
    const t = buildTree(entries, { baseDir: dir, epoch: 1700000000, specPath: 'c', tars });
    tars.dispose();
    const d = describe(t);
    assert.ok(d.some((l) => l.startsWith(`/opt/usr/bin/${long}|file|644|5|7|1500000000|0|5|`)), d.join('\n'));
    assert.ok(d.some((l) => l.startsWith('/opt/usr/bin/t|symlink|777|5|7|')));
    const tool = d.find((l) => l.startsWith('/opt/usr/bin/tool|'))!.split('|');
    const tool2 = d.find((l) => l.startsWith('/opt/usr/bin/tool2|'))!.split('|');
    assert.ok(tool[10] !== '' && tool[10] === tool2[10], 'hard link kept');
  }
  rmSync(src, { recursive: true });
});
