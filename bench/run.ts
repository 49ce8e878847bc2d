/**
 * `npm run bench`: runs every bench/*.bench.ts in turn (each prepares its inputs outside the
 * repository, runs the reference tool on the same input in the same run, and prints ratios and
 * peak memory), then writes issue 12's summary table into BENCHMARKS.md. Filter with arguments:
 * `npm run bench -- ext4`.
 *
 * The summary: a bench may write OUT/issue12-<name>.json (bench/corpus.ts's OUT), a list of
 * `{ row, today, goal, now, load }`: the issue's row, its "today" figure, its goal, this run's figure
 * and the load average while it was measured. This script collects every such file written during
 * this run and replaces the table between the summary markers in BENCHMARKS.md, with the load
 * average at the start and the end of the run beside it. `--no-write` only prints the table.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, OUT } from './corpus.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const write = !args.includes('--no-write');
const filters = args.filter((a) => !a.startsWith('--'));
const files = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort().filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));

interface IssueRow { row: string; today: string; goal: string; now: string; load: string }

const BEGIN = '<!-- bench/run.ts summary: begin -->';
const END = '<!-- bench/run.ts summary: end -->';

mkdirSync(OUT, { recursive: true });
const started = Date.now();
const loadStart = load();
let failed = 0;
for (const f of files) {
  process.stdout.write(`\n=== ${f} ===\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
const loadEnd = load();

// Issue 12 rows written by the benches of this run (older files are left out).
const rows: IssueRow[] = [];
for (const f of readdirSync(OUT).filter((x) => /^issue12-.*\.json$/.test(x)).sort()) {
  const path = join(OUT, f);
  if (statSync(path).mtimeMs < started) continue;
  rows.push(...(JSON.parse(readFileSync(path, 'utf8')) as IssueRow[]));
}
if (rows.length) {
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const table = [
    `Run of ${when} UTC (\`npm run bench${filters.length ? ` -- ${filters.join(' ')}` : ''}\`), load average ${loadStart} at the start, ${loadEnd} at the end (2 cores).`,
    '',
    '| issue 12 row | today (issue) | goal | this run: wall (CPU) | load average while measured |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.row} | ${r.today} | ${r.goal} | ${r.now} | ${r.load} |`),
  ].join('\n');
  process.stdout.write(`\n${table}\n`);
  const md = join(here, '..', 'BENCHMARKS.md');
  if (write && existsSync(md)) {
    const text = readFileSync(md, 'utf8');
    const a = text.indexOf(BEGIN), b = text.indexOf(END);
    if (a >= 0 && b > a) writeFileSync(md, `${text.slice(0, a + BEGIN.length)}\n${table}\n${text.slice(b)}`);
    else process.stdout.write(`(BENCHMARKS.md has no summary markers: table not written)\n`);
  }
}
process.exit(failed ? 1 : 0);
