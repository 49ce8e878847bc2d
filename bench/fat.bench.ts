/**
 * FAT benchmark (issues 5 and 12): diskwright's FAT writer against `mkfs.fat` + `mcopy -s` on the
 * same tree, same size and FAT type, in the same run. Inputs, made once under bench/corpus.ts's ROOT:
 *   esp:        a 256 MiB ESP with a kernel, an initramfs and a few hundred files (bench/fat-corpus.ts);
 *   small:      ~10,000 small files in 100 directories;
 *   rootfs-fat: the Debian minbase tree, FAT-representable (bench/fat-corpus.ts), as FAT32.
 * Both sides run in turn on the same page-cache state (bench/corpus.ts `alternate`); the table gives
 * the median wall and CPU (user + system) time of RUNS runs, the peak RSS (GNU time), the ratios
 * and the load average. NODE_EXTRA_CA_CERTS is removed from diskwright's environment (Node reads
 * those certificates before any JavaScript: ~50 ms per start on this machine; see "Start-up").
 *
 *   node --import tsx bench/fat.bench.ts [esp|esp32|small|rootfs ...]   # a markdown table for BENCHMARKS.md
 *   DW_CLI=/path/dist/cli/main.js ...                                  # a CLI built already
 *   DW_CLI_BEFORE=/path/dist/cli/main.js ...                           # also rows for an earlier build, same run
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../test/helpers/prng.js';
import { compiledCli } from './compiled-cli.js';
import { alternate, load, OUT, prepared, q, ROOT, sh, timed } from './corpus.js';
import { fatRootfs, makeEsp } from './fat-corpus.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function makeSmall(dir: string): void {
  for (let d = 0; d < 100; d++) {
    const sub = join(dir, `dir-${d}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(sub, `small file number ${f}.txt`), prng(`s${d}.${f}`).bytes(200 + ((d * 100 + f) * 37) % 4000));
  }
}

const after = process.env.DW_CLI ? `node ${process.env.DW_CLI}` : compiledCli(join(ROOT, 'fat-cli'));
const clis: [label: string, cli: string][] = process.env.DW_CLI_BEFORE ? [['before', `node ${process.env.DW_CLI_BEFORE}`], ['after', after]] : [['', after]];
const env = 'env -u NODE_EXTRA_CA_CERTS MTOOLS_SKIP_CHECK=1 TZ=UTC';

function bench(name: string, slug: string, dir: string, sizeBytes: number | 'auto', fatBits: number | undefined, cli: string) {
  const ours = join(OUT, `${slug}.fat-dw.img`);
  const ref = join(OUT, `${slug}.fat-mkfs.img`);
  const fatFlag = fatBits ? `--fat ${fatBits}` : '';
  const cmd = (sizeFlag: string): string => `${env} ${cli} fat ${q(dir)} -o ${q(ours)} --label BENCH ${sizeFlag} ${fatFlag} -q`;
  let size = sizeBytes;
  if (size === 'auto') {
    // Our exact auto size leaves mkfs.fat (other layout choices) no slack: give both sides 10 % more.
    timed(`rm -f ${q(ours)} && ${cmd('')}`);
    size = Math.ceil((statSync(ours).size * 1.1) / 2 ** 20) * 2 ** 20;
  }
  const refCmd = `${env} bash -c ${q(`mkfs.fat -C ${q(ref)} ${size / 1024} -n BENCH ${fatBits ? `-F ${fatBits}` : ''} >/dev/null && mcopy -s -m -i ${q(ref)} ${q(dir)}/* ::/`)}`;
  const r = alternate({ ours: cmd(`--size ${size}`), ref: refCmd }, [ours, ref], RUNS);
  const fsck = spawnSync('fsck.fat', ['-n', ours], { encoding: 'utf8' });
  if (fsck.status !== 0) throw new Error(`fsck.fat on ${ours}:\n${fsck.stdout}`);
  const files = Number(sh('bash', ['-c', `find ${q(dir)} -type f | wc -l`]).trim());
  const bytes = Number(sh('du', ['-sb', dir]).split('\t')[0]);
  return { name: `${name}: ${files} files, ${(bytes / 2 ** 20).toFixed(0)} MiB`, size, ...r };
}

mkdirSync(OUT, { recursive: true });
const cases: Record<string, (cli: string) => ReturnType<typeof bench>> = {
  esp: (cli) => bench('ESP (kernel, initrd, 300 files)', 'esp', prepared('esp', makeEsp), 256 << 20, undefined, cli),
  esp32: (cli) => bench('same ESP, FAT32 forced', 'esp32', prepared('esp', makeEsp), 256 << 20, 32, cli),
  small: (cli) => bench('small files in 100 directories (auto + 10 %)', 'small', prepared('small-fat', makeSmall), 'auto', undefined, cli),
  rootfs: (cli) => bench('Debian minbase tree, FAT-representable, FAT32 (auto + 10 %)', 'rootfs', fatRootfs(), 'auto', 32, cli),
};
const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(cases);
const load0 = load();
const rows = names.flatMap((n) => {
  const c = cases[n];
  if (!c) throw new Error(`unknown case ${n} (${Object.keys(cases).join(', ')})`);
  return clis.map(([label, cli]) => { const r = c(cli); return { ...r, name: label ? `${r.name} — ${label}` : r.name }; });
});
console.log(`| input | image | diskwright wall / CPU (s) | mkfs.fat + mcopy -s wall / CPU (s) | ratio wall / CPU | peak RSS diskwright | peak RSS mkfs.fat/mcopy |`);
console.log(`|---|---|---|---|---|---|---|`);
for (const r of rows) {
  console.log(`| ${r.name} | ${(r.size / 2 ** 20).toFixed(0)} MiB | ${r.ours.wall.toFixed(2)} / ${r.ours.cpu.toFixed(2)} | ${r.ref.wall.toFixed(2)} / ${r.ref.cpu.toFixed(2)} | ${(r.ours.wall / r.ref.wall).toFixed(2)}× / ${(r.ours.cpu / r.ref.cpu).toFixed(2)}× | ${(r.ours.rssKiB / 1024).toFixed(0)} MiB | ${(r.ref.rssKiB / 1024).toFixed(0)} MiB |`);
}
const host = `${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores, Node ${process.version}`;
console.log(`\nmedian of ${RUNS} runs, ${host}; load average ${load0} before, ${load()} after; inputs under ${ROOT}`);
