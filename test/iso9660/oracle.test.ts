/**
 * ISO 9660 images judged by the reference tools: xorriso reads them without complaint and its
 * media check finds every block good; osirrox extracts the Rock Ridge tree and it equals the
 * source (contents, modes, owners as root and as the host's, symlinks of many components and
 * SL/CE continuations, devices, FIFOs, mtimes, hard links, 255-byte names, directories deeper
 * than 8 levels); isoinfo reads the volume descriptor and both plain trees.
 */
import assert from 'node:assert/strict';
import { chownSync, linkSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildTree } from '../../src/tree/build.js';
import type { Tree } from '../../src/tree/model.js';
import { compareTreeToDir } from '../helpers/compare-tree.js';
import { prng } from '../helpers/prng.js';
import { IS_ROOT, needsRoot } from '../helpers/root.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { buildIso, EPOCH, extract, isoinfoD, isoinfoListing, lsdl, xorrisoClean } from './iso-helpers.js';

const tmp = tempDir('dw-iso-');
after(() => tmp.cleanup());
let n = 0;
const fresh = (name: string): string => { const d = join(tmp.dir, `${name}-${n++}`); mkdirSync(d, { recursive: true }); return d; };
const rand = prng('iso-oracle');

function put(root: string, rel: string, data: string | Buffer, mtime = 1600000001): string {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, data);
  utimesSync(p, mtime, mtime);
  return p;
}

// A symlink target of 1000 bytes: components longer than one SL entry holds (250), "..", ".",
// a leading "/" (ROOT), enough to need several SL entries in a continuation area. libisofs reads
// targets up to 1024 bytes (LIBISOFS_NODE_PATH_MAX).
const LONG_TARGET = ['', 'y'.repeat(250), '..', '.', 'z'.repeat(240), 'w'.repeat(250), 'v'.repeat(250)].join('/');

/** A tree with every kind of node: files (empty, odd sizes, 1 MiB), hard links, long names, deep directories, declared symlinks, devices, FIFOs, sockets. */
function richTree(owners: 'root' | 'host'): { tree: Tree; src: string } {
  const src = fresh('rich');
  put(src, 'empty', '');
  put(src, 'hello.txt', 'hello\n', 1500000000);
  put(src, 'odd.bin', rand.bytes(2049));
  put(src, 'mega.bin', rand.bytes(1 << 20));
  put(src, 'Mixed Case Name.With.Dots.tar.gz', 'x');
  put(src, 'ünïcødé ✓ 日本語.txt', 'unicode\n');
  put(src, 'n'.repeat(255), 'longest name\n');
  put(src, `dir/${'m'.repeat(200)}`, 'long name in a subdirectory\n');
  const h = put(src, 'links/a', 'linked\n');
  linkSync(h, join(src, 'links/b'));
  linkSync(h, join(src, 'hard-at-root'));
  let deep = 'deep';
  for (let i = 1; i <= 20; i++) { deep += `/level${i}`; put(src, `${deep}/file${i}`, `depth ${i}\n`); }
  put(src, 'deep2/a/b/c/d/e/f/g/x', 'another relocated directory\n');
  // Many long names: continuation areas over more than one block.
  for (let i = 0; i < 40; i++) put(src, `many/${String(i).padStart(3, '0')}-${'q'.repeat(230)}`, `${i}`);
  if (IS_ROOT && owners === 'host') {
    chownSync(join(src, 'hello.txt'), 1000, 1001);
    chownSync(join(src, 'dir'), 4242, 0);
  }
  utimesSync(join(src, 'dir'), 1400000000, 1400000000);
  const tree = buildTree([
    { source: src, target: '/', owners },
    { target: '/sym', symlink: 'hello.txt' },
    { target: '/dir/up', symlink: '../hello.txt' },
    { target: '/longsym', symlink: LONG_TARGET },
    { target: '/root-link', symlink: '/' },
    { target: '/dev/null', device: 'char', major: 1, minor: 3, mode: '0666' },
    { target: '/dev/sda1', device: 'block', major: 8, minor: 1 },
    { target: '/dev/big', device: 'char', major: 200, minor: 70000 },
    { target: '/fifo', device: 'fifo', mode: '0600', user: 7, group: 8 },
    { target: '/sock', device: 'socket', mode: '0755' },
    { target: '/setuid', text: 'suid\n', mode: '4755' },
    { target: '/sticky', directory: true, mode: '1777' },
  ], { baseDir: '/', epoch: EPOCH, specPath: 'contents', xattrs: false });
  return { tree, src };
}

/** What osirrox cannot give back: sockets (not restored) and the times of symbolic links (not set). */
function osirroxDiffs(diffs: string[], tree: Tree): string[] {
  const links = new Set<string>();
  const walk = (node: Tree['root'], path: string): void => {
    if (node.kind === 'symlink') links.add(path);
    for (const c of node.children ?? []) walk(c, `${path === '/' ? '' : path}/${c.name.toString()}`);
  };
  walk(tree.root, '/');
  return diffs.filter((d) => d !== '/: entry "sock" missing' && !(/: mtime \d+, expected/.test(d) && links.has(d.slice(0, d.indexOf(': mtime')))));
}

for (const owners of ['root', 'host'] as const) {
  test(`iso9660: a rich tree round-trips through osirrox (owners ${owners})`, { skip: needsRoot('mknod and chown for devices and owners') }, async () => {
    const { tree } = richTree(owners);
    const img = join(tmp.dir, `rich-${owners}.iso`);
    const info = await buildIso(tree, img, { iso: { joliet: true } });
    const report = xorrisoClean(img);
    assert.match(report, /Media region :\s+0 ,\s+\d+ , \+ good/);
    const out = fresh('out');
    extract(img, out);
    // osirrox leaves the extraction directory's own time alone: the root's metadata is checked below.
    const diffs = osirroxDiffs(compareTreeToDir(tree, out, { timeGranularityNs: 1e9, xattrs: false, rootMetadata: false }), tree);
    assert.deepEqual(diffs, []);
    // The socket is recorded (PX mode), though osirrox does not make one.
    const ls = lsdl(img);
    assert.match(ls.get('/') ?? '', /^drwxr-xr-x \d+ 0 0 \d+ Nov 14 2023$/);
    assert.match(ls.get('/sock') ?? '', /^srwxr-xr-x 1 0 0 /);
    assert.match(ls.get('/fifo') ?? '', /^prw------- 1 7 8 /);
    assert.match(ls.get('/dev/big') ?? '', /^crw------- 1 0 0 200,70000 /);
    // Hard links: one inode with three names (PX nlink 3), one data extent.
    const rr = isoinfoListing(img, ['-R']);
    const links = rr.filter((e) => (e.dir === '/links/' && (e.name === 'a' || e.name === 'b')) || (e.dir === '/' && e.name === 'hard-at-root'));
    assert.equal(links.length, 3);
    for (const l of links) assert.deepEqual([l.nlink, l.lba, l.size], [3, links[0]!.lba, 7]);
    assert.ok(links[0]!.lba > 0);
    const empty = rr.find((e) => e.dir === '/' && e.name === 'empty')!;
    assert.deepEqual([empty.lba, empty.size], [0, 0], 'a zero-length file has extent 0, as xorriso');
    // isoinfo -d: the volume descriptor's fields.
    const d = isoinfoD(img);
    assert.equal(d.get('Volume id'), 'TESTISO');
    assert.equal(d.get('Logical block size is'), '2048');
    assert.equal(Number(d.get('Volume size is')), info.details?.sectors);
    assert.equal(info.size, Number(info.details?.sectors) * 2048);
    assert.ok(d.has('Rock Ridge signatures version 1 found'));
    assert.ok(d.has('Joliet with UCS level 3 found'));
    assert.equal(info.details?.relocatedDirectories, 4);
  });
}

test('iso9660: plain ECMA-119 names are unique d-characters in 9.3 order, deep directories in /RR_MOVED', async () => {
  const src = fresh('names');
  for (const name of ['README.txt', 'readme.TXT', 'read me.txt', 'a.b.c', 'noext', '.hidden', 'x'.repeat(40) + '.tar.gz', 'x'.repeat(40) + '.tar.xz', 'Z', 'z']) put(src, name, name);
  let deep = '';
  for (let i = 0; i < 10; i++) deep += `/d${i}`;
  put(src, `${deep}/f`, 'deep');
  const img = join(tmp.dir, 'names.iso');
  await buildIso(buildTree([{ source: src, target: '/' }], { baseDir: '/', epoch: EPOCH, specPath: 'contents', xattrs: false }), img);
  xorrisoClean(img);
  const listing = runOk('isoinfo', ['-l', '-i', img]);
  const dirs = listing.split(/\n(?=Directory listing of )/).filter((b) => b.startsWith('Directory listing of '));
  let maxDepth = 0;
  for (const block of dirs) {
    const path = /^Directory listing of (.*)\/$/m.exec(block)![1]!;
    maxDepth = Math.max(maxDepth, path.split('/').length - 1);
    const ids = block.split('\n').slice(1).map((l) => /\]\s+(\S+)\s*$/.exec(l)?.[1]).filter((x): x is string => !!x && x !== '.' && x !== '..');
    assert.equal(new Set(ids).size, ids.length, `unique names in ${path}: ${ids.join(' ')}`);
    for (const id of ids) assert.match(id, /^[A-Z0-9_]{1,31}$|^[A-Z0-9_]*\.[A-Z0-9_]*;1$/, `${path}: ${id}`);
    for (const id of ids) assert.ok(id.replace(/;1$/, '').length <= 31, `${path}: ${id} has at most 31 characters`);
    const sorted = [...ids].sort((a, b) => { const [an, ae] = a.replace(/;1$/, '').split('.'); const [bn, be] = b.replace(/;1$/, '').split('.'); return an! < bn! ? -1 : an! > bn! ? 1 : (ae ?? '') < (be ?? '') ? -1 : (ae ?? '') > (be ?? '') ? 1 : 0; });
    assert.deepEqual(ids, sorted, `9.3 order in ${path}`);
  }
  // ECMA-119 6.8.2.1: at most 8 levels (the root is level 1), so paths of at most 7 components.
  assert.ok(maxDepth <= 7, `ECMA-119 depth ${maxDepth}`);
  assert.match(listing, /Directory listing of \/RR_MOVED\//);
  // Zero-length files (here the placeholder of the relocated directory) have extent 0.
  assert.match(listing, /\[\s+0 00\]\s+D7\s*$/m);
  // The path tables (9.4), as isoinfo -p reads the type L one: every directory with its extent, parents
  // first, by level, parent number and name; the type M table holds the same in big-endian.
  const listed = new Map(dirs.map((b) => [/^Directory listing of (.*)$/m.exec(b)![1]!, Number(/\[\s*(\d+) 02\]\s+\.\s*$/m.exec(b)![1])]));
  const pt = runOk('isoinfo', ['-p', '-i', img]).split('\n').map((l) => /^\s*(\d+):\s+(\d+)\s+([0-9a-f]+)\s?(.*)$/.exec(l)).filter((m) => m !== null);
  assert.equal(pt.length, listed.size);
  const paths: string[] = [];
  const order: [number, number, string][] = [];
  for (const m of pt) {
    const parent = Number(m[2]), name = m[4]!.trim();
    const path = paths.length === 0 ? '/' : `${paths[parent - 1]}${name}/`;
    paths.push(path);
    order.push([path.split('/').length, parent, name]);
    assert.equal(listed.get(path), parseInt(m[3]!, 16), `path table extent of ${path}`);
  }
  assert.deepEqual(order, [...order].sort((a, b) => a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0)));
  const iso = readFileSync(img);
  const pvd = 16 * 2048;
  const tableSize = iso.readUInt32LE(pvd + 132);
  const l = iso.subarray(iso.readUInt32LE(pvd + 140) * 2048).subarray(0, tableSize);
  const mt = iso.subarray(iso.readUInt32BE(pvd + 148) * 2048).subarray(0, tableSize);
  for (let at = 0; at < tableSize; at += 8 + l[at]! + (l[at]! % 2)) {
    assert.equal(mt[at], l[at]);
    assert.equal(mt.readUInt32BE(at + 2), l.readUInt32LE(at + 2));
    assert.equal(mt.readUInt16BE(at + 6), l.readUInt16LE(at + 6));
    assert.ok(mt.subarray(at + 8, at + 8 + l[at]!).equals(l.subarray(at + 8, at + 8 + l[at]!)));
  }
  // Rock Ridge readers see the original tree, without rr_moved.
  const found = runOk('osirrox', ['-indev', img, '-find', '/', '-type', 'f']).split('\n').filter((l) => l.startsWith("'"));
  assert.ok(found.includes(`'${deep}/f'`), found.join('\n'));
  assert.ok(!found.some((l) => l.includes('rr_moved')), 'rr_moved is hidden (RE)');
});

test('iso9660: without Rock Ridge, plain names only and deep directories left in place', async () => {
  const src = fresh('plain');
  put(src, 'Some File.txt', 'x');
  let deep = '';
  for (let i = 0; i < 10; i++) deep += `/d${i}`;
  put(src, `${deep}/f`, 'deep');
  const img = join(tmp.dir, 'norr.iso');
  const info = await buildIso(buildTree([{ source: src, target: '/' }], { baseDir: '/', epoch: EPOCH, specPath: 'contents', xattrs: false }), img, { iso: { rockRidge: false } });
  assert.equal(info.details?.relocatedDirectories, 0);
  xorrisoClean(img);
  assert.ok(!isoinfoD(img).has('Rock Ridge signatures version 1 found'));
  const found = runOk('osirrox', ['-indev', img, '-find', '/', '-type', 'f']).split('\n').filter((l) => l.startsWith("'"));
  // xorriso shows plain names without their trailing dot and version.
  assert.deepEqual(found.sort(), ["'/D0/D1/D2/D3/D4/D5/D6/D7/D8/D9/F'", "'/SOME_FILE.TXT'"].sort());
});

test('iso9660: relocated directories of one name, and a tree with its own rr_moved', async () => {
  const src = fresh('reloc');
  put(src, 'rr_moved/mine.txt', 'the tree\'s own rr_moved\n');
  for (const top of ['x', 'y']) put(src, `${top}/a/b/c/d/e/f/same/leaf.txt`, `${top}\n`);
  const tree = buildTree([{ source: src, target: '/' }], { baseDir: '/', epoch: EPOCH, specPath: 'contents', xattrs: false });
  const img = join(tmp.dir, 'reloc.iso');
  const info = await buildIso(tree, img, { iso: { joliet: true } });
  assert.equal(info.details?.relocatedDirectories, 2);
  xorrisoClean(img);
  const out = fresh('reloc-out');
  extract(img, out);
  assert.deepEqual(compareTreeToDir(tree, out, { timeGranularityNs: 1e9, xattrs: false, rootMetadata: false }), []);
  // The relocation directory took another name; both moved directories are in it, told apart.
  const plain = isoinfoListing(img);
  const moved = plain.filter((e) => e.dir === '/RR_MOVED_1/');
  assert.deepEqual(moved.map((e) => e.name).sort(), ['SAME', 'SAME1']);
  assert.ok(plain.some((e) => e.dir === '/RR_MOVED/' && e.name === 'MINE.TXT;1'));
});

test('iso9660: a directory of thousands of entries, records never across a sector', async () => {
  const src = fresh('big-dir');
  for (let i = 0; i < 3000; i++) put(src, `entry-with-a-longish-name-${String(i).padStart(5, '0')}.data`, `${i}\n`);
  const img = join(tmp.dir, 'bigdir.iso');
  const tree = buildTree([{ source: src, target: '/' }], { baseDir: '/', epoch: EPOCH, specPath: 'contents', xattrs: false });
  await buildIso(tree, img, { iso: { joliet: true } });
  xorrisoClean(img);
  const out = fresh('bigdir-out');
  extract(img, out);
  assert.deepEqual(compareTreeToDir(tree, out, { timeGranularityNs: 1e9, xattrs: false, rootMetadata: false }), []);
  const joliet = runOk('osirrox', ['-read_fs', 'norock', '-indev', img, '-find', '/', '-type', 'f']).split('\n').filter((l) => l.startsWith("'/entry"));
  assert.equal(joliet.length, 3000);
});
