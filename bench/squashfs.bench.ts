/**
 * squashfs benchmark (issue 9): `diskwright squashfs DIR -o X --compression C` against
 * `mksquashfs DIR X -comp C -processors 2 -noappend` for gzip, xz and zstd, on the same trees as
 * bench/iso.bench.ts and bench/ext4.bench.ts (made once under /tmp/dw-bench, outside the repo):
 *   rootfs: a Debian 12 minbase rootfs (debootstrap --variant=minbase bookworm), ~200 MB;
 *   nm:     an npm node_modules tree (next, jest, webpack, typescript, ...), ~100k entries.
 * Both use 128 KiB blocks, fragments, duplicate detection and xattrs (their defaults). diskwright
 * runs as the compiled, bundled CLI (bench/compiled-cli.ts, under ROOT/cli). The two tools
 * alternate, RUNS runs each (default 1: an xz run of the rootfs takes minutes), every run after
 * `sync` with the previous output removed; wall and CPU (user + sys) times are medians, peak RSS
 * the largest (GNU time). Both images are checked with `unsquashfs -s` and must hold the same
 * number of inodes. The load average is printed with each row: other jobs share this machine.
 * Prints a markdown table for BENCHMARKS.md.
 *
 *   node --import tsx bench/squashfs.bench.ts [rootfs|nm ...] [gzip|xz|zstd ...]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledCli } from './compiled-cli.js';

const ROOT = process.env.DISKWRIGHT_BENCH_DIR ?? '/tmp/dw-bench';
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
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

const COMPRESSORS = ['gzip', 'xz', 'zstd'];

/** Inode count of a squashfs image, from `unsquashfs -s` (which also checks its superblock). */
function inodesOf(image: string): number {
  const m = /Number of inodes (\d+)/.exec(sh('unsquashfs', ['-s', image]));
  if (!m) throw new Error(`unsquashfs -s ${image}: no inode count`);
  return Number(m[1]);
}

function main(): void {
  mkdirSync(OUT, { recursive: true });
  const args = process.argv.slice(2);
  const names = args.filter((a) => a in inputs);
  const comps = args.filter((a) => COMPRESSORS.includes(a));
  const cli = compiledCli(join(ROOT, 'cli'));
  const rows: string[] = [];
  for (const name of names.length ? names : Object.keys(inputs)) {
    const input = inputs[name]!;
    const src = prepared(name, input.make);
    const entries = Number(sh('bash', ['-c', `find ${q(src)} | wc -l`]).trim());
    const bytes = Number(sh('du', ['-sb', src]).split('\t')[0]);
    // Warm the page cache for both alike.
    timed(`tar -cf /dev/null -C ${q(src)} .`);
    for (const c of comps.length ? comps : COMPRESSORS) {
      const ours = join(OUT, `${name}.dw.${c}.sqfs`);
      const ref = join(OUT, `${name}.mksquashfs.${c}.sqfs`);
      const before = load();
      const m = alternate({
        ours: `${cli} squashfs ${q(src)} -o ${q(ours)} --compression ${c} -q --epoch 1700000000 2>/dev/null`,
        ref: `mksquashfs ${q(src)} ${q(ref)} -comp ${c} -processors 2 -noappend -quiet -no-progress >/dev/null 2>&1`,
      }, [ours, ref]);
      const after = load();
      const [oi, ri] = [inodesOf(ours), inodesOf(ref)];
      if (oi !== ri) throw new Error(`${name} ${c}: our image has ${oi} inodes, mksquashfs's ${ri}`);
      const [os, rs] = [statSync(ours).size, statSync(ref).size];
      const row = `| ${name}: ${input.what}; ${entries.toLocaleString('en')} entries, ${mib(bytes)} | ${c} | ${m.ours.wall.toFixed(2)} (${m.ours.cpu.toFixed(2)}) | ` +
        `${m.ref.wall.toFixed(2)} (${m.ref.cpu.toFixed(2)}) | **${(m.ours.wall / m.ref.wall).toFixed(2)}×** | ${(m.ours.cpu / m.ref.cpu).toFixed(2)}× | ` +
        `${(os / 2 ** 20).toFixed(2)} / ${(rs / 2 ** 20).toFixed(2)} MiB | **${((os / rs - 1) * 100).toFixed(2)} %** | ${mib(m.ours.rssKiB * 1024)} | ${mib(m.ref.rssKiB * 1024)} | ${before} → ${after} |`;
      rows.push(row);
      process.stdout.write(row + '\n');
      for (const f of [ours, ref]) rmSync(f, { force: true });
    }
  }
  process.stdout.write(`\n| input | compression | diskwright s (CPU s) | mksquashfs s (CPU s) | wall ratio | CPU ratio | image (ours / mksquashfs) | larger by | peak RSS diskwright | peak RSS mksquashfs | load average (1/5/15 min) before → after |\n|---|---|---|---|---|---|---|---|---|---|---|\n`);
  for (const r of rows) process.stdout.write(r + '\n');
  process.stdout.write(`\n${RUNS} alternating run(s) each, median; goals: wall ≤ 1.0× mksquashfs, image ≤ 1 % larger; ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores, Node ${process.version}\n`);
}

main();
