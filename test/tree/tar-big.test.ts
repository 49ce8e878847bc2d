/**
 * Big compressed tar layers (issue 14): a 5 GiB member in a gzip, xz and zstd layer (bzip2: 1 GiB,
 * its pure-JS decoder is slow) becomes an ext4 image with a peak RSS under 1 GiB (measured with
 * /usr/bin/time: package `time`, scripts/install-oracles.sh), e2fsck-clean, the member at full
 * size; the decompressed temporary file is gone afterwards, and also after SIGTERM mid-way. The
 * temporary file is sparse (its zero runs are holes: peak disk use polled while the build runs) and
 * the member's holes stay holes in ext4 (few blocks allocated, the image file small).
 *
 * The tar stream is GNU tar's (`tar -cf - big` of a 5 GiB sparse file). Compressing 5 GiB takes
 * minutes with gzip/xz, so those layers are members/streams concatenated (valid gzip, xz and bzip2:
 * every decoder must read on across them): the header, then one compressed 64 MiB run of zeros
 * repeated, then the tail. The zstd layer is a single stream from `tar | zstd -T2 -1`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLI } from '../helpers/disk.js';
import { runOk, tempDir } from '../helpers/tools.js';

const { dir, cleanup } = tempDir('dw-tarbig-');
after(cleanup);
const TMP = join(dir, 'tmp');
const OUT = join(dir, 'out');
mkdirSync(TMP);
mkdirSync(OUT);

const GiB = 2 ** 30;
const CHUNK = 64 << 20;
const TOOL = { gzip: 'gzip -1 -n', xz: 'xz -1', zstd: 'zstd -q -1', bzip2: 'bzip2 -1' } as const;
type Codec = keyof typeof TOOL;

/** GNU tar's stream for one sparse file of `size` bytes: its header, and the length of the stream. */
function gnuTarOf(size: number): { header: Buffer; length: number } {
  const src = join(dir, `src-${size}`);
  mkdirSync(src, { recursive: true });
  truncateSync(openAndClose(join(src, 'big')), size);
  const header = runOkBuffer('sh', ['-c', `tar --format=gnu --owner=0 --group=0 --mtime=@1500000000 -cf - -C "${src}" big | head -c 512`]);
  // header + data + two zero blocks, padded to GNU tar's 10240-byte record: all zeros after the header.
  const length = Math.ceil((512 + size + 1024) / 10240) * 10240;
  return { header, length };
}

function runOkBuffer(cmd: string, args: string[]): Buffer {
  const r = spawnSync(cmd, args, { maxBuffer: 1 << 20 });
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

/** A layer of `size` bytes of zeros in one member named big, compressed as concatenated members. */
function concatenatedLayer(codec: Codec, size: number): string {
  const { header, length } = gnuTarOf(size);
  const file = join(dir, `big-${size}.tar.${codec}`);
  const part = (name: string, bytes: number | Buffer): Buffer => {
    const p = join(dir, name);
    if (typeof bytes === 'number') { truncateSync(openAndClose(p), bytes); } else writeFileSync(p, bytes);
    return runOkBuffer('sh', ['-c', `${TOOL[codec]} -c "${p}"`]);
  };
  const head = part('head', header);
  const run = part('run', CHUNK);
  const rest = length - 512;
  const runs = Math.floor(rest / CHUNK);
  const tail = part('tail', rest - runs * CHUNK);
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, head);
    for (let i = 0; i < runs; i++) writeSync(fd, run);
    writeSync(fd, tail);
  } finally {
    closeSync(fd);
  }
  return file;
}

function openAndClose(p: string): string {
  closeSync(openSync(p, 'w'));
  return p;
}

function leftovers(): string[] {
  return readdirSync(TMP).filter((f) => f.startsWith('diskwright-'));
}

/** Disk allocated to the temporary files now (st_blocks), in bytes. */
function tempDisk(): number {
  let total = 0;
  for (const d of leftovers()) {
    try {
      for (const f of readdirSync(join(TMP, d))) total += statSync(join(TMP, d, f)).blocks * 512;
    } catch { /* removed meanwhile */ }
  }
  return total;
}

/**
 * Build an ext4 image from the layer through the CLI under /usr/bin/time; returns peak RSS in
 * bytes, seconds, and the peak disk allocated to temporary files (polled every 50 ms).
 */
async function buildLayer(layer: string, img: string): Promise<{ rss: number; seconds: number; disk: number }> {
  assert.ok(existsSync('/usr/bin/time'), '/usr/bin/time is missing: install the package time (scripts/install-oracles.sh)');
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify({ table: 'none', sourceDateEpoch: 1, partitions: [{ name: 'root', filesystem: 'ext4', contents: [{ tar: layer, target: '/' }] }] }));
  const t0 = Date.now();
  const child = spawn('/usr/bin/time', ['-f', 'DW_MAXRSS_KB=%M', process.execPath, ...CLI, 'build', spec, '-o', img, '-q'], { env: { ...process.env, TMPDIR: TMP }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  let disk = 0;
  const poll = setInterval(() => { disk = Math.max(disk, tempDisk()); }, 50);
  const status = await new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  clearInterval(poll);
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(status, 0, stderr);
  const m = /DW_MAXRSS_KB=(\d+)/.exec(stderr);
  assert.ok(m, stderr);
  return { rss: Number(m[1]) * 1024, seconds, disk };
}

function checkImage(img: string, size: number): void {
  runOk('e2fsck', ['-fn', img]);
  const stat = runOk('debugfs', ['-R', 'stat /big', img]);
  assert.match(stat, new RegExp(`Size: ${size}\\b`), stat);
  assert.match(stat, /Type: regular/);
  // The zeros stay holes: a few blocks at most for /big, and a small image file.
  const sectors = Number(/Blockcount: (\d+)/.exec(stat)?.[1]);
  assert.ok(sectors * 512 < 1 << 20, `/big has ${sectors} sectors allocated`);
  assert.ok(statSync(img).blocks * 512 < 256 << 20, `image allocates ${statSync(img).blocks * 512} bytes`);
}

const results: string[] = [];
after(() => { if (results.length) console.log(`# big layers: ${results.join('; ')}`); });

for (const [codec, size] of [['gzip', 5 * GiB], ['xz', 5 * GiB], ['zstd', 5 * GiB], ['bzip2', GiB]] as [Codec, number][]) {
  test(`a ${size / GiB} GiB ${codec} tar layer into ext4 with a peak RSS under 1 GiB, sparse temporary file and image; temporary file removed`, async () => {
    let layer: string;
    if (codec === 'zstd') {
      // One zstd stream, as a container runtime's layer would be.
      const src = join(dir, 'src-zstd');
      mkdirSync(src, { recursive: true });
      truncateSync(openAndClose(join(src, 'big')), size);
      layer = join(dir, 'big.tar.zst');
      runOk('sh', ['-c', `tar --format=gnu --owner=0 --group=0 --mtime=@1500000000 -cf - -C "${src}" big | zstd -q -T2 -1 > "${layer}"`]);
    } else {
      layer = concatenatedLayer(codec, size);
    }
    const img = join(OUT, `${codec}.img`);
    const { rss, seconds, disk } = await buildLayer(layer, img);
    results.push(`${codec} ${size / GiB} GiB: ${seconds.toFixed(1)} s, peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB, peak temp disk ${(disk / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(rss < GiB, `peak RSS ${rss} bytes`);
    // Before the temporary file was sparse it took the whole layer (5 GiB) of disk.
    assert.ok(disk < 64 << 20, `temporary files allocated up to ${disk} bytes`);
    checkImage(img, size);
    assert.deepEqual(leftovers(), []);
    rmSync(img);
    rmSync(layer);
  });
}

test('SIGTERM while a layer is being decompressed: exit 143, no temporary file, no output', async () => {
  const layer = concatenatedLayer('gzip', 5 * GiB);
  const spec = join(dir, 'spec-term.json');
  writeFileSync(spec, JSON.stringify({ table: 'none', partitions: [{ name: 'root', filesystem: 'ext4', contents: [{ tar: layer, target: '/' }] }] }));
  const child = spawn(process.execPath, [...CLI, 'build', spec, '-o', join(OUT, 'term.img'), '-q'], { env: { ...process.env, TMPDIR: TMP }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  // Wait until the decompressed file has grown past 256 MiB, then interrupt.
  const deadline = Date.now() + 120_000;
  for (;;) {
    const d = leftovers()[0];
    const f = d ? join(TMP, d, 'archive.tar') : undefined;
    if (f && existsSync(f) && statSync(f).size > 256 << 20) break;
    assert.ok(Date.now() < deadline, `no decompression seen; stderr: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  const code = await exited;
  assert.equal(code, 143, stderr);
  assert.match(stderr, /interrupted \(SIGTERM\)/);
  assert.deepEqual(leftovers(), [], 'temporary directory removed');
  assert.deepEqual(readdirSync(OUT), [], 'no output');
  rmSync(layer);
});
