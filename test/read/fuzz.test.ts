/**
 * The read side on hostile images (issue 11): seeded mutations (test/read/mutate.ts) of a small
 * valid disk (GPT or MBR, a FAT and an ext4 partition) in every container and compression
 * diskwright writes and in what qemu-img writes, each given to `inspect`, `convert` and, in turn,
 * `diff`, `ls` and `extract` on either filesystem, as a spawned CLI with a time limit, a V8 heap
 * limit and its peak memory measured. Every run must end with exit 0 or 1 (never 3, a signal or
 * the time limit), under the memory cap; every failure is one line naming the file (and, for
 * damage, the structure and its offset); a failed convert or extract leaves no output and no
 * scratch file. The case count is fixed; the counts are printed.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { prng } from '../helpers/prng.js';
import { tempDir } from '../helpers/tools.js';
import { runBounded, transpileCli, type BoundedRun } from './fast-cli.js';
import { build, diskSpec, OUR_FORMS, QEMU_FORMS, qemuConvert, sourceTree } from './fixtures.js';
import { anatomy, mutate, type Anatomy } from './mutate.js';

/**
 * Mutations per base image: the raw disks (whose mutations mostly hit the filesystems) get more
 * than the 17 containers and compressions (whose mutations mostly hit the container).
 * DW_FUZZ_CASES multiplies them for a longer run by hand.
 */
const SCALE = Number(process.env.DW_FUZZ_CASES ?? 1);
const casesFor = (base: string): number => SCALE * (base === 'gpt' || base === 'mbr' ? 12 : 4);
const RUN_LIMITS = { timeoutMs: 30_000, heapMiB: 192 };
/** Peak resident memory any one run may reach. */
const RSS_CAP = 400 << 20;
const CONVERT_FORMATS = ['raw', 'qcow2', 'vhd', 'vdi', 'vmdk'] as const;

const { dir, cleanup } = tempDir('dw-fuzz-');
after(cleanup);
let main = '';
const bases: { name: string; path: string; anatomy: Anatomy }[] = [];

type Kind = Parameters<typeof anatomy>[1];
const kindOf = (name: string): Kind | undefined => ({
  gpt: 'raw', mbr: 'raw', qcow2: 'qcow2', qcow2c: 'qcow2', 'q-qcow2': 'qcow2', 'q-qcow2c': 'qcow2', vhd: 'vhd', 'q-vpc': 'vhd',
  vhdfixed: 'vhdfixed', 'q-vpcfixed': 'vhdfixed', vdi: 'vdi', 'q-vdi': 'vdi', vmdk: 'stream', 'q-vmdkstream': 'stream', 'q-vmdk': 'vmdk',
} as Record<string, Kind>)[name];

before(async () => {
  main = await transpileCli(join(dir, 'cli'));
  const tree = sourceTree(dir);
  const gpt = join(dir, 'base-gpt.img');
  await build(diskSpec(tree, 'gpt'), gpt);
  await build(diskSpec(tree, 'mbr'), join(dir, 'base-mbr.img'));
  const paths: [string, string][] = [['gpt', gpt], ['mbr', join(dir, 'base-mbr.img')]];
  for (const [name, format, compression] of OUR_FORMS) {
    const p = join(dir, `base-${name}`);
    await build(diskSpec(tree, 'gpt'), p, format, compression);
    paths.push([name, p]);
  }
  for (const [name, args] of QEMU_FORMS) {
    const p = join(dir, `base-${name}`);
    qemuConvert(gpt, p, args);
    paths.push([name, p]);
  }
  for (const [name, path] of paths) {
    const bytes = readFileSync(path);
    const k = kindOf(name);
    bases.push({ name, path, anatomy: k ? anatomy(bytes, k) : { regions: [{ name: 'stream head', offset: 0, length: Math.min(bytes.length, 4096) }, { name: 'stream', offset: 0, length: bytes.length }], structs: [], tables: [] } });
  }
});

interface Case { base: string; path: string; what: string }

const ERROR_LINE = /^diskwright: error (E_[A-Z0-9_]+): (.*)$/;

/** What is wrong with one run (empty when it behaved). */
function judge(r: BoundedRun, command: string, files: string[], outDir?: string): string[] {
  const bad: string[] = [];
  const say = (what: string): void => { bad.push(`${command}: ${what}${r.stderr ? `\n      stderr: ${r.stderr.trimEnd().split('\n').slice(0, 6).join('\n              ')}` : ''}`); };
  if (r.timedOut) say(`did not finish in ${RUN_LIMITS.timeoutMs} ms`);
  else if (r.signal) say(`killed by ${r.signal}`);
  else if (r.status !== 0 && r.status !== 1) say(`exit ${r.status}`);
  if (r.peakRss !== undefined && r.peakRss > RSS_CAP) say(`peak memory ${(r.peakRss / 2 ** 20).toFixed(0)} MiB over the ${RSS_CAP / 2 ** 20} MiB cap`);
  if (r.stderr !== '' && !r.timedOut && !r.signal) {
    const lines = r.stderr.trimEnd().split('\n');
    const m = ERROR_LINE.exec(lines[0]!);
    if (lines.length !== 1 || !m) say('not one error line');
    else {
      if (r.status !== 1) say(`an error with exit ${r.status}`);
      if (!files.some((f) => m[2]!.includes(f))) say('the error does not name the file');
      if ((m[1] === 'E_IMAGE_CORRUPT' && !/ at offset \d+/.test(m[2]!)) || (m[1] === 'E_DECOMPRESS' && !/at compressed byte \d+|\(\w+\)/.test(m[2]!))) say('the error names no offset');
    }
  }
  if (outDir) {
    const left = readdirSync(outDir);
    if (r.status !== 0 && left.length) say(`left ${left.join(', ')} behind`);
    for (const f of left) rmSync(join(outDir, f), { force: true, recursive: true });
  }
  return bad;
}

/**
 * The third command of a case, in turn: diff with its base, then the file commands on the ext4
 * (partition 2) and FAT (partition 1) filesystems of the disk.
 */
const THIRD: ((c: string, base: string, out: string) => [string, string[], string[], string?])[] = [
  (c, base) => ['diff', ['diff', c, base], [c, base]],
  (c) => ['ls ext4', ['ls', c, '2:/', '-R', '--json'], [c]],
  (c, _b, out) => ['extract ext4', ['extract', c, '2:/', '-o', join(out, 'x.tar'), '-q'], [c], out],
  (c) => ['ls fat', ['ls', c, '1:/', '-R', '-l'], [c]],
  (c, _b, out) => ['extract fat', ['extract', c, '1:/', '-o', join(out, 'x'), '-q'], [c], out],
  // One file out (not `cat`: a damaged size may declare terabytes of holes, which cat rightly writes as zeros).
  (c, _b, out) => ['extract file', ['extract', c, '2:/usr/blob.bin', '-o', join(out, 'f'), '-q'], [c], out],
];

test('fuzz: seeded mutations of each base image through inspect, convert, diff, ls and extract', { timeout: process.env.DW_FUZZ_CASES ? Infinity : 170_000 }, async () => {
  const t0 = performance.now();
  const cases: Case[] = [];
  mkdirSync(join(dir, 'cases'));
  for (const b of bases) {
    const rand = prng(`fuzz:${b.name}`);
    const bytes = readFileSync(b.path);
    for (let i = 0; i < casesFor(b.name); i++) {
      const m = mutate(bytes, b.anatomy, rand);
      const path = join(dir, 'cases', `${b.name}-${i}`);
      writeFileSync(path, m.bytes);
      cases.push({ base: b.name, path, what: m.what });
    }
  }
  const failures: string[] = [];
  const stats = { runs: 0, exit0: 0, exit1: 0, maxRss: 0, maxMs: 0, codes: new Map<string, number>() };
  const record = (r: BoundedRun): void => {
    stats.runs++;
    if (r.status === 0) stats.exit0++; else if (r.status === 1) stats.exit1++;
    stats.maxRss = Math.max(stats.maxRss, r.peakRss ?? 0);
    stats.maxMs = Math.max(stats.maxMs, r.ms);
    const code = ERROR_LINE.exec(r.stderr.split('\n')[0] ?? '')?.[1];
    if (code) stats.codes.set(code, (stats.codes.get(code) ?? 0) + 1);
  };
  const pick = prng('fuzz:convert-format');
  const formats = cases.map(() => CONVERT_FORMATS[pick.int(CONVERT_FORMATS.length)]!);
  // Two runs at a time (the machines running this have two cores).
  let next = 0;
  const slot = async (n: number): Promise<void> => {
    const tmp = join(dir, `tmp-${n}`), out = join(dir, `out-${n}`);
    mkdirSync(tmp); mkdirSync(out);
    const limits = { ...RUN_LIMITS, env: { TMPDIR: tmp } };
    for (let i = next++; i < cases.length; i = next++) {
      const c = cases[i]!;
      const base = bases.find((b) => b.name === c.base)!;
      const problems: string[] = [];
      const runs: [string, string[], string[], string?][] = [
        ['inspect', ['inspect', c.path, '--json', ...(i % 2 ? ['--hash'] : [])], [c.path]],
        THIRD[i % THIRD.length]!(c.path, base.path, out),
        ['convert', ['convert', c.path, join(out, `x.${formats[i]}`), '--format', formats[i]!, '-q'], [c.path], out],
      ];
      for (const [name, args, files, outDir] of runs) {
        const r = await runBounded(main, args, limits, dir);
        record(r);
        if (process.env.DW_FUZZ_TRACE) console.log(`${(r.ms / 1000).toFixed(2)} s ${r.status} ${name} ${c.base} ${c.what} ${r.stderr.slice(0, 200)}`);
        problems.push(...judge(r, name, files, outDir));
        const left = readdirSync(tmp);
        if (left.length) { problems.push(`${name}: left ${left.join(', ')} in TMPDIR`); rmSync(tmp, { recursive: true, force: true }); mkdirSync(tmp); }
      }
      if (problems.length) failures.push(`${c.base} case ${c.path} (${c.what}):\n    ${problems.join('\n    ')}`);
    }
  };
  await Promise.all([slot(0), slot(1)]);
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`fuzz: ${cases.length} cases of ${bases.length} bases, ${stats.runs} runs in ${seconds} s: exit 0 ${stats.exit0}, exit 1 ${stats.exit1}; ` +
    `peak memory ${(stats.maxRss / 2 ** 20).toFixed(0)} MiB (cap ${RSS_CAP / 2 ** 20}), slowest run ${(stats.maxMs / 1000).toFixed(1)} s; ` +
    `errors ${[...stats.codes].map(([k, v]) => `${k} ${v}`).join(', ')}; ${failures.length} cases misbehaved`);
  assert.deepEqual(failures, [], failures.join('\n'));
});
