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
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compiledCli } from './compiled-cli.js';
import { OUT, ROOT, alternate, load, mib, prepared, q, sh, timed, trees as inputs } from './corpus.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

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
    }, [ours, ref], RUNS);
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
