/**
 * Issue 14 item 4: SIGINT and SIGTERM at seeded random points of every format (planning included),
 * of `convert`, and of `diff` / `inspect --hash` on an image whose GPT entry claims 2^40 sectors:
 * the CLI ends within a second with 130 / 143 and leaves nothing (no output, no temporary, no
 * scratch file, no directory made for the output). SIGKILL leaves at most the named temp file.
 *
 * The random point is taken from the moment the CLI's own handlers are installed (before that the
 * default action ends the process, which leaves nothing either but says nothing): see helpers.ts.
 * A point past the end of a fast run is drawn again, earlier (see interrupt()).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tools.js';
import { runCli, seeded, spawnCli, waitHandlers, writeRandomFile } from './helpers.js';

const { dir, cleanup } = tempDir('dw-integrity-signals-');
after(cleanup);
const spec = join(dir, 'disk.yaml');
const raw = join(dir, 'disk.img');
const MiB = 1 << 20;
const rnd = seeded('issue-14-signals');
/** The CLI's TMPDIR: its scratch files (qcow2 spools, convert scratch) go here, apart from other processes'. */
const scratchDir = join(dir, 'tmp');
/** diskwright's entries there (tsx keeps its cache there too). */
const scratch = (): string[] => readdirSync(scratchDir).filter((n) => n.startsWith('diskwright-'));

before(async () => {
  mkdirSync(scratchDir);
  writeRandomFile(join(dir, 'data.bin'), 'signals', 256 * MiB);
  writeFileSync(spec, `name: signals
seed: signals
size: 512MiB
table: gpt
partitions:
  - { name: data, type: linux, size: 256MiB, filesystem: image, image: ./data.bin }
  - { name: empty, type: linux, size: fill }
`);
  // (Also fills tsx's cache in the CLI's TMPDIR, so later runs are not slowed by compiling.)
  const r = await runCli(['build', spec, '-o', raw, '-q'], { tmpdir: scratchDir });
  assert.equal(r.status, 0, r.stderr);
});

const CODE = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Start the CLI, wait for its handlers, wait a seeded random time (0..maxDelay ms), send `sig`: it
 * must end within a second with 128+n and leave `outDir` empty. A run that finished before the
 * signal (timing varies with the page cache and the other processes here) had its point past its
 * end: `reset` removes its output and the run is repeated with a point earlier, up to 4 times.
 */
async function interrupt(args: string[], sig: 'SIGINT' | 'SIGTERM', outDir: string | undefined, what: string, maxDelay: number, reset: () => void = () => undefined): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const { child, done } = spawnCli(args, { stdout: 'ignore', tmpdir: scratchDir });
    await waitHandlers(child);
    const delay = Math.floor(rnd() * maxDelay);
    await new Promise((r) => setTimeout(r, delay));
    const t0 = Date.now();
    const running = child.exitCode === null && child.signalCode === null;
    if (running) child.kill(sig);
    const r = await done;
    const took = Date.now() - t0;
    if (r.status === 0 && attempt < 4) {
      reset();
      maxDelay = Math.max(1, delay / 2);
      continue;
    }
    assert.ok(running, `${what}: still running ${delay} ms after its handlers were installed (attempt ${attempt})`);
    assert.equal(r.status, CODE[sig], `${what} (${sig} at +${delay} ms): exit status (ended by signal ${r.signal ?? 'none'}); stderr: ${r.stderr}`);
    assert.ok(took <= 1000, `${what} (${sig} at +${delay} ms): ended ${took} ms after the signal`);
    assert.match(r.stderr, new RegExp(`interrupted \\(${sig}\\)`), what);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, `${what}: no stack trace`);
    if (outDir) assert.deepEqual(readdirSync(outDir), [], `${what}: nothing left in the output directory`);
    assert.deepEqual(scratch(), [], `${what}: no scratch files left`);
    return;
  }
}

const FORMATS: [string, string[]][] = [
  ...['raw', 'qcow2', 'qcow2-compressed', 'vhd', 'vhd-fixed', 'vdi', 'vmdk'].map((f): [string, string[]] => [f, ['--format', f]]),
  ...['zstd', 'xz', 'gzip', 'bzip2'].map((c): [string, string[]] => [c, ['--compression', c]]),
];

test('build: SIGINT and SIGTERM at random points of every format end it within a second, leaving nothing', async () => {
  for (const [name, args] of FORMATS) {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const outDir = join(dir, `out-${name}-${sig}`);
      // The output goes into a directory the build has to create: it must go too.
      await interrupt(['build', spec, '-o', join(outDir, 'sub', `x.${name}`), ...args, '--sha256', '-q'], sig, undefined, `build ${name}`, 1200, () => rmSync(outDir, { recursive: true, force: true }));
      assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith(`out-${name}-${sig}`)), [], `build ${name} ${sig}: the output's directories are gone`);
    }
  }
});

test('a signal as a run ends (its output already in place) never kills the CLI by the signal itself', async () => {
  // A run that ended by draining its event loop had its signal handles closed by Node's teardown,
  // which restores the default action: a signal in those last milliseconds ended the process by
  // the signal (status null), the flaky "raw build ended by signal" of the build test above. The
  // CLI now ends through process.exit (src/cli/signals.ts). Before that, about one in four of
  // these signals killed it (17 of 60 in a run of this loop); 16 runs let that through with a
  // chance of about 1 in 200.
  const small = join(dir, 'small.yaml');
  writeFileSync(small, 'seed: small\nsize: 8MiB\ntable: gpt\npartitions:\n  - { name: p, type: linux, size: fill }\n');
  const outDir = join(dir, 'end-out');
  mkdirSync(outDir);
  const out = join(outDir, 'x.img');
  for (let i = 0; i < 16; i++) {
    rmSync(out, { force: true });
    const sig = i % 2 ? 'SIGINT' : 'SIGTERM';
    const { child, done } = spawnCli(['build', small, '-o', out, '-q'], { stdout: 'ignore', tmpdir: scratchDir });
    await waitHandlers(child);
    // The output appears (renamed into place) in the run's last moments: the signal goes then, or 1-2 ms later.
    while (!existsSync(out) && child.exitCode === null) await new Promise((r) => setImmediate(r));
    if (i % 3) await new Promise((r) => setTimeout(r, i % 3));
    child.kill(sig);
    const r = await done;
    assert.equal(r.signal, null, `run ${i}: ${sig} just after the output appeared ended the CLI by the signal itself`);
    assert.ok(r.status === 0 || r.status === CODE[sig], `run ${i}: exit status ${r.status}; stderr: ${r.stderr}`);
  }
  assert.deepEqual(scratch(), [], 'no scratch files left');
});

test('convert: SIGINT and SIGTERM while reading or writing end it within a second, leaving nothing', async () => {
  const outDir = join(dir, 'convert-out');
  mkdirSync(outDir);
  const cases: [string[], 'SIGINT' | 'SIGTERM'][] = [
    [['--format', 'qcow2'], 'SIGINT'], [['--format', 'vmdk'], 'SIGTERM'], [['--compression', 'zstd'], 'SIGTERM'], [['--format', 'vhd-fixed'], 'SIGINT'],
  ];
  for (const [args, sig] of cases) {
    await interrupt(['convert', raw, join(outDir, 'c.out'), ...args, '-q'], sig, outDir, `convert ${args.join(' ')}`, 1200, () => rmSync(join(outDir, 'c.out'), { force: true }));
  }
});

test('inspect --hash and diff of a 64 GiB (sparse) partition stop on SIGINT and SIGTERM', async () => {
  // Hashing 64 GiB takes far longer than the test: the signal must stop it (the read loops run on
  // a worker thread; the main thread only waits for it, so its handlers run at once).
  const huge = join(dir, 'huge.yaml');
  writeFileSync(huge, 'seed: huge\nsize: 64GiB\ntable: gpt\npartitions:\n  - { name: p, type: linux, size: fill }\n');
  const img = join(dir, 'huge.img');
  const r = await runCli(['build', huge, '-o', img, '-q']);
  assert.equal(r.status, 0, r.stderr);
  await interrupt(['inspect', '--hash', img], 'SIGTERM', undefined, 'inspect --hash', 1500);
  await interrupt(['inspect', '--hash', img], 'SIGINT', undefined, 'inspect --hash', 1500);
  await interrupt(['diff', img, raw], 'SIGTERM', undefined, 'diff', 1500);
  await interrupt(['diff', raw, img], 'SIGINT', undefined, 'diff', 1500);
});

test('SIGKILL leaves at most the named temporary file, and no scratch files', async () => {
  const outDir = join(dir, 'kill-out');
  mkdirSync(outDir);
  for (const format of ['qcow2-compressed', 'vmdk']) {
    const { child, done } = spawnCli(['build', spec, '-o', join(outDir, `x.${format}`), '--format', format, '--sha256', '-q'], { stdout: 'ignore', tmpdir: scratchDir });
    await waitHandlers(child);
    await new Promise((r) => setTimeout(r, 400 + Math.floor(rnd() * 400)));
    assert.equal(child.exitCode, null, 'still running');
    child.kill('SIGKILL');
    const res = await done;
    assert.equal(res.signal, 'SIGKILL');
    const left = readdirSync(outDir);
    assert.ok(left.length <= 1 && left.every((n) => n === `.x.${format}.diskwright-${child.pid}.tmp`), `only the named temporary: ${left}`);
    assert.deepEqual(scratch(), [], 'the qcow2 spools were unlinked as soon as they were open');
    for (const n of left) rmSync(join(outDir, n));
  }
});
