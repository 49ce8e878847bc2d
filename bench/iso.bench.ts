/**
 * ISO 9660 benchmark (issue 16): `diskwright iso DIR -o X --joliet` (Rock Ridge on) against
 * `xorriso -as mkisofs -R -J -o X DIR` on the same tree in the same run. Inputs, made once under
 * /tmp/dw-bench (outside the repo; the same as bench/ext4.bench.ts):
 *   rootfs: a Debian 12 minbase rootfs (debootstrap --variant=minbase bookworm), ~200 MB;
 *   nm:     an npm node_modules tree (next, jest, webpack, typescript, ...), ~100k entries.
 * diskwright runs as the compiled, bundled CLI (bench/compiled-cli.ts, under ROOT/cli). The two
 * tools alternate, RUNS (default 3) runs each, every run after `sync` with the previous output
 * removed; wall time is the median, CPU (user + sys) the median, peak RSS the largest (GNU time).
 * Our ISO is checked: isoinfo -d reads it and `xorriso -find /` lists every entry of the tree. The load
 * average is printed with each row: other jobs share this machine. Prints a markdown table for
 * BENCHMARKS.md.
 *
 *   node --import tsx bench/iso.bench.ts [rootfs|nm ...]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledCli } from './compiled-cli.js';

const ROOT = process.env.DISKWRIGHT_BENCH_DIR ?? '/tmp/dw-bench';
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const OUT = join(ROOT, 'out');

function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, cwd: opts.cwd });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function prepared(name: string, make: (tmp: string) => void): string {
  const dir = join(ROOT, name);
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  process.stderr.write(`preparing ${name} in ${dir} ...\n`);
  make(tmp);
  renameSync(tmp, dir);
  return dir;
}

/** The corpora of bench/ext4.bench.ts (same recipes, same directories). */
const inputs: Record<string, { what: string; make: (dir: string) => void }> = {
  rootfs: {
    what: 'Debian 12 minbase rootfs',
    make: (dir) => { sh('debootstrap', ['--variant=minbase', 'bookworm', dir, 'http://deb.debian.org/debian']); },
  },
  nm: {
    what: 'npm node_modules tree',
    make: (dir) => {
      writeFileSync(join(dir, 'package.json'), '{"name":"bench","version":"1.0.0","private":true}\n');
      sh('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', 'next@14', 'jest@29', 'webpack@5', 'typescript@5', 'eslint@8',
        '@babel/core@7', '@babel/preset-env@7', 'aws-sdk@2', '@mui/icons-material@5', '@mui/material@5', 'rxjs@7', 'date-fns@2', 'lodash@4',
        '@tabler/icons@2', 'core-js@3', '@angular/core@17', '@angular/common@17'], { cwd: dir });
    },
  },
};

interface Measure { wall: number; cpu: number; rssKiB: number }

/** Run under GNU time: wall seconds, CPU seconds (user + sys) and peak RSS. */
function timed(cmd: string): Measure {
  const t = join(OUT, 'time.txt');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', t, 'bash', '-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const [wall, user, sys, rss] = readFileSync(t, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { wall: wall!, cpu: user! + sys!, rssKiB: rss! };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = (ms: Measure[]): Measure => ({ wall: median(ms.map((m) => m.wall)), cpu: median(ms.map((m) => m.cpu)), rssKiB: Math.max(...ms.map((m) => m.rssKiB)) });
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Both tools in turn, RUNS times, on the same page-cache state (previous output removed, `sync`); the last outputs are kept. */
function alternate(cmds: { ours: string; ref: string }, outputs: string[]): { ours: Measure; ref: Measure } {
  const ours: Measure[] = [], ref: Measure[] = [];
  for (let i = 0; i < RUNS; i++) {
    for (const side of ['ours', 'ref'] as const) {
      rmSync(outputs[side === 'ours' ? 0 : 1]!, { force: true });
      spawnSync('sync');
      (side === 'ours' ? ours : ref).push(timed(cmds[side]));
    }
  }
  return { ours: summary(ours), ref: summary(ref) };
}

const GOALS: Record<string, number> = { rootfs: 1.0, nm: 0.3 };

function main(): void {
  mkdirSync(OUT, { recursive: true });
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(inputs);
  const cli = compiledCli(join(ROOT, 'cli'));
  const rows: string[] = [];
  for (const name of names) {
    const input = inputs[name];
    if (!input) throw new Error(`unknown input ${name}`);
    const src = prepared(name, input.make);
    const entries = Number(sh('bash', ['-c', `find ${q(src)} | wc -l`]).trim());
    const bytes = Number(sh('du', ['-sb', src]).split('\t')[0]);
    const ours = join(OUT, `${name}.dw.iso`);
    const ref = join(OUT, `${name}.xorriso.iso`);
    // Warm the page cache for both alike.
    timed(`tar -cf /dev/null -C ${q(src)} .`);
    const before = load();
    const m = alternate({
      ours: `${cli} iso ${q(src)} -o ${q(ours)} --joliet -q --epoch 1700000000`,
      ref: `xorriso -as mkisofs -R -J -quiet -o ${q(ref)} ${q(src)} 2>/dev/null`,
    }, [ours, ref]);
    const after = load();
    // Ours is checked: isoinfo reads it, and xorriso finds every entry of the tree in it (Rock Ridge, relocation undone).
    sh('isoinfo', ['-d', '-i', ours]);
    const listed = sh('bash', ['-c', `xorriso -indev ${q(ours)} -find / 2>/dev/null | wc -l`]).trim();
    if (Number(listed) !== entries) throw new Error(`xorriso -find lists ${listed} entries in our ${name} ISO; the tree has ${entries}`);
    const row = `| ${name}: ${input.what}; ${entries.toLocaleString('en')} entries, ${mib(bytes)} | ${mib(statSync(ours).size)} / ${mib(statSync(ref).size)} | ` +
      `${m.ours.wall.toFixed(2)} (${m.ours.cpu.toFixed(2)}) | ${m.ref.wall.toFixed(2)} (${m.ref.cpu.toFixed(2)}) | **${(m.ours.wall / m.ref.wall).toFixed(2)}×** | ` +
      `${(m.ours.cpu / m.ref.cpu).toFixed(2)}× | ≤ ${GOALS[name]?.toFixed(1) ?? '?'}× | ${mib(m.ours.rssKiB * 1024)} | ${mib(m.ref.rssKiB * 1024)} | ${before} → ${after} |`;
    rows.push(row);
    process.stdout.write(row + '\n');
    for (const f of [ours, ref]) rmSync(f, { force: true });
  }
  process.stdout.write(`\n| input | ISO (ours / xorriso) | diskwright s (CPU s) | xorriso s (CPU s) | wall ratio | CPU ratio | goal | peak RSS diskwright | peak RSS xorriso | load average (1/5/15 min) before → after |\n|---|---|---|---|---|---|---|---|---|---|\n`);
  for (const r of rows) process.stdout.write(r + '\n');
  process.stdout.write(`\nmedian of ${RUNS} alternating runs, ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores, Node ${process.version}\n`);
}

main();
