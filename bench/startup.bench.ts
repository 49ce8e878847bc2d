/**
 * Start-up (issue 12): the CLI's fixed cost, before and after the bundled CLI, paired.
 *
 *   node --import tsx bench/startup.bench.ts        (or: npm run bench -- startup)
 *
 * BEFORE is a build of BEFORE_REV (default 9cf1d95, the last commit with the unbundled CLI: tsc
 * output, ~105 ES modules loaded eagerly), made once under /tmp/dw-bench-startup/before; AFTER is
 * this tree as `npm run build` makes it (bench/compiled-cli.ts: bundle + launcher; or AFTER_CLI,
 * the dist/cli/main.js of a build made already), run with its
 * V8 code cache (warm, in /tmp/dw-bench-startup/cache) and without one (DISKWRIGHT_CACHE_DIR="").
 * Every case runs N times (default 21) in turn — before, after, after without cache — after one
 * untimed warm-up run each; the table gives the medians of wall time and, where `perf` is
 * installed, of CPU time (`perf stat -e task-clock`, separate runs), the machine's load average
 * before and after, and Node's own start (an empty ES module) as the floor.
 *
 * NODE_EXTRA_CA_CERTS is removed from every run's environment: Node 20 reads those certificates
 * when it starts, before any JavaScript, which costs every Node program the same (~50 ms on this
 * machine, where the variable is set for a proxy); it would hide what the CLI itself costs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compiledCli } from './compiled-cli.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ROOT = process.env.DISKWRIGHT_BENCH_DIR ?? '/tmp/dw-bench-startup';
const N = Number(process.env.N ?? 21);
const BEFORE_REV = process.env.BEFORE_REV ?? '9cf1d95';

/** The CLI of BEFORE_REV, built with that commit's own compiler settings (its `npm run build` was tsc). */
function beforeCli(): string {
  const dir = join(ROOT, 'before');
  const main = join(dir, 'dist/cli/main.js');
  if (!existsSync(main)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const tar = spawnSync('sh', ['-c', `git -C '${REPO}' archive ${BEFORE_REV} | tar -x -C '${dir}'`], { stdio: 'inherit' });
    if (tar.status !== 0) throw new Error(`git archive ${BEFORE_REV} failed`);
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
    const tsc = spawnSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, stdio: 'inherit' });
    if (tsc.status !== 0 || !existsSync(main)) throw new Error(`building ${BEFORE_REV} failed`);
  }
  return main;
}

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const cache = join(ROOT, 'cache');

/** Wall time of one run, in ms. */
function timeOnce(argv: string[], extra: NodeJS.ProcessEnv = {}): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { env: { ...env, ...extra }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: status ${r.status}: ${r.stderr}`);
  return ms;
}

/**
 * CPU time (user + system, all threads) of one run, in ms, from `perf stat -e task-clock`: on a
 * shared machine it moves far less with the load than wall time does. Undefined without perf.
 */
const hasPerf = spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', '--', 'true'], { stdio: 'ignore' }).status === 0;
function cpuOnce(argv: string[], extra: NodeJS.ProcessEnv = {}): number | undefined {
  if (!hasPerf) return undefined;
  const r = spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', '--', process.execPath, ...argv], { env: { ...env, ...extra }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: status ${r.status}: ${r.stderr}`);
  const line = r.stderr.trim().split('\n').find((l) => l.includes('task-clock'));
  return line === undefined ? undefined : Number(line.split(',')[0]);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const cell = (wall: number[], cpu: (number | undefined)[]): string => `${median(wall).toFixed(0)}${cpu.every((c) => c !== undefined) ? ` / ${median(cpu as number[]).toFixed(0)}` : ''}`;

mkdirSync(join(ROOT, 'in/one'), { recursive: true });
writeFileSync(join(ROOT, 'in/one/hello.txt'), 'hello\n');
writeFileSync(join(ROOT, 'in/empty.mjs'), '');
const out = join(ROOT, 'out');
mkdirSync(out, { recursive: true });

// BEFORE_CLI / AFTER_CLI: CLIs built already (a dist/cli/main.js), e.g. while the tree is mid-edit.
const before = process.env.BEFORE_CLI ?? beforeCli();
const after = process.env.AFTER_CLI ?? compiledCli(join(ROOT, 'after')).replace(/^node /, '');
const one = join(ROOT, 'in/one');
const cases: [string, string[]][] = [
  ['`--version`', ['--version']],
  ['`--help`', ['--help']],
  ['`ext4` of a 1-file directory', ['ext4', one, '-o', join(out, 'one.ext4'), '--epoch', '0', '-q']],
  ['`fat` of a 1-file directory', ['fat', one, '-o', join(out, 'one.fat'), '--epoch', '0', '-q']],
  ['`build examples/efi-disk.yaml --dry-run`', ['build', join(REPO, 'examples/efi-disk.yaml'), '--dry-run', '-q']],
];

const load0 = loadavg();
const floor: number[] = [];
const floorCpu: (number | undefined)[] = [];
for (let i = 0; i < N; i++) { floor.push(timeOnce([join(ROOT, 'in/empty.mjs')])); floorCpu.push(cpuOnce([join(ROOT, 'in/empty.mjs')])); }
const rows: string[] = [];
for (const [name, args] of cases) {
  const runs: [string[], NodeJS.ProcessEnv][] = [[[before, ...args], {}], [[after, ...args], { DISKWRIGHT_CACHE_DIR: cache }], [[after, ...args], { DISKWRIGHT_CACHE_DIR: '' }]];
  const wall = runs.map(() => [] as number[]);
  const cpu = runs.map(() => [] as (number | undefined)[]);
  for (const [argv, extra] of runs) timeOnce(argv, extra);
  for (let i = 0; i < N; i++) {
    runs.forEach(([argv, extra], k) => { wall[k]!.push(timeOnce(argv, extra)); cpu[k]!.push(cpuOnce(argv, extra)); });
  }
  rows.push(`| ${name} | ${runs.map((_, k) => cell(wall[k]!, cpu[k]!)).join(' | ')} | ${(median(wall[1]!) / median(wall[0]!)).toFixed(2)} |`);
}
const load1 = loadavg();

console.log(`Node ${process.version}, ${N} runs per cell, in turn; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after.`);
console.log(`Node's own start (an empty ES module): ${cell(floor, floorCpu)} ms.\n`);
const unit = hasPerf ? 'ms wall / CPU' : 'ms wall';
console.log(`| case | before ${BEFORE_REV} (${unit}) | after: bundle + code cache (${unit}) | after, no code cache (${unit}) | after / before (wall) |`);
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
