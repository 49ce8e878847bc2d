/**
 * The installed CLI (issue 12, start-up): `npm run build` bundles the CLI into one script,
 * dist/cli/diskwright.cjs, run by dist/cli/main.js (src/cli/launch.ts) with a V8 code cache. It
 * must be the same CLI as the sources: the same --help, the same image bytes (judged by e2fsck and
 * fsck.fat too), workers, codecs and readers that load, signals that still end it with nothing
 * left; `--version` and `--help` load no worker, child process or native addon; and the code cache
 * is only ever an optimisation: written once, used after, and a damaged, foreign, unwritable or
 * disabled cache changes nothing but the time.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { cli, ROOT } from '../helpers/disk.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { writeRandomFile } from '../integrity/helpers.js';

const MAIN = join(ROOT, 'dist/cli/main.js');
const skip = !existsSync(join(ROOT, 'dist/cli/diskwright.cjs')) && 'the CLI is not bundled (npm run build)';
const { dir, cleanup } = tempDir('dw-bundle-');
after(cleanup);

const src = join(dir, 'src');
mkdirSync(join(src, 'sub'), { recursive: true });
writeFileSync(join(src, 'hello.txt'), 'hello\n');
writeFileSync(join(src, 'sub/data.bin'), Buffer.alloc(70_000, 7));
const home = join(dir, 'home');
mkdirSync(home);

interface Run { status: number | null; stdout: string; stderr: string }
/** The bundled CLI, with HOME (so the default cache dir) under the test's directory. */
function bundled(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const base: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete base.XDG_CACHE_HOME;
  delete base.DISKWRIGHT_CACHE_DIR;
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...base, ...env }, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const ext4Args = (out: string): string[] => ['ext4', src, '-o', out, '--epoch', '1700000000', '--seed', 'bundle', '-q'];

test('the bundle is the same CLI: --help of every command, byte for byte', { skip }, () => {
  // Every command the sources declare (the "Commands:" section of their --help).
  const top = cli(['--help']).stdout;
  const commands = top.slice(top.indexOf('Commands:')).split('\n\n')[0]!.split('\n').slice(1).map((l) => l.trim().split(' ')[0]!);
  assert.ok(commands.length >= 8 && commands.includes('build') && commands.includes('ext4'), commands.join(','));
  for (const args of [['--help'], ...commands.map((c) => [c, '--help'])]) {
    const a = bundled(args, { DISKWRIGHT_CACHE_DIR: '' });
    const b = cli(args);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, b.stdout, args.join(' '));
  }
  assert.match(bundled(['--version']).stdout, /^diskwright\/\d+\.\d+\.\d+ /);
  assert.equal(statSync(MAIN).mode & 0o111, 0o111, 'the bin is executable');
  assert.equal(bundled(['nosuch']).status, 2);
});

test('--version and --help load no worker thread, child process or native addon', { skip }, () => {
  const hook = join(dir, 'loaded.cjs');
  writeFileSync(hook, `const dl = process.dlopen, seen = [];
process.dlopen = (m, f, ...r) => { seen.push(f); return dl.call(process, m, f, ...r); };
process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify([...seen, ...process.moduleLoadList.filter((m) => /^NativeModule (worker_threads|child_process)$/.test(m))]) + '\\n'));\n`);
  for (const args of [['--version'], ['--help'], ['ext4', '--help']]) {
    const r = spawnSync(process.execPath, ['-r', hook, MAIN, ...args], { encoding: 'utf8', env: { ...process.env, DISKWRIGHT_CACHE_DIR: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^LOADED \[\]$/m, args.join(' '));
  }
});

test('images built by the bundle equal those built from the sources, and pass e2fsck and fsck.fat', { skip }, () => {
  const a = join(dir, 'a.ext4'), b = join(dir, 'b.ext4');
  assert.equal(bundled(ext4Args(a)).status, 0);
  assert.equal(cli(ext4Args(b)).status, 0);
  assert.equal(sha(a), sha(b));
  runOk('e2fsck', ['-fn', a]);
  const fa = join(dir, 'a.fat'), fb = join(dir, 'b.fat');
  const fat = (out: string): string[] => ['fat', src, '-o', out, '--epoch', '1700000000', '--seed', 'bundle', '-q'];
  assert.equal(bundled(fat(fa)).status, 0);
  assert.equal(cli(fat(fb)).status, 0);
  assert.equal(sha(fa), sha(fb));
  runOk('fsck.fat', ['-n', fa]);
});

test('from the bundle: compression on worker threads, convert\'s readers, inspect on its worker', { skip }, () => {
  const img = join(dir, 'c.ext4');
  assert.equal(bundled(ext4Args(img)).status, 0);
  const zst = join(dir, 'c.ext4.zst');
  const r = bundled([...ext4Args(zst), '--compression', 'zstd']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(createHash('sha256').update(spawnSync('zstd', ['-dc', zst], { maxBuffer: 64 << 20 }).stdout).digest('hex'), sha(img));
  const qcow = join(dir, 'c.qcow2');
  const c = bundled(['convert', img, qcow, '--format', 'qcow2', '-q']);
  assert.equal(c.status, 0, c.stderr);
  runOk('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', img, qcow]);
  const i = bundled(['inspect', '--json', '--hash', img]);
  assert.equal(i.status, 0, i.stderr);
  assert.equal(JSON.parse(i.stdout).filesystem.type, 'ext4');
});

test('the code cache: written once per command, then used; damaged, foreign or unwritable caches change nothing but the time', { skip }, () => {
  const cacheDir = join(home, '.cache/diskwright');
  const out = join(dir, 'k.ext4');
  const expected = (() => { cli(ext4Args(out)); return sha(out); })();
  const build = (env: NodeJS.ProcessEnv = {}): void => {
    const r = bundled(ext4Args(out), env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(sha(out), expected);
  };
  const file = (): string => {
    const names = readdirSync(cacheDir).filter((n) => n.endsWith('-ext4.v8'));
    assert.equal(names.length, 1, names.join(','));
    return join(cacheDir, names[0]!);
  };
  // Written on the first run (the default place: ~/.cache/diskwright), owner-only.
  build();
  const f = file();
  assert.equal(statSync(f).mode & 0o777, 0o600);
  assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
  // Used, not rewritten (the same inode) by the next run.
  const ino = statSync(f).ino;
  build();
  assert.equal(statSync(f).ino, ino, 'an accepted cache is not written again');
  // Damaged payload (V8 rejects it), truncated (our length check), writable by others (ignored):
  // each time the build is the same and the cache is replaced by a good one.
  const damage: [string, () => void][] = [
    ['damaged payload', () => { const b = readFileSync(f); b.fill(0x5a, 64); writeFileSync(f, b); }],
    ['truncated', () => truncateSync(f, 100)],
    ['group- and world-writable', () => chmodSync(f, 0o666)],
  ];
  for (const [what, spoil] of damage) {
    spoil();
    const before = statSync(f).ino;
    build();
    assert.notEqual(statSync(f).ino, before, `${what}: the cache was replaced`);
    assert.equal(statSync(f).mode & 0o777, 0o600, what);
  }
  // A failing command writes none.
  const fresh = join(dir, 'fresh-cache');
  const failed = bundled(['fat', join(dir, 'missing'), '-o', join(dir, 'x.img')], { DISKWRIGHT_CACHE_DIR: fresh });
  assert.equal(failed.status, 1);
  assert.equal(existsSync(fresh), false, 'no cache after a failed command');
  // Unwritable or disabled: no cache, same result, not a word on stderr.
  const notDir = join(dir, 'not-a-dir');
  writeFileSync(notDir, '');
  build({ DISKWRIGHT_CACHE_DIR: join(notDir, 'cache') });
  build({ DISKWRIGHT_CACHE_DIR: '', HOME: join(dir, 'home2') });
  assert.equal(existsSync(join(dir, 'home2')), false, 'DISKWRIGHT_CACHE_DIR="" writes nothing');
  build({ XDG_CACHE_HOME: join(dir, 'xdg') });
  assert.ok(readdirSync(join(dir, 'xdg/diskwright')).some((n) => n.endsWith('-ext4.v8')), '$XDG_CACHE_HOME/diskwright');
});

test('SIGTERM during a build from the bundle ends it with 143 and leaves nothing', { skip }, async () => {
  const data = join(dir, 'data.bin');
  writeRandomFile(data, 'bundle-signals', 48 << 20);
  const spec = join(dir, 'sig.yaml');
  writeFileSync(spec, 'name: sig\nseed: sig\ntable: gpt\npartitions:\n  - { name: d, type: linux, size: 48MiB, filesystem: image, image: ./data.bin }\n');
  const outDir = join(dir, 'sig-out');
  // xz runs at a few MB/s here: the build is still running when the signal comes.
  const child = spawn(process.execPath, [MAIN, 'build', spec, '-o', join(outDir, 'sub/x.img.xz'), '--compression', 'xz', '-q'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOME: home } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const done = new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(child.exitCode, null, 'still running');
  child.kill('SIGTERM');
  assert.equal(await done, 143, stderr);
  assert.match(stderr, /interrupted \(SIGTERM\)/);
  assert.equal(existsSync(outDir), false, 'the output directory it made is gone');
});
