/**
 * ext4 benchmark (issues 3 and 12): diskwright's ext4 writer against `mke2fs -t ext4 -d` and
 * `tar -cf` on the same tree in the same run. Inputs, made once under bench/corpus.ts's ROOT:
 *   rootfs: the Debian minbase rootfs (debootstrap --variant=minbase bookworm), ~200 MB;
 *   nm:     the npm node_modules tree, ~100k entries;
 *   large:  four 256 MiB incompressible files;
 *   gen1m:  1,000,000 entries (1,000 directories of 999 files, every 8th holding a line): peak
 *           memory per entry (diskwright alone: mke2fs -d's directory insertion is quadratic).
 * Every contender runs in turn, RUNS times (default 3), each after `sync` with its previous output
 * removed, so nobody pays for another's writeback; medians of wall and CPU (user + system) time, the
 * largest peak RSS (GNU time). mke2fs gets our inode count and a size 10 % above ours (it needs the
 * slack). Our image is checked with `e2fsck -fn` each time it is measured. NODE_EXTRA_CA_CERTS is
 * removed from diskwright's environment (see BENCHMARKS.md "Start-up").
 *
 *   node --import tsx bench/ext4.bench.ts [rootfs|nm|large|gen1m ...]
 *   DW_CLI=/path/dist/cli/main.js          a CLI built already (default: this tree, compiled)
 *   DW_CLI_BEFORE=/path/dist/cli/main.js   also an earlier build, in the same rounds; its image
 *                                          must hash the same as ours (the change is speed only)
 *
 * Prints a markdown table and writes OUT/summary-ext4.json (the measurements) and
 * OUT/issue12-ext4.json (issue 12's rows, for bench/run.ts's summary in BENCHMARKS.md).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { compiledCli } from './compiled-cli.js';
import { load, median, OUT, prepared, q, ROOT, sh, timed, trees, type Measure } from './corpus.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const inputs: Record<string, { what: string; make: (dir: string) => void; refs: boolean }> = {
  rootfs: { what: 'Debian 12 minbase rootfs', make: trees.rootfs!.make, refs: true },
  nm: { what: 'npm node_modules tree', make: trees.nm!.make, refs: true },
  large: {
    what: 'four 256 MiB incompressible files',
    refs: true,
    make: (dir) => {
      for (let f = 0; f < 4; f++) {
        const fd = openSync(join(dir, `large-${f}.bin`), 'w');
        let block = createHash('sha256').update(`large${f}`).digest();
        const chunk = Buffer.alloc(1 << 20);
        for (let m = 0; m < 256; m++) {
          for (let i = 0; i < chunk.length; i += 32) { block.copy(chunk, i); block = createHash('sha256').update(block).digest(); }
          writeSync(fd, chunk);
        }
        closeSync(fd);
      }
    },
  },
  gen1m: {
    what: 'generated: 1,000 directories × 999 files (every 8th holds a line)',
    refs: false,
    make: (dir) => {
      for (let d = 0; d < 1000; d++) {
        const sub = join(dir, `d${String(d).padStart(4, '0')}`);
        mkdirSync(sub);
        for (let f = 0; f < 999; f++) writeFileSync(join(sub, `f${String(f).padStart(4, '0')}.txt`), f % 8 === 0 ? `file ${d}/${f}\n` : '');
      }
    },
  },
};

interface Side { name: string; cmd: string; out: string; ms: Measure[] }

const summary = (ms: Measure[]): Measure => ({ wall: median(ms.map((m) => m.wall)), cpu: median(ms.map((m) => m.cpu)), rssKiB: Math.max(...ms.map((m) => m.rssKiB)) });
const mibK = (kib: number): string => `${Math.round(kib / 1024)} MiB`;
const sha = (path: string): string => sh('sha256sum', [path]).split(' ')[0]!;
const fig = (m: Measure): string => `${m.wall.toFixed(2)} (${m.cpu.toFixed(2)})`;

function main(): void {
  mkdirSync(OUT, { recursive: true });
  const names = process.argv.slice(2).length ? process.argv.slice(2) : ['rootfs', 'nm', 'large'];
  const env = 'env -u NODE_EXTRA_CA_CERTS';
  const cli = process.env.DW_CLI ? `node ${q(process.env.DW_CLI)}` : compiledCli(join(ROOT, 'cli-ext4'));
  const before = process.env.DW_CLI_BEFORE ? `node ${q(process.env.DW_CLI_BEFORE)}` : undefined;
  const rows: string[] = [];
  const json: unknown[] = [];
  for (const name of names) {
    const input = inputs[name];
    if (!input) throw new Error(`unknown input ${name}`);
    const src = prepared(name, input.make);
    const entries = Number(sh('bash', ['-c', `find ${q(src)} | wc -l`]).trim());
    const bytes = Number(sh('du', ['-sb', src]).split('\t')[0]);
    const ours = join(OUT, `${name}.dw.img`);
    const dwCmd = (c: string, out: string): string => `${env} ${c} ext4 ${q(src)} -o ${q(out)} -q --epoch 1700000000`;
    // Our image first, once, to learn the geometry the references get.
    rmSync(ours, { force: true });
    timed(dwCmd(cli, ours));
    const head = sh('dumpe2fs', ['-h', ours]);
    const blocks = Number(/Block count:\s+(\d+)/.exec(head)![1]);
    const inodes = Number(/Inode count:\s+(\d+)/.exec(head)![1]);
    const sides: Side[] = [];
    if (before) sides.push({ name: 'before', cmd: dwCmd(before, join(OUT, `${name}.before.img`)), out: join(OUT, `${name}.before.img`), ms: [] });
    sides.push({ name: 'ours', cmd: dwCmd(cli, ours), out: ours, ms: [] });
    if (input.refs) {
      const ref = join(OUT, `${name}.mke2fs.img`), tar = join(OUT, `${name}.tar`);
      sides.push({ name: 'mke2fs', cmd: `mke2fs -q -F -t ext4 -b 4096 -d ${q(src)} -N ${inodes} ${q(ref)} ${Math.ceil(blocks * 1.1)}`, out: ref, ms: [] });
      sides.push({ name: 'tar', cmd: `tar -cf ${q(tar)} -C ${q(src)} .`, out: tar, ms: [] });
    }
    const loadBefore = load();
    for (let i = 0; i < RUNS; i++) {
      for (const s of sides) {
        rmSync(s.out, { force: true });
        spawnSync('sync');
        s.ms.push(timed(s.cmd));
      }
      const fsck = spawnSync('e2fsck', ['-fn', ours], { encoding: 'utf8' });
      if (fsck.status !== 0) throw new Error(`e2fsck on our ${name} image:\n${fsck.stdout}`);
    }
    const loadAfter = load();
    const m = Object.fromEntries(sides.map((s) => [s.name, summary(s.ms)])) as Record<string, Measure>;
    if (before && sha(sides[0]!.out) !== sha(ours)) throw new Error(`${name}: the earlier build's image differs from ours`);
    const dw = m.ours!;
    const ratio = (ref: string): string => (m[ref] ? `**${(dw.wall / m[ref]!.wall).toFixed(2)}×** (CPU ${(dw.cpu / m[ref]!.cpu).toFixed(2)}×)` : '—');
    const row = `| ${name}: ${input.what}; ${entries.toLocaleString('en')} entries, ${(bytes / 2 ** 20).toFixed(0)} MiB | ${(blocks * 4096 / 2 ** 20).toFixed(0)} MiB | ${m.before ? `${fig(m.before)}, ${mibK(m.before.rssKiB)}` : '—'} | ${fig(dw)} | ${m.mke2fs ? fig(m.mke2fs) : '—'} | ${m.tar ? fig(m.tar) : '—'} | ${ratio('mke2fs')} | ${ratio('tar')} | ${mibK(dw.rssKiB)} (${((dw.rssKiB * 1024) / entries).toFixed(0)} B/entry) | ${loadBefore} → ${loadAfter} |`;
    rows.push(row);
    process.stdout.write(row + '\n');
    json.push({ input: name, entries, bytes, imageBytes: blocks * 4096, load: [loadBefore, loadAfter], ...Object.fromEntries(Object.entries(m)) });
    for (const s of sides) rmSync(s.out, { force: true });
  }
  process.stdout.write('\n| input | image | before: s wall (CPU), peak RSS | diskwright s wall (CPU) | mke2fs -d s wall (CPU) | tar -cf s wall (CPU) | vs mke2fs | vs tar | peak RSS diskwright | load average before → after |\n|---|---|---|---|---|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(r + '\n');
  writeFileSync(join(OUT, 'summary-ext4.json'), JSON.stringify(json, null, 1));
  writeFileSync(join(OUT, 'issue12-ext4.json'), JSON.stringify(issueRows(json as Result[]), null, 1));
}

interface Result { input: string; entries: number; load: string[]; ours: Measure; before?: Measure; mke2fs?: Measure; tar?: Measure }

/** Issue 12's ext4 rows from this run (the "today" column is the issue's). */
function issueRows(results: Result[]): IssueRow[] {
  const rows: IssueRow[] = [];
  const r = (x: Measure, ref?: Measure): string => (ref ? `${(x.wall / ref.wall).toFixed(2)}× (CPU ${(x.cpu / ref.cpu).toFixed(2)}×)` : '—');
  const by = new Map(results.map((x) => [x.input, x]));
  const rootfs = by.get('rootfs'), nm = by.get('nm'), gen = by.get('gen1m');
  if (rootfs) {
    rows.push({ row: 'ext4, Debian tree, vs `mke2fs -d`', today: '1.1–1.3×', goal: '≤ 0.5×', now: r(rootfs.ours, rootfs.mke2fs), load: rootfs.load.join(' → ') });
    rows.push({ row: 'ext4, Debian tree, vs `tar -cf`', today: '2.9–3.8×', goal: '≤ 1.5×', now: r(rootfs.ours, rootfs.tar), load: rootfs.load.join(' → ') });
  }
  if (nm) {
    rows.push({ row: 'ext4, node_modules, vs `mke2fs -d` / vs `tar -cf`', today: '0.05× / 2.9×', goal: '≤ 0.03× / ≤ 1.5×', now: `${r(nm.ours, nm.mke2fs)} / ${r(nm.ours, nm.tar)}`, load: nm.load.join(' → ') });
    const allowed = 200 + nm.entries / 1024;
    rows.push({ row: 'ext4 peak memory, node_modules', today: '346 MiB', goal: `≤ 200 MiB + 1 KiB per entry (${allowed.toFixed(0)} MiB)`, now: mibK(nm.ours.rssKiB), load: nm.load.join(' → ') });
  }
  if (gen) {
    const allowed = 200 + gen.entries / 1024;
    rows.push({ row: `ext4 peak memory, ${gen.entries.toLocaleString('en')}-entry generated tree`, today: '—', goal: `≤ ${allowed.toFixed(0)} MiB`, now: mibK(gen.ours.rssKiB), load: gen.load.join(' → ') });
  }
  return rows;
}

/** One row of the summary table bench/run.ts writes (the same shape from every bench). */
interface IssueRow { row: string; today: string; goal: string; now: string; load: string }

main();
