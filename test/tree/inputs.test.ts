/**
 * Inputs that lie or change under a build (issue 15): NUL bytes in names, a source that is a
 * symlink to a directory (Nix's ./result), closureInfo store paths outside the store, a source
 * file swapped for a FIFO between planning and writing, unreadable sources (run as nobody).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildImage } from '../../src/build.js';
import { parseImageSpec } from '../../src/spec/schema.js';
import { DiskwrightError } from '../../src/errors.js';
import { buildTree } from '../../src/tree/build.js';
import { CLI, ROOT } from '../helpers/disk.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { cliIn, seeded } from './tar-fixtures.js';

const { dir, cleanup } = tempDir('dw-inputs-');
after(cleanup);
const TMP = join(dir, 'tmp');
mkdirSync(TMP);

const isCode = (code: string, path?: string) => (e: unknown): boolean => {
  assert.ok(e instanceof DiskwrightError, String(e));
  assert.equal(e.code, code, e.message);
  if (path !== undefined) assert.equal(e.path, path, e.message);
  return true;
};

test('NUL bytes in names given to buildTree directly (no spec validation): target, symlink target, source path', () => {
  const opts = { baseDir: dir, epoch: 1, specPath: 'c' };
  assert.throws(() => buildTree([{ target: '/etc/a\0b', text: 'x' }], opts), isCode('E_NUL', 'c[0].target'));
  assert.throws(() => buildTree([{ target: '/bin/sh', symlink: 'busy\0box' }], opts), isCode('E_NUL', 'c[0].symlink'));
  assert.throws(() => buildTree([{ source: `${dir}\0x`, target: '/' }], opts), isCode('E_NUL', 'c[0].source'));
  // Contents may hold NUL bytes.
  const t = buildTree([{ target: '/bin/blob', text: 'a\0b' }], opts);
  assert.equal(t.root.children![0]!.children![0]!.size, 3);
});

test('NUL bytes through buildImage: GPT partition name, label, target (error names the spec path)', async () => {
  await assert.rejects(buildImage({ table: 'gpt', partitions: [{ name: 'ro\0ot', size: '1MiB' }] }, { baseDir: dir }), isCode('E_NUL', 'partitions[0].name'));
  await assert.rejects(buildImage({ table: 'none', partitions: [{ name: 'r', filesystem: 'ext4', label: 'a\0b', contents: [] }] }, { baseDir: dir }), isCode('E_NUL', 'partitions[0].label'));
  await assert.rejects(buildImage({ table: 'none', partitions: [{ name: 'r', filesystem: 'ext4', contents: [{ target: '/a\0', text: '' }] }] }, { baseDir: dir }), isCode('E_NUL', 'partitions[0].contents[0].target'));
});

/** ./result -> a store-like directory holding a file, a subdirectory and inner symlinks. */
function resultLink(): { link: string; real: string } {
  const real = join(dir, 'store', 'abc-system');
  mkdirSync(join(real, 'etc'), { recursive: true });
  writeFileSync(join(real, 'etc/os-release'), seeded(3000, 'os-release'));
  symlinkSync('os-release', join(real, 'etc/os-link'));
  symlinkSync('/nix/store/elsewhere', join(real, 'sw'));
  const link = join(dir, 'result');
  symlinkSync(real, link);
  return { link, real };
}
const { real } = resultLink();

let dumps = 0;
function checkResultImage(img: string, at: string): void {
  runOk('e2fsck', ['-fn', img]);
  const dump = join(dir, `dump-${++dumps}`);
  mkdirSync(dump);
  runOk('debugfs', ['-R', `dump ${at}/etc/os-release ${join(dump, 'os')}`, img]);
  assert.ok(readFileSync(join(dump, 'os')).equals(readFileSync(join(real, 'etc/os-release'))), 'content');
  const root = runOk('debugfs', ['-R', `stat ${at === '' ? '/' : at}`, img]);
  assert.match(root, /Type: directory/, 'the source symlink itself was followed');
  for (const [p, target] of [['etc/os-link', 'os-release'], ['sw', '/nix/store/elsewhere']]) {
    const st = runOk('debugfs', ['-R', `stat ${at}/${p}`, img]);
    assert.match(st, /Type: symlink/, `${p} stays a symlink`);
    assert.ok(st.includes(`Fast link dest: "${target}"`), st);
  }
}

test('source: ./result (a symlink to a directory) as the root and below it (target /opt/sys)', () => {
  for (const [target, at] of [['/', ''], ['/opt/sys', '/opt/sys']] as const) {
    const spec = join(dir, `result-${at === '' ? 'root' : 'opt'}.yaml`);
    writeFileSync(spec, `table: none\nsourceDateEpoch: 1\npartitions:\n  - name: root\n    filesystem: ext4\n    contents:\n      - { source: ./result, target: ${target} }\n`);
    const img = join(dir, `result-${at === '' ? 'root' : 'opt'}.img`);
    const r = cliIn(['build', spec, '-o', img, '-q'], { cwd: dir, tmp: TMP });
    assert.equal(r.status, 0, r.stderr);
    checkResultImage(img, at);
  }
});

test('diskwright ext4 ./result: the link given on the command line is followed', () => {
  const img = join(dir, 'quick-result.img');
  const r = cliIn(['ext4', './result', '-o', img, '-q', '--epoch', '1'], { cwd: dir, tmp: TMP });
  assert.equal(r.status, 0, r.stderr);
  checkResultImage(img, '');
});

test('a dangling source symlink is a one-line E_SOURCE', () => {
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
  const r = cliIn(['ext4', './dangling', '-o', join(dir, 'dangling.img'), '-q'], { cwd: dir, tmp: TMP });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /error E_SOURCE: DIR: /);
});

test('closureInfo whose store-paths names "/", /etc/shadow or a path leaving the store: E_CLOSURE naming the line', async () => {
  const store = join(dir, 'ci-store');
  mkdirSync(store);
  for (const [i, bad] of ['/', '/etc/shadow', '/nix/store/../../etc', '/nix/store/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p-x/sub', 'relative/path', '/nix/store'].entries()) {
    const ci = join(dir, `ci-${i}`);
    mkdirSync(ci);
    writeFileSync(join(ci, 'store-paths'), `/nix/store/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p-ok\n${bad}\n`);
    const spec = { table: 'none', partitions: [{ name: 'r', filesystem: 'ext4', contents: [{ closureInfo: ci }] }] };
    await assert.rejects(buildImage(parseImageSpec(spec), { baseDir: dir, output: join(dir, 'ci.img') }), (e: unknown) => {
      isCode('E_CLOSURE', 'partitions[0].contents[0].closureInfo')(e);
      assert.match((e as Error).message, /store-paths line 2: /);
      assert.ok((e as Error).message.includes(JSON.stringify(bad)), (e as Error).message);
      return true;
    });
  }
  assert.ok(!readdirSync(dir).includes('ci.img'));
});

test('a source file replaced by a FIFO after planning: emission fails naming it, without hanging', () => {
  const src = join(dir, 'fifo-src');
  mkdirSync(src);
  writeFileSync(join(src, 'data'), seeded(1 << 20, 'fifo'));
  writeFileSync(join(src, 'small'), 'x\n');
  const script = join(dir, 'fifo.mts');
  writeFileSync(script, `
import { rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { planImage } from ${JSON.stringify(join(ROOT, 'src/build.ts'))};
import { emit } from ${JSON.stringify(join(ROOT, 'src/container/emit.ts'))};
const plan = await planImage({ table: 'none', partitions: [{ name: 'r', filesystem: 'ext4', contents: [{ source: ${JSON.stringify(src)}, target: '/' }] }] }, { baseDir: ${JSON.stringify(dir)} });
rmSync(${JSON.stringify(join(src, 'data'))});
execFileSync('mkfifo', [${JSON.stringify(join(src, 'data'))}]);
try {
  await emit(plan.disk, ${JSON.stringify(join(dir, 'fifo.img'))}, { format: 'raw', compression: 'none', seed: 's', epoch: 1, hash: false });
  console.log('RESULT ok');
} catch (e) {
  console.log('RESULT', e.code, e.message);
} finally {
  plan.dispose();
}
`);
  const r = spawnSync(process.execPath, [CLI[0]!, CLI[1]!, script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, null, `the build hung (killed after 60 s): ${r.stderr}`);
  assert.match(r.stdout, /RESULT E_INPUT_CHANGED .*fifo-src\/data is no longer a regular file/, r.stdout + r.stderr);
  assert.ok(!readdirSync(dir).some((f) => f.startsWith('fifo.img') || f.startsWith('.fifo.img')), 'no output left');
});

test('unreadable sources, built as nobody: one line, exit 1, naming the file', (t) => {
  if (process.getuid?.() !== 0) { t.skip('needs root to switch to nobody'); return; }
  if (run('sh', ['-c', 'command -v setpriv']).status !== 0) { t.skip('setpriv (util-linux) is missing'); return; }
  chmodSync(dir, 0o755);
  const base = join(dir, 'nobody');
  const out = join(base, 'out');
  mkdirSync(out, { recursive: true });
  chmodSync(out, 0o777);
  const tmp = join(base, 'tmp');
  mkdirSync(tmp);
  chmodSync(tmp, 0o1777);
  const cases: [string, (src: string) => void, RegExp][] = [
    ['file', (src) => { writeFileSync(join(src, 'secret'), 'x'); chmodSync(join(src, 'secret'), 0o000); }, /error E_INPUT_READ: cannot open input file \S+\/secret: EACCES/],
    ['sparse-file', (src) => { writeFileSync(join(src, 'holes'), ''); truncateSync(join(src, 'holes'), 1 << 20); chmodSync(join(src, 'holes'), 0o000); }, /error E_INPUT_READ: cannot open input file \S+\/holes: EACCES/],
    ['directory', (src) => { mkdirSync(join(src, 'private')); writeFileSync(join(src, 'private/x'), 'x'); chmodSync(join(src, 'private'), 0o000); }, /error E_SOURCE: \S+: cannot list source directory \S+\/private: EACCES/],
  ];
  for (const [name, make, says] of cases) {
    const src = join(base, `src-${name}`);
    mkdirSync(src);
    writeFileSync(join(src, 'readable'), 'ok\n');
    make(src);
    chmodSync(src, 0o755);
    const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, ...CLI, 'ext4', src, '-o', join(out, `${name}.img`), '-q'], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp, HOME: tmp }, timeout: 120_000 });
    assert.equal(r.status, 1, `${name}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${name}: one line: ${r.stderr}`);
    assert.match(lines[0]!, says, name);
    assert.deepEqual(readdirSync(out), [], `${name}: no output left`);
  }
});
