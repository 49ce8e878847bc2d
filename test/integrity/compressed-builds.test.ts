/**
 * Issue 14 items 1 and 5: 20 compressed builds (zstd, xz, gzip, bzip2 at several levels including
 * bzip2 1 and 3, qcow2-compressed, VMDK, containers inside a compression stream) of a 1 GiB disk,
 * three at a time through the CLI, each judged by its reference tool and decompressed to exactly
 * the raw build's bytes.
 *
 * The disk is 1 GiB (1024 MiB), as the issue asks, but mostly zeros: on this two-core machine xz
 * and bzip2 compress incompressible data at 2-6 MB/s, so 20 builds of 1 GiB of random bytes would
 * take hours. What it holds:
 * - 16.5 MiB of seeded incompressible bytes at 8 MiB: whole incompressible frames for every codec
 *   (frames of 8 MiB for zstd/xz, 4 MiB for gzip, 8.1 MB for bzip2 at every level);
 * - 6 MiB of incompressible bytes at 517 MiB, across a frame boundary: frames half random, half zeros;
 * - 16 MiB of zero bytes written to an input file at 600 MiB (an all-zero region that is data,
 *   not a hole in the plan's extents);
 * - 4 MiB of compressible text at 1016 MiB, then zeros and the backup GPT: a mixed last frame;
 * - everything else zeros: about 980 MiB, 120+ whole all-zero frames in two long runs (the shared
 *   zero frame must land at each of their places, in order, among the data frames).
 * Each output is about 120-260 frames. Whole-file outputs are decompressed by the reference tool
 * (`zstd -d`, `xz -d`, `gzip -d`, `bzip2 -d`, which check every frame's checksum as `-t` does, with
 * pipefail) and compared with `cmp` against the raw build; containers are judged by `qemu-img check`
 * and `qemu-img compare` with the raw build (after decompression when inside a stream).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tools.js';
import { limited, runCli, sha256File, writeRandomFile, writeTextFile } from './helpers.js';

const { dir, cleanup } = tempDir('dw-integrity-compressed-');
after(cleanup);
const spec = join(dir, 'disk.yaml');
const spec16k = join(dir, 'disk-16k.yaml');
const raw = join(dir, 'disk.img');
const MiB = 1 << 20;

before(() => {
  writeRandomFile(join(dir, 'random-a.bin'), 'integrity-compressed', 16.5 * MiB);
  writeRandomFile(join(dir, 'random-b.bin'), 'integrity-compressed-b', 6 * MiB);
  writeTextFile(join(dir, 'text.bin'), 4 * MiB);
  const fd = openSync(join(dir, 'zeros.bin'), 'w');
  for (let i = 0; i < 16; i++) writeSync(fd, Buffer.alloc(MiB));
  closeSync(fd);
  writeFileSync(spec, `name: integrity
seed: integrity
sourceDateEpoch: 1700000000
size: 1GiB
table: gpt
partitions:
  - { name: random-a, type: linux, offset: 8MiB, size: 17MiB, filesystem: image, image: ./random-a.bin }
  - { name: empty, type: linux, offset: 25MiB, size: 492MiB }
  - { name: random-b, type: linux, offset: 517MiB, size: 6MiB, filesystem: image, image: ./random-b.bin }
  - { name: zeros, type: linux, offset: 600MiB, size: 16MiB, filesystem: image, image: ./zeros.bin }
  - { name: text, type: linux, offset: 1016MiB, size: 4MiB, filesystem: image, image: ./text.bin }
`);
  writeFileSync(spec16k, `${readFileSync(spec, 'utf8')}clusterSize: 16384\n`);
});

interface Case { name: string; args: string[]; out: string; check: (out: string) => Promise<void> }

/** The reference decompressors, writing to stdout. */
const DEC: Record<string, string> = { zstd: 'zstd -q -d -c', xz: 'xz -d -c', gzip: 'gzip -d -c', bzip2: 'bzip2 -d -c' };
const SUFFIX: Record<string, string> = { zstd: 'zst', xz: 'xz', gzip: 'gz', bzip2: 'bz2' };

/** Run a shell pipeline (bash, pipefail) without blocking the event loop; its status and output. */
function sh(cmd: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, out: out.trim().slice(0, 400) }));
  });
}
const q = (p: string): string => `'${p.replace(/'/g, `'\\''`)}'`;

/** qemu-img check (a format without a consistency check is exit 63), then compare with the raw build. */
async function qemuMatchesRaw(path: string, fmt: string): Promise<void> {
  const chk = await sh(`qemu-img check -f ${fmt} ${q(path)}`);
  assert.ok(chk.status === 0 || (chk.status === 63 && fmt !== 'qcow2' && fmt !== 'vmdk'), `qemu-img check ${path}: exit ${chk.status}: ${chk.out}`);
  const cmp = await sh(`qemu-img compare -f ${fmt} -F raw ${q(path)} ${q(raw)}`);
  assert.equal(cmp.status, 0, `qemu-img compare ${path} with the raw build: ${cmp.out}`);
}

/** Decompress with the reference tool, and compare the result (or the container it holds) with the raw build. */
async function decompressesToRaw(codec: string, path: string, inner: string | undefined): Promise<void> {
  if (!inner) {
    const r = await sh(`${DEC[codec]!} < ${q(path)} | cmp - ${q(raw)}`);
    assert.equal(r.status, 0, `${DEC[codec]} ${path} | cmp with the raw build: ${r.out}`);
    return;
  }
  const dec = `${path}.dec`;
  const d = await sh(`${DEC[codec]!} < ${q(path)} > ${q(dec)}`);
  assert.equal(d.status, 0, `${DEC[codec]} ${path}: ${d.out}`);
  try {
    await qemuMatchesRaw(dec, inner);
  } finally {
    await sh(`rm -f ${q(dec)}`);
  }
}

function cases(): Case[] {
  const out: Case[] = [];
  const whole = (codec: string, level: number | undefined, format = 'raw', qemuFmt?: string): void => {
    const name = `${format}-${codec}${level === undefined ? '' : `-${level}`}`;
    const file = join(dir, `${name}.${SUFFIX[codec]}`);
    out.push({
      name, out: file,
      args: ['build', spec, '-o', file, '--format', format, '--compression', codec, ...(level === undefined ? [] : ['--level', String(level)]), '--sha256'],
      check: (p) => decompressesToRaw(codec, p, qemuFmt),
    });
  };
  whole('zstd', undefined); whole('zstd', 1); whole('zstd', 9);
  whole('xz', 0); whole('xz', 1); whole('xz', 2);
  whole('gzip', 1); whole('gzip', undefined); whole('gzip', 9);
  whole('bzip2', 1); whole('bzip2', 3); whole('bzip2', undefined);
  whole('zstd', 3, 'qcow2', 'qcow2');
  whole('xz', 0, 'vhd', 'vpc');
  whole('gzip', 1, 'vdi', 'vdi');
  whole('bzip2', 1, 'vmdk', 'vmdk');
  whole('zstd', 1, 'vmdk', 'vmdk');
  // The block-compressed containers: qcow2-compressed (64 KiB and 16 KiB clusters) and VMDK.
  for (const [name, format, fmt, s] of [['qcow2-compressed', 'qcow2-compressed', 'qcow2', spec], ['qcow2-compressed-16k', 'qcow2-compressed', 'qcow2', spec16k], ['vmdk', 'vmdk', 'vmdk', spec]] as const) {
    const file = join(dir, `${name}.${fmt}`);
    out.push({ name, out: file, args: ['build', s, '-o', file, '--format', format, '--sha256'], check: (p) => qemuMatchesRaw(p, fmt) });
  }
  return out;
}

test('20 compressed builds of a 1 GiB disk, 3 at a time, each verified by its reference tool and decompressed to the raw build', async () => {
  const r = await runCli(['build', spec, '-o', raw, '-q']);
  assert.equal(r.status, 0, r.stderr);
  const all = cases();
  assert.equal(all.length, 20);
  // Each slot builds, then checks its output and removes it: three builds or checks at a time.
  // Every build is checked; the failures are reported together.
  const failures = await limited(3, all.map((c) => async (): Promise<string | undefined> => {
    const res = await runCli(c.args);
    try {
      assert.equal(res.status, 0, `exit status; stderr: ${res.stderr.split('\n').slice(0, 3).join(' | ')}`);
      await c.check(c.out);
      assert.match(res.stderr, /^wrote /m);
      assert.equal(res.stdout.trim(), `${sha256File(c.out)}  ${c.out}`, '--sha256 prints the output file\'s sha256');
      return undefined;
    } catch (e) {
      return `${c.name}: ${(e as Error).message.split('\n')[0]}`;
    } finally {
      await sh(`rm -f ${q(c.out)}`);
    }
  }));
  assert.deepEqual(failures.filter((f) => f !== undefined), []);
});
