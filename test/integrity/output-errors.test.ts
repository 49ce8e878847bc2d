/**
 * Issue 14 items 2 and 3: write errors. ENOSPC early and late in every format and compression, a
 * read-only filesystem, a directory as -o, EPIPE on stdout: exit 1 (141 quietly for EPIPE), one
 * line on stderr naming the path, no `wrote`, nothing left (not even directories created for the
 * output). Mounting needs root: those tests are skipped, saying so, otherwise.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../../src/build.js';
import { loadSpecFile } from '../../src/spec/parse.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { CLI } from '../helpers/disk.js';
import { isRoot, limited, runCli, sha256File, writeRandomFile, type Run } from './helpers.js';

const { dir, cleanup } = tempDir('dw-integrity-errors-');
const mounts: string[] = [];
after(() => {
  for (const m of mounts) run('umount', ['-l', m]);
  cleanup();
});
const spec = join(dir, 'disk.yaml');
const MiB = 1 << 20;
const NEED_ROOT = isRoot ? false : 'needs root to mount a small tmpfs (mount -t tmpfs)';

before(() => {
  // Incompressible data at the start and at the end (so a compressed stream has data in its first
  // and its last frame), zeros between.
  writeRandomFile(join(dir, 'a.bin'), 'errors-a', 2 * MiB);
  writeRandomFile(join(dir, 'b.bin'), 'errors-b', 2 * MiB);
  writeFileSync(spec, `name: errors
seed: errors
size: 20MiB
table: gpt
partitions:
  - { name: a, type: linux, offset: 1MiB, size: 2MiB, filesystem: image, image: ./a.bin }
  - { name: zeros, type: linux, offset: 3MiB, size: 14MiB }
  - { name: b, type: linux, offset: 17MiB, size: 2MiB, filesystem: image, image: ./b.bin }
`);
});

function tmpfs(name: string, bytes: number, ro = false): string {
  const m = join(dir, name);
  mkdirSync(m);
  runOk('mount', ['-t', 'tmpfs', '-o', `size=${bytes}${ro ? ',ro' : ''}`, 'tmpfs', m]);
  mounts.push(m);
  return m;
}

/** The failure every write error must be: exit 1, one line naming the path, no `wrote`. */
function assertWriteFailure(r: Run, path: string, errno: RegExp, what: string): void {
  assert.equal(r.status, 1, `${what}: exit status (stderr: ${r.stderr})`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: one line on stderr: ${r.stderr}`);
  assert.ok(lines[0]!.startsWith('diskwright: error E_OUTPUT: '), `${what}: ${lines[0]}`);
  assert.ok(lines[0]!.includes(path), `${what}: the line names ${path}: ${lines[0]}`);
  assert.match(lines[0]!, errno, what);
  assert.doesNotMatch(r.stderr + r.stdout, /wrote|sha256|at .*\.ts:\d+/, `${what}: no summary, no hash, no stack trace`);
}

const FORMATS: { name: string; args: string[]; file: string; build: { format: string; compression: string; compressionLevel?: number } }[] = [
  ...['raw', 'qcow2', 'qcow2-compressed', 'vhd', 'vhd-fixed', 'vdi', 'vmdk'].map((f) => ({ name: f, args: ['--format', f], file: `x.${f}`, build: { format: f, compression: 'none' } })),
  ...([['zstd', 3], ['xz', 0], ['gzip', 6], ['bzip2', 1]] as const).map(([c, l]) => ({ name: c, args: ['--compression', c, '--level', String(l)], file: `x.img.${c}`, build: { format: 'raw', compression: c, compressionLevel: l } })),
];

test('ENOSPC early and late, in every format and compression: exit 1, one line, nothing left', { skip: NEED_ROOT }, async () => {
  // The space each output takes (tmpfs allocates written pages only: holes of a raw image are free).
  const refDir = join(dir, 'ref');
  mkdirSync(refDir);
  const used = new Map<string, number>();
  const { spec: specObject } = await loadSpecFile(spec);
  for (const f of FORMATS) {
    const out = join(refDir, f.file);
    await buildImage(specObject, { baseDir: dir, output: out, ...f.build, hash: false });
    used.set(f.name, statSync(out).blocks * 512);
  }
  rmSync(refDir, { recursive: true });
  const scratch = join(dir, 'tmp');
  mkdirSync(scratch);
  const jobs = FORMATS.flatMap((f) => (['early', 'late'] as const).map((when) => async () => {
    const need = used.get(f.name)!;
    // early: room for 64 KiB; late: everything but the last 64 KiB.
    const size = when === 'early' ? 64 << 10 : Math.max(64 << 10, Math.floor((need - (64 << 10)) / 4096) * 4096);
    const m = tmpfs(`${f.name}-${when}`, size);
    const out = join(m, 'new', 'dir', f.file);
    const r = await runCli(['build', spec, '-o', out, ...f.args, '--sha256'], { tmpdir: scratch });
    assertWriteFailure(r, out, /ENOSPC/, `${f.name} ${when} (${size} of ${need} bytes)`);
    assert.deepEqual(readdirSync(m), [], `${f.name} ${when}: nothing left, not even the directories made for the output`);
  }));
  await limited(3, jobs);
  // (tsx keeps its cache there too.)
  assert.deepEqual(readdirSync(scratch).filter((n) => n.startsWith('diskwright-')), [], 'no scratch files left in the temporary directory');
});

test('ENOSPC while converting (early and late, compressed and not): exit 1, one line, nothing left', { skip: NEED_ROOT }, async () => {
  const raw = join(dir, 'convert-src.img');
  const r0 = await runCli(['build', spec, '-o', raw, '-q']);
  assert.equal(r0.status, 0, r0.stderr);
  const cases = [['qcow2', 'none', 64 << 10], ['raw', 'zstd', 4 * MiB - (64 << 10)]] as const;
  for (const [format, compression, size] of cases) {
    const m = tmpfs(`convert-${format}-${compression}`, size);
    const out = join(m, `c.${format}`);
    const r = await runCli(['convert', raw, out, '--format', format, '--compression', compression, '--sha256']);
    assertWriteFailure(r, out, /ENOSPC/, `convert to ${format}+${compression}`);
    assert.deepEqual(readdirSync(m), []);
  }
});

test('a read-only filesystem: exit 1, one line naming the path', { skip: NEED_ROOT }, async () => {
  const m = tmpfs('ro', 1 * MiB, true);
  for (const args of [['--format', 'raw'], ['--compression', 'zstd'], ['--format', 'vmdk']]) {
    const out = join(m, 'x.img');
    const r = await runCli(['build', spec, '-o', out, ...args]);
    assertWriteFailure(r, out, /EROFS/, `read-only ${args.join(' ')}`);
  }
});

test('a directory as -o: exit 1, one line, the directory untouched', async () => {
  const d = join(dir, 'a-directory');
  mkdirSync(d);
  writeFileSync(join(d, 'keep'), 'x');
  for (const args of [[], ['--compression', 'gzip']]) {
    const r = await runCli(['build', spec, '-o', d, ...args]);
    assertWriteFailure(r, d, /directory/, `-o DIR ${args.join(' ')}`);
    assert.deepEqual(readdirSync(d), ['keep']);
  }
});

test('a build that fails before writing leaves no directories behind; one that succeeds creates them', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'size: 1MiB\npartitions:\n  - { name: a, type: linux, size: 4MiB }\n');
  const r = await runCli(['build', bad, '-o', join(dir, 'newdir', 'sub', 'x.img')]);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(existsSync(join(dir, 'newdir')), false);
  const ok = await runCli(['build', spec, '-o', join(dir, 'made', 'sub', 'x.img'), '-q']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(statSync(join(dir, 'made', 'sub', 'x.img')).isFile());
});

test('-o - | head: the build stops quietly (status 141, nothing on stderr); --sha256 prints with -q', async () => {
  for (const args of [[], ['--compression', 'zstd'], ['--format', 'qcow2']]) {
    const cmd = `set -o pipefail; "${process.execPath}" ${CLI.map((a) => `"${a}"`).join(' ')} build "${spec}" -o - ${args.join(' ')} 2>"${dir}/epipe.err" | head -c 1000 >/dev/null; echo "\${PIPESTATUS[0]}"`;
    const r = run('bash', ['-c', cmd]);
    const stderr = run('cat', [join(dir, 'epipe.err')]).stdout;
    assert.equal(r.stdout.trim(), '141', `${args.join(' ')}: ${stderr}`);
    assert.equal(stderr, '', `${args.join(' ')}: quiet`);
  }
  const out = join(dir, 'quiet.img');
  const q = await runCli(['build', spec, '-o', out, '-q', '--sha256']);
  assert.equal(q.status, 0, q.stderr);
  assert.equal(q.stderr, '');
  assert.equal(q.stdout, `${sha256File(out)}  ${out}\n`);
});
