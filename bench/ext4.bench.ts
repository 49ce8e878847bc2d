/**
 * ext4 benchmark (issue 3): diskwright's ext4 writer against `mke2fs -t ext4 -d` and `tar -cf` on
 * the same tree in the same run. Inputs, made once under /tmp/dw-bench (outside the repo):
 *   rootfs: a Debian minbase rootfs (debootstrap --variant=minbase bookworm), ~200 MB;
 *   nm:     an npm node_modules tree (next, jest, webpack, typescript, eslint, babel, aws-sdk, mui icons, ...), ~100k entries;
 *   large:  four 256 MiB incompressible files.
 * diskwright runs as the compiled CLI (`diskwright ext4 DIR -o IMG`, auto size); mke2fs gets the
 * same tree, a size 10 % above ours and our inode count (so it does not run out). Wall time is the
 * median of RUNS runs (default 3), each after `sync`, peak RSS from GNU time. Prints a markdown table for BENCHMARKS.md.
 *
 *   node --import tsx bench/ext4.bench.ts [rootfs|nm|large ...]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = process.env.DISKWRIGHT_BENCH_DIR ?? '/tmp/dw-bench';
const REPO = fileURLToPath(new URL('..', import.meta.url));
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

const inputs: Record<string, { what: string; make: (dir: string) => void }> = {
  rootfs: {
    what: 'Debian 12 minbase rootfs (debootstrap)',
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
  large: {
    what: 'four 256 MiB incompressible files',
    make: (dir) => {
      for (let f = 0; f < 4; f++) {
        const fd = openSync(join(dir, `large-${f}.bin`), 'w');
        let block = createHash('sha256').update(`large${f}`).digest();
        const chunk = Buffer.alloc(1 << 20);
        for (let mib = 0; mib < 256; mib++) {
          for (let i = 0; i < chunk.length; i += 32) { block.copy(chunk, i); block = createHash('sha256').update(block).digest(); }
          writeSync(fd, chunk);
        }
        closeSync(fd);
      }
    },
  },
};

interface Measure { wall: number; rssKiB: number }

/** Run under GNU time: wall seconds and peak RSS. */
function timed(cmd: string): Measure {
  const t = join(OUT, 'time.txt');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', '-o', t, 'bash', '-c', cmd], { encoding: 'utf8', cwd: REPO, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const [wall, rss] = readFileSync(t, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { wall: wall!, rssKiB: rss! };
}

function median(ms: Measure[]): Measure {
  const w = ms.map((m) => m.wall).sort((a, b) => a - b);
  return { wall: w[Math.floor(w.length / 2)]!, rssKiB: Math.max(...ms.map((m) => m.rssKiB)) };
}

/**
 * Each run starts from the same page-cache state: the previous output removed and every dirty page
 * written back (`sync`), so no contender pays for another's writeback.
 */
function repeat(cmd: string, before?: () => void): Measure {
  const ms: Measure[] = [];
  for (let i = 0; i < RUNS; i++) { before?.(); spawnSync('sync'); ms.push(timed(cmd)); }
  return median(ms);
}

const mib = (kib: number): string => `${Math.round(kib / 1024)} MiB`;
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function main(): void {
  mkdirSync(OUT, { recursive: true });
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(inputs);
  // The compiled CLI, run as the installed bin.
  sh('npm', ['run', 'build'], { cwd: REPO });
  const cliPath = join(REPO, 'dist/cli/main.js');
  const rows: string[] = [];
  for (const name of names) {
    const input = inputs[name];
    if (!input) throw new Error(`unknown input ${name}`);
    const src = prepared(name, input.make);
    const files = Number(sh('bash', ['-c', `find ${q(src)} | wc -l`]).trim());
    const bytes = Number(sh('du', ['-sb', src]).split('\t')[0]);
    const ours = join(OUT, `${name}.dw.img`);
    const ref = join(OUT, `${name}.mke2fs.img`);
    const tar = join(OUT, `${name}.tar`);
    // Warm the page cache for every contender alike.
    timed(`tar -cf /dev/null -C ${q(src)} .`);
    const dw = repeat(`${q(cliPath)} ext4 ${q(src)} -o ${q(ours)} -q --epoch 1700000000`, () => rmSync(ours, { force: true }));
    const head = sh('dumpe2fs', ['-h', ours]);
    const blocks = Number(/Block count:\s+(\d+)/.exec(head)![1]);
    const inodes = Number(/Inode count:\s+(\d+)/.exec(head)![1]);
    const fsck = spawnSync('e2fsck', ['-fn', ours], { encoding: 'utf8' });
    if (fsck.status !== 0) throw new Error(`e2fsck on our ${name} image:\n${fsck.stdout}`);
    const refBlocks = Math.ceil(blocks * 1.1);
    const mk = repeat(`mke2fs -q -F -t ext4 -b 4096 -d ${q(src)} -N ${inodes} ${q(ref)} ${refBlocks}`, () => rmSync(ref, { force: true }));
    const tr = repeat(`tar -cf ${q(tar)} -C ${q(src)} .`, () => rmSync(tar, { force: true }));
    const row = `| ${name}: ${input.what}; ${files.toLocaleString('en')} entries, ${(bytes / 2 ** 20).toFixed(0)} MiB | ${(blocks * 4096 / 2 ** 20).toFixed(0)} MiB | ${dw.wall.toFixed(2)} | ${mk.wall.toFixed(2)} | ${tr.wall.toFixed(2)} | ${(dw.wall / mk.wall).toFixed(2)}× | ${(dw.wall / tr.wall).toFixed(2)}× | ${mib(dw.rssKiB)} | ${mib(mk.rssKiB)} | ${mib(tr.rssKiB)} |`;
    rows.push(row);
    process.stdout.write(row + '\n');
    for (const f of [ours, ref, tar]) rmSync(f, { force: true });
  }
  process.stdout.write('\n| input | image | diskwright (s) | mke2fs -d (s) | tar -cf (s) | vs mke2fs | vs tar | peak RSS diskwright | peak RSS mke2fs | peak RSS tar |\n|---|---|---|---|---|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(r + '\n');
}

main();
