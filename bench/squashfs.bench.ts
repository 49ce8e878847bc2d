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
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compiledCli } from './compiled-cli.js';
import { OUT, ROOT, alternate, load, mib, prepared, q, sh, timed, trees as inputs } from './corpus.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 1);

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
      }, [ours, ref], RUNS);
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
