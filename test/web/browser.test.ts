// The page in a real browser (issue 13): headless Chromium (Debian's `chromium`, driven by
// playwright-core, no browser download) opens web/index.html from a static server on 127.0.0.1,
// gets a generated tree through the folder picker, builds each target and downloads it; the
// downloaded bytes are judged by the reference tools, as the CLI's images are.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, copyFileSync, lstatSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from '../helpers/disk.js';
import { prng } from '../helpers/prng.js';
import { run, runOk, tempDir } from '../helpers/tools.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium; scripts/install-oracles.sh installs it)`;
const ARTIFACTS = join(ROOT, 'test-artifacts');

let browser: Browser | undefined;
let server: Server | undefined;
let url = '';
const tmp = tempDir('dw-web-');
const src = join(tmp.dir, 'tree');

/** A few hundred files in nested directories, a few MiB, names FAT, ISO (Joliet/RR) and ext4 all keep. */
function makeTree(dir: string): void {
  const r = prng('web-tree');
  for (let d = 0; d < 12; d++) {
    const sub = join(dir, `dir-${d}`, d % 3 === 0 ? `inner-${d}` : '');
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 25; f++) {
      const size = f === 0 ? 150_000 + r.int(100_000) : r.int(12_000);
      writeFileSync(join(sub, `file-${f}.bin`), r.bytes(size));
    }
  }
  writeFileSync(join(dir, 'README.txt'), 'made in a browser\n');
}

/** Every regular file under `dir`, relative path → sha256 of its bytes. */
function digests(dir: string, base = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) for (const [k, v] of digests(p, `${base}${name}/`)) out.set(k, v);
    else if (st.isFile()) out.set(base + name, createHash('sha256').update(readFileSync(p)).digest('hex'));
  }
  return out;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json', '.json': 'application/json' };

before(async () => {
  if (skip) return;
  makeTree(src);
  // The page as shipped: `npm run build` runs the same script.
  runOk(process.execPath, [join(ROOT, 'scripts/bundle-web.mjs')]);
  const webRoot = join(ROOT, 'dist/web');
  server = createServer((req, res) => {
    const path = join(webRoot, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/\/$/, '/index.html'));
    if (!path.startsWith(webRoot) || !existsSync(path) || !statSync(path).isFile()) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
  });
  await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
  tmp.cleanup();
});

let page: Page | undefined;
async function openPage(): Promise<Page> {
  if (page) return page;
  const context = await browser!.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 820 } });
  page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]');
  assert.deepEqual(errors, []);
  // The folder picker (webkitdirectory) gets the generated tree, as a person choosing it would.
  await page.setInputFiles('#folder', src);
  await page.waitForFunction("document.getElementById('summary').textContent.includes('files')");
  return page;
}

/** Choose a target, build it, download it; returns the downloaded file and the page's layout table. */
async function buildTarget(target: string, file: string): Promise<{ path: string; table: string; sha256: string }> {
  const p = await openPage();
  await p.selectOption('#target', target);
  await p.waitForFunction("!document.getElementById('build').disabled");
  await p.click('#build');
  await p.waitForSelector('#download:not([hidden])', { timeout: 120_000 });
  const status = await p.textContent('#status');
  assert.doesNotMatch(status ?? '', /error|not available/i, status ?? '');
  const [download] = await Promise.all([p.waitForEvent('download'), p.click('#download')]);
  const path = join(tmp.dir, file);
  await download.saveAs(path);
  const sha256 = (await p.getAttribute('#download', 'data-sha256')) ?? '';
  return { path, table: (await p.textContent('#table')) ?? '', sha256 };
}

function sameFiles(dir: string, what: string): void {
  assert.deepEqual([...digests(dir)], [...digests(src)], `${what}: extracted files differ from the dropped tree`);
}

test('web page: FAT image passes fsck.fat and mcopy gives back the tree', { skip }, async () => {
  const { path, table, sha256 } = await buildTarget('fat', 'fat.img');
  assert.match(table, /none table/);
  assert.equal(sha256, createHash('sha256').update(readFileSync(path)).digest('hex'), 'the page reports the sha256 of the bytes it offers');
  runOk('fsck.fat', ['-n', path]);
  const out = join(tmp.dir, 'fat-out');
  mkdirSync(out);
  runOk('mcopy', ['-s', '-n', '-i', path, '::/*', out], { });
  sameFiles(out, 'FAT');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page!.screenshot({ path: join(ARTIFACTS, 'web-page.png'), fullPage: true });
  // The README's picture: written when missing or asked for, so a test run leaves the work tree as it was
  // (the status line shows the build's time, so every screenshot differs).
  const doc = join(ROOT, 'docs/web-page.png');
  if (!existsSync(doc) || process.env.DISKWRIGHT_UPDATE_DOCS === '1') copyFileSync(join(ARTIFACTS, 'web-page.png'), doc);
});

test('web page: ext4 image passes e2fsck and debugfs rdump gives back the tree', { skip }, async () => {
  const { path } = await buildTarget('ext4', 'ext4.img');
  runOk('e2fsck', ['-fn', path]);
  const out = join(tmp.dir, 'ext4-out');
  mkdirSync(out);
  runOk('debugfs', ['-R', `rdump / ${out}`, path]);
  // rdump also writes lost+found, which the tree does not have.
  runOk('rmdir', [join(out, 'lost+found')]);
  sameFiles(out, 'ext4');
});

test('web page: ISO 9660 image extracts with osirrox', { skip }, async () => {
  const { path } = await buildTarget('iso', 'image.iso');
  const out = join(tmp.dir, 'iso-out');
  runOk('osirrox', ['-indev', path, '-extract', '/', out]);
  sameFiles(out, 'ISO 9660');
});

test('web page: GPT disk with ESP and ext4 root passes sgdisk -v; root holds the tree', { skip }, async () => {
  const { path, table } = await buildTarget('gpt', 'disk.img');
  assert.match(table, /gpt table/);
  const v = runOk('sgdisk', ['-v', path]);
  assert.match(v, /No problems found/);
  const p = runOk('sgdisk', ['-p', path]);
  assert.match(p, /^\s+1\s+\d+\s+\d+.*EF00\s+ESP$/m);
  assert.match(p, /^\s+2\s+\d+\s+\d+.*8300\s+root$/m);
  // The root partition, cut out by its sgdisk start and end, is a clean ext4 with the tree.
  const m = /^\s+2\s+(\d+)\s+(\d+)/m.exec(p)!;
  const part = join(tmp.dir, 'root.ext4');
  runOk('dd', [`if=${path}`, `of=${part}`, 'bs=512', `skip=${m[1]}`, `count=${Number(m[2]) - Number(m[1]) + 1}`, 'status=none']);
  runOk('e2fsck', ['-fn', part]);
  const out = join(tmp.dir, 'gpt-out');
  mkdirSync(out);
  runOk('debugfs', ['-R', `rdump / ${out}`, part]);
  runOk('rmdir', [join(out, 'lost+found')]);
  sameFiles(out, 'GPT root');
});

test('web page: qcow2 of the GPT disk passes qemu-img check and holds the raw disk', { skip }, async () => {
  const { path } = await buildTarget('qcow2', 'disk.qcow2');
  runOk('qemu-img', ['check', path]);
  const info = JSON.parse(runOk('qemu-img', ['info', '--output=json', path])) as { format: string; 'virtual-size': number };
  assert.equal(info.format, 'qcow2');
  // The same plan written raw (previous test) is what the qcow2 holds.
  const raw = join(tmp.dir, 'disk.img');
  assert.equal(info['virtual-size'], statSync(raw).size);
  const cmp = run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', path, raw]);
  assert.equal(cmp.status, 0, cmp.stdout + cmp.stderr);
});

test('web page: files dropped on the drop zone become a FAT image that mtools reads back', { skip }, async () => {
  const context = await browser!.newContext({ acceptDownloads: true });
  const p = await context.newPage();
  await p.goto(url);
  await p.waitForSelector('body[data-ready="1"]');
  // A drop as a person makes it: a DataTransfer holding files, dispatched on the zone.
  const dt = await p.evaluateHandle(`(() => {
    const d = new DataTransfer();
    d.items.add(new File(['dropped\\n'], 'notes.txt'));
    d.items.add(new File([new Uint8Array(70000).map((_, i) => i * 7)], 'data.bin'));
    return d;
  })()`);
  await p.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
  await p.waitForFunction("document.getElementById('summary').textContent.startsWith('2 files')");
  await p.waitForFunction("!document.getElementById('build').disabled");
  await p.click('#build');
  await p.waitForSelector('#download:not([hidden])');
  const [download] = await Promise.all([p.waitForEvent('download'), p.click('#download')]);
  const img = join(tmp.dir, 'dropped.img');
  await download.saveAs(img);
  await context.close();
  runOk('fsck.fat', ['-n', img]);
  assert.equal(runOk('mtype', ['-i', img, '::/notes.txt']), 'dropped\n');
  const out = join(tmp.dir, 'data.bin');
  runOk('mcopy', ['-n', '-i', img, '::/data.bin', out]);
  assert.deepEqual(readFileSync(out), Buffer.from(new Uint8Array(70_000).map((_, i) => i * 7)));
});
