/**
 * Issue 14 items 1 and 5: 20 compressed builds (zstd, xz, gzip, bzip2 at several levels including
 * bzip2 1 and 3, qcow2-compressed, VMDK, containers inside a compression stream), three at a time
 * through the CLI, each checked by the reference tool and decompressed to the raw build's sha256.
 *
 * The disk is 52 MiB, not 1 GiB: on this two-core machine xz and bzip2 compress incompressible
 * data at 2-6 MB/s, so 20 builds of 1 GiB would take hours. It keeps what matters: 16.5 MiB of
 * seeded incompressible data from 8 MiB, then 22 MiB of zeros, then 4 MiB of compressible text, so
 * that every codec writes at least two whole incompressible frames and two whole all-zero frames
 * (frames of 8 MiB for zstd/xz, 4 MiB for gzip, 8.1 MB for bzip2 at every level), plus mixed
 * frames and a partial last one.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir } from '../helpers/tools.js';
import { limited, runCli, sha256File, writeRandomFile, writeTextFile } from './helpers.js';

const { dir, cleanup } = tempDir('dw-integrity-compressed-');
after(cleanup);
const spec = join(dir, 'disk.yaml');
const spec16k = join(dir, 'disk-16k.yaml');
const MiB = 1 << 20;

before(() => {
  writeRandomFile(join(dir, 'random.bin'), 'integrity-compressed', 16.5 * MiB);
  writeTextFile(join(dir, 'text.bin'), 4 * MiB);
  writeFileSync(spec, `name: integrity
seed: integrity
sourceDateEpoch: 1700000000
size: 52MiB
table: gpt
partitions:
  - { name: random, type: linux, offset: 8MiB, size: 17MiB, filesystem: image, image: ./random.bin }
  - { name: zeros, type: linux, offset: 25MiB, size: 22MiB }
  - { name: text, type: linux, offset: 47MiB, size: 4MiB, filesystem: image, image: ./text.bin }
`);
});

interface Case { name: string; args: string[]; out: string; check: (out: string) => string }

const TOOL: Record<string, { test: string[]; dec: string }> = {
  zstd: { test: ['zstd', '-q', '-t'], dec: 'zstd -q -d -c' },
  xz: { test: ['xz', '-t'], dec: 'xz -d -c' },
  gzip: { test: ['gzip', '-t'], dec: 'gzip -d -c' },
  bzip2: { test: ['bzip2', '-t'], dec: 'bzip2 -d -c' },
};
const SUFFIX: Record<string, string> = { zstd: 'zst', xz: 'xz', gzip: 'gz', bzip2: 'bz2' };

/** sha256 of the raw disk a container (qcow2, vmdk, vhd, vdi) holds, as qemu-img reads it. */
function qemuRawSha(path: string, fmt: string): string {
  const chk = run('qemu-img', ['check', '-f', fmt, path]);
  // qemu-img check: 0 = consistent; 63 = the format has no consistency check (vpc, vdi checks exist).
  assert.ok(chk.status === 0 || (chk.status === 63 && fmt !== 'qcow2' && fmt !== 'vmdk'), `qemu-img check ${path}: ${chk.status} ${chk.stdout}${chk.stderr}`);
  const raw = `${path}.raw`;
  const r = run('qemu-img', ['convert', '-f', fmt, '-O', 'raw', path, raw]);
  assert.equal(r.status, 0, r.stderr);
  const sha = sha256File(raw);
  run('rm', ['-f', raw]);
  return sha;
}

/** Reference-tool test, then decompress (and read the container inside) to the raw disk's sha256. */
function decompressedSha(codec: string, path: string, inner: string | undefined): string {
  const t = TOOL[codec]!;
  const r = run(t.test[0]!, [...t.test.slice(1), path]);
  assert.equal(r.status, 0, `${t.test.join(' ')} ${path}: ${r.stderr}`);
  const dec = `${path}.dec`;
  const d = run('sh', ['-c', `${t.dec} < "${path}" > "${dec}"`]);
  assert.equal(d.status, 0, d.stderr);
  try {
    return inner ? qemuRawSha(dec, inner) : sha256File(dec);
  } finally {
    run('rm', ['-f', dec]);
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
      check: (p) => decompressedSha(codec, p, qemuFmt),
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
    out.push({ name, out: file, args: ['build', s, '-o', file, '--format', format, '--sha256'], check: (p) => qemuRawSha(p, fmt) });
  }
  return out;
}

test('20 compressed builds, 3 at a time, each verified by its reference tool and decompressed to the raw build', async () => {
  writeFileSync(spec16k, `${readFileSync(spec, 'utf8')}clusterSize: 16384\n`);
  const raw = join(dir, 'disk.img');
  const r = await runCli(['build', spec, '-o', raw, '-q']);
  assert.equal(r.status, 0, r.stderr);
  const rawSha = sha256File(raw);
  const all = cases();
  assert.equal(all.length, 20);
  const results = await limited(3, all.map((c) => async () => ({ c, r: await runCli(c.args) })));
  // Every build is checked; the failures are reported together.
  const failures: string[] = [];
  for (const { c, r: res } of results) {
    try {
      assert.equal(res.status, 0, `exit status; stderr: ${res.stderr.split('\n').slice(0, 3).join(' | ')}`);
      assert.equal(c.check(c.out), rawSha, 'decompresses to the raw build');
      assert.match(res.stderr, /^wrote /m);
      assert.equal(res.stdout.trim(), `${sha256File(c.out)}  ${c.out}`, '--sha256 prints the output file\'s sha256');
    } catch (e) {
      failures.push(`${c.name}: ${(e as Error).message.split('\n')[0]}`);
    }
    run('rm', ['-f', c.out]);
  }
  assert.deepEqual(failures, []);
});
