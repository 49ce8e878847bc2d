/**
 * Issue 14 item 4, the tree walk: SIGINT and SIGTERM while a 60,000-entry source tree is read
 * (src/tree/dirwalk.ts) end the CLI at once with 130 / 143, leaving nothing behind. The walk is
 * synchronous system calls in slices, yielding to the event loop every 50 ms; before, the signal
 * waited for the whole walk and the filesystem planning after it.
 *
 * Where the walk is, is observed rather than guessed: the walk lists d00..d59 in order, and listing
 * a directory updates its atime when the atime is older than its mtime (relatime, the default), so
 * with d12's atime set back to 2001 its change says the walk has done a fifth of the tree. The
 * signal goes a seeded 0-100 ms after that. Where atimes are not updated (noatime), the signal goes
 * at a seeded point of the first half of the walk's window in time, measured with two specs that
 * fail with E_DUPLICATE_TARGET: one before the walk (the duplicate is listed before the tree), one
 * right after it (listed after). In both cases:
 * - into the spec that fails after the walk: a walk that does not yield ends in exit 1 (the error
 *   is reached before the signal is handled), so 130 / 143 proves the signal stopped the walk;
 * - into a real build (ext4 in a GPT disk, raw output into a directory the build would create):
 *   130 / 143 within a bound, and the output directory and the CLI's TMPDIR as they were before.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../helpers/prng.js';
import { tempDir } from '../helpers/tools.js';
import { seeded, spawnCli, waitHandlers, type Run } from './helpers.js';

const { dir, cleanup } = tempDir('dw-integrity-walk-');
after(cleanup);
const tree = join(dir, 'tree');
const scratchDir = join(dir, 'tmp');
const rnd = seeded('issue-14-walk-signals');
const CODE = { SIGINT: 130, SIGTERM: 143 } as const;
/** 60 directories of 1,000 entries: small files of seeded bytes, every 50th a symlink, every 100th a hard link. */
const DIRS = 60;
const PER_DIR = 1000;

/** The directory whose listing marks a fifth of the walk, and whether listing it updates its atime here. */
const marker = join(tree, 'd12');
let atimeMarks = false;
const armMarker = (): number => {
  utimesSync(marker, new Date('2001-01-01T00:00:00Z'), statSync(marker).mtime);
  return statSync(marker).atimeMs;
};

const specs = {
  /** E_DUPLICATE_TARGET before the walk. */
  failFirst: join(dir, 'fail-first.yaml'),
  /** E_DUPLICATE_TARGET right after the walk. */
  failAfter: join(dir, 'fail-after.yaml'),
  /** A real build. */
  build: join(dir, 'build.yaml'),
};

before(() => {
  mkdirSync(scratchDir);
  const rand = prng('issue-14-walk-tree');
  for (let d = 0; d < DIRS; d++) {
    const sub = join(tree, `d${String(d).padStart(2, '0')}`);
    mkdirSync(sub, { recursive: true });
    for (let i = 0; i < PER_DIR; i++) {
      const name = join(sub, `f${String(i).padStart(4, '0')}`);
      if (i % 100 === 99) linkSync(join(sub, 'f0000'), name);
      else if (i % 50 === 49) symlinkSync(`f${String(i - 1).padStart(4, '0')}`, name);
      else writeFileSync(name, rand.bytes(rand.int(64)));
    }
  }
  const head = 'seed: walk\nsourceDateEpoch: 1700000000\ntable: gpt\npartitions:\n  - name: root\n    type: linux\n    filesystem: ext4\n    contents:\n';
  const dup = '      - { target: /x, text: a }\n      - { target: /x, text: b }\n';
  const src = `      - { source: ${JSON.stringify(tree)}, target: / }\n`;
  writeFileSync(specs.failFirst, head + dup + src);
  writeFileSync(specs.failAfter, head + src + dup);
  writeFileSync(specs.build, head + src);
  const before = armMarker();
  readdirSync(marker);
  atimeMarks = statSync(marker).atimeMs !== before;
});

const listing = (d: string): string[] => readdirSync(d).sort();

/**
 * Start the CLI; return its result and the time from its handlers being installed to its end. With
 * `signalAt`, send the signal `ms` after the walk listed the marker directory (or, with `atime`
 * false, `ms` after the handlers were installed).
 */
async function timed(args: string[], signalAt?: { sig: 'SIGINT' | 'SIGTERM'; ms: number; atime: boolean }): Promise<{ r: Run; ms: number; took: number; running: boolean; at: number }> {
  const armed = signalAt?.atime ? armMarker() : 0;
  const { child, done } = spawnCli(args, { stdout: 'ignore', tmpdir: scratchDir });
  await waitHandlers(child);
  const t0 = performance.now();
  let running = true;
  let sent = t0;
  if (signalAt) {
    if (signalAt.atime) {
      while (statSync(marker).atimeMs === armed && child.exitCode === null) await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => setTimeout(r, signalAt.ms));
    running = child.exitCode === null && child.signalCode === null;
    sent = performance.now();
    if (running) child.kill(signalAt.sig);
  }
  const r = await done;
  const end = performance.now();
  return { r, ms: end - t0, took: end - sent, running, at: sent - t0 };
}

/** [start, end] of the walk in ms after the handlers are installed (the second of two runs each: warm caches). */
async function walkWindow(): Promise<[number, number]> {
  let start = 0, end = 0;
  for (let i = 0; i < 2; i++) {
    const a = await timed(['build', specs.failFirst, '--dry-run', '-q']);
    const b = await timed(['build', specs.failAfter, '--dry-run', '-q']);
    for (const x of [a, b]) {
      assert.equal(x.r.status, 1, x.r.stderr);
      assert.match(x.r.stderr, /E_DUPLICATE_TARGET/);
    }
    start = a.ms; end = b.ms;
  }
  return [start, end];
}

test('SIGINT and SIGTERM during the walk of a 60,000-entry tree end the CLI at once, leaving nothing', async () => {
  const [start, end] = await walkWindow();
  const walk = end - start;
  // A walk this short could not tell a yielding walk from a blocking one.
  assert.ok(walk >= 300, `the walk takes ${Math.round(walk)} ms (${Math.round(start)}..${Math.round(end)} ms after the handlers)`);
  const at = (): { ms: number; atime: boolean } => (atimeMarks ? { ms: Math.round(100 * rnd()), atime: true } : { ms: Math.round(start + walk * (0.1 + 0.4 * rnd())), atime: false });
  const tmpBefore = listing(scratchDir);
  const dirBefore = listing(dir);
  const lines: string[] = [`walk ${Math.round(start)}..${Math.round(end)} ms after the handlers; signals placed by ${atimeMarks ? 'the atime of d12' : 'time'}`];

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    // 1. The spec that fails after the walk: only a walk that yields lets the signal win.
    const f = await timed(['build', specs.failAfter, '--dry-run', '-q'], { sig, ...at() });
    assert.ok(f.running, `${sig}: the CLI ended before +${Math.round(f.at)} ms`);
    assert.equal(f.r.status, CODE[sig], `${sig} at +${Math.round(f.at)} ms, in a walk of ${Math.round(start)}..${Math.round(end)} ms: exit status (1 = the walk ran to its end first); stderr: ${f.r.stderr}`);
    assert.match(f.r.stderr, new RegExp(`interrupted \\(${sig}\\)`));
    lines.push(`fail-after ${sig} at +${Math.round(f.at)} ms: exit ${f.r.status} ${Math.round(f.took)} ms after the signal`);

    // 2. A real build into a directory it would create.
    const out = join(dir, `out-${sig}`, 'sub', 'disk.img');
    const b = await timed(['build', specs.build, '-o', out, '--sha256', '-q'], { sig, ...at() });
    const ms2 = Math.round(b.at);
    assert.ok(b.running, `${sig}: the build ended before +${ms2} ms`);
    assert.equal(b.r.status, CODE[sig], `${sig} at +${ms2} ms: exit status; stderr: ${b.r.stderr}`);
    assert.ok(b.took <= 500, `${sig} at +${ms2} ms: the build ended ${Math.round(b.took)} ms after the signal`);
    assert.match(b.r.stderr, new RegExp(`interrupted \\(${sig}\\); no output written`));
    assert.doesNotMatch(b.r.stderr, /at .*\.ts:\d+/, 'no stack trace');
    assert.deepEqual(listing(dir), dirBefore, `${sig}: the output directory is as it was (nothing made for the output is left)`);
    assert.deepEqual(listing(scratchDir), tmpBefore, `${sig}: the CLI's TMPDIR is as it was`);
    lines.push(`build ${sig} at +${ms2} ms: exit ${b.r.status} ${Math.round(b.took)} ms after the signal`);
  }
  console.log(lines.join('; '));
});
