/**
 * What the writer benchmarks share: the corpora (made once under ROOT, outside the repo), shell and
 * GNU time runners, and the alternating runner that gives both tools the same page-cache state.
 * bench/iso.bench.ts and bench/squashfs.bench.ts use it; their corpora are those of
 * bench/ext4.bench.ts (same recipes, same directories).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = process.env.DISKWRIGHT_BENCH_DIR ?? '/tmp/dw-bench';
export const OUT = join(ROOT, 'out');

export function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, cwd: opts.cwd });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** ROOT/name, made by `make` into a temporary folder and renamed, so a half-made corpus is never used. */
export function prepared(name: string, make: (tmp: string) => void): string {
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

export const trees: Record<string, { what: string; make: (dir: string) => void }> = {
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

export interface Measure { wall: number; cpu: number; rssKiB: number }

/** Run under GNU time: wall seconds, CPU seconds (user + sys) and peak RSS. */
export function timed(cmd: string): Measure {
  const t = join(OUT, 'time.txt');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', t, 'bash', '-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const [wall, user, sys, rss] = readFileSync(t, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { wall: wall!, cpu: user! + sys!, rssKiB: rss! };
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = (ms: Measure[]): Measure => ({ wall: median(ms.map((m) => m.wall)), cpu: median(ms.map((m) => m.cpu)), rssKiB: Math.max(...ms.map((m) => m.rssKiB)) });
export const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
export const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Both tools in turn, `runs` times, on the same page-cache state (previous output removed, `sync`); the last outputs are kept. */
export function alternate(cmds: { ours: string; ref: string }, outputs: [ours: string, ref: string], runs: number): { ours: Measure; ref: Measure } {
  const ours: Measure[] = [], ref: Measure[] = [];
  for (let i = 0; i < runs; i++) {
    for (const side of ['ours', 'ref'] as const) {
      rmSync(outputs[side === 'ours' ? 0 : 1], { force: true });
      spawnSync('sync');
      (side === 'ours' ? ours : ref).push(timed(cmds[side]));
    }
  }
  return { ours: summary(ours), ref: summary(ref) };
}
