// Browser figures (issue 13), for BENCHMARKS.md "## Browser": the page's load time (navigation to
// its script ready, by the page's clock, median of 5) and a 100 MiB FAT image built in the page (plan + write to a
// Blob, as the page times it) against the CLI's `diskwright fat` on the same tree (median of 3).
// Run: npx tsx bench/web.bench.ts (needs /usr/bin/chromium and `npm run build`).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT } from '../test/helpers/disk.js';
import { prng } from '../test/helpers/prng.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const dir = '/tmp/dw-web-bench';
const tree = join(dir, 'tree');
if (!existsSync(tree)) {
  const r = prng('web-bench');
  for (let d = 0; d < 10; d++) {
    mkdirSync(join(tree, `d${d}`), { recursive: true });
    for (let f = 0; f < 40; f++) writeFileSync(join(tree, `d${d}`, `f${f}`), r.bytes(256 << 10));
  }
}
execFileSync(process.execPath, [join(ROOT, 'scripts/bundle-web.mjs')]);
const web = join(ROOT, 'dist/web');
const server = createServer((q, s) => {
  const p = join(web, q.url === '/' ? 'index.html' : q.url!);
  if (!existsSync(p)) { s.writeHead(404).end(); return; }
  s.writeHead(200, { 'content-type': p.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(readFileSync(p));
});
await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const loads: number[] = [];
for (let i = 0; i < 5; i++) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]');
  // The page's own clock: navigation start to its script done (performance.now() in the page).
  loads.push(Number(await page.getAttribute('body', 'data-ready-ms')));
  await page.context().close();
}
const page = await (await browser.newContext()).newPage();
await page.goto(url);
await page.waitForSelector('body[data-ready="1"]');
await page.setInputFiles('#folder', tree);
await page.waitForFunction("!document.getElementById('build').disabled", undefined, { timeout: 120_000 });
const builds: number[] = [];
for (let i = 0; i < 3; i++) {
  // The page's own figures: planning (status after replan) + writing (status after build).
  await page.selectOption('#target', 'ext4'); await page.selectOption('#target', 'fat');
  await page.waitForFunction("document.getElementById('status').textContent.startsWith('planned')");
  const plan = Number(/planned in (\d+) ms/.exec((await page.textContent('#status'))!)![1]);
  await page.click('#build');
  await page.waitForFunction("document.getElementById('status').textContent.startsWith('built')", undefined, { timeout: 300_000 });
  builds.push(plan + Number(/in (\d+) ms/.exec((await page.textContent('#status'))!)![1]));
}
await browser.close();
server.close();
const cli: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  execFileSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'fat', tree, '-o', join(dir, 'cli.img')]);
  cli.push(performance.now() - t0);
}
rmSync(join(dir, 'cli.img'), { force: true });
console.log(`page load (navigation to ready), median of 5: ${median(loads).toFixed(0)} ms`);
console.log(`100 MiB FAT in the page (plan + write to a Blob), median of 3: ${median(builds).toFixed(0)} ms`);
console.log(`100 MiB FAT with the CLI (whole process), median of 3: ${median(cli).toFixed(0)} ms`);
console.log(`ratio page / CLI: ${(median(builds) / median(cli)).toFixed(2)}`);
