/**
 * One read path (issue 11): every container and compression diskwright writes, and what qemu-img
 * writes, opens as a virtual disk whose bytes are the raw build's (random ranges compared byte for
 * byte), whose holes are zeros, and which `inspect` reads like the raw disk: the same table and
 * filesystems that sfdisk and blkid see, the same partition hashes (sha256 of the raw partition's
 * bytes, as dd | sha256sum gives), and `diff` finds no difference between two containers of one build.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openDisk } from '../../src/container/read/open.js';
import { sfdiskJson } from '../helpers/disk.js';
import { prng } from '../helpers/prng.js';
import { needsRoot } from '../helpers/root.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { runBounded, transpileCli } from './fast-cli.js';
import { build, diskSpec, OUR_FORMS, QEMU_FORMS, qemuConvert, sourceTree } from './fixtures.js';

const { dir, cleanup } = tempDir('dw-readdisk-');
after(cleanup);
let main = '';
let raw: Buffer;
const rawPath = join(dir, 'disk.img');
const forms: { name: string; path: string; format: string; compression?: string }[] = [];
const LIMITS = { timeoutMs: 60_000, heapMiB: 256 };

before(async () => {
  main = await transpileCli(join(dir, 'cli'));
  const tree = sourceTree(dir);
  await build(diskSpec(tree, 'gpt'), rawPath);
  raw = readFileSync(rawPath);
  for (const [name, format, compression] of OUR_FORMS) {
    const p = join(dir, `disk.${name}`);
    await build(diskSpec(tree, 'gpt'), p, format, compression);
    const detected = format === 'qcow2-compressed' ? 'qcow2' : format;
    forms.push({ name, path: p, format: detected, ...(compression !== 'none' ? { compression } : {}) });
  }
  for (const [name, args] of QEMU_FORMS) {
    const p = join(dir, `disk.${name}`);
    qemuConvert(rawPath, p, args);
    const f = args[1] === 'vpc' ? (args.includes('subformat=fixed') ? 'vhd-fixed' : 'vhd') : args[1]!;
    forms.push({ name, path: p, format: f });
  }
  // zstd as its own command line writes it (one frame with its size; -T2: several).
  runOk('zstd', ['-q', '-T2', rawPath, '-o', join(dir, 'disk.cli.zst')]);
  forms.push({ name: 'zstd-cli', path: join(dir, 'disk.cli.zst'), format: 'raw', compression: 'zstd' });
  // A qcow2 inside a gzip stream: the container is found in the decoded stream.
  runOk('sh', ['-c', `gzip -c '${join(dir, 'disk.q-qcow2')}' > '${join(dir, 'disk.qcow2.gz')}'`]);
  forms.push({ name: 'qcow2-in-gzip', path: join(dir, 'disk.qcow2.gz'), format: 'qcow2', compression: 'gzip' });
});

test('every container and compression reads back as the raw disk: random ranges, holes, sizes', async () => {
  const rand = prng('read-disk');
  for (const f of forms) {
    const disk = await openDisk(f.path);
    try {
      assert.equal(disk.format, f.format, `${f.name}: format`);
      assert.equal(disk.compression, f.compression, `${f.name}: compression`);
      // qemu-img's VHDs round the size up to whole CHS cylinders; the extra bytes read as zeros.
      assert.ok(disk.size >= raw.length && disk.size - raw.length < 1 << 20, `${f.name}: size ${disk.size}`);
      for (let i = 0; i < 120; i++) {
        const offset = rand.int(raw.length), length = 1 + rand.int(300_000);
        const got = disk.read(offset, length);
        const want = Buffer.concat([raw.subarray(offset, offset + length), Buffer.alloc(Math.max(0, Math.min(length, disk.size - offset) - (raw.length - offset)))]);
        assert.ok(Buffer.from(got).equals(want), `${f.name}: bytes at ${offset} +${length}`);
      }
      // Every run the disk calls a hole is zeros in the raw build; the runs tile the disk.
      let at = 0, holes = 0;
      for (const r of disk.runs(0, disk.size)) {
        if (r.kind === 'zero') {
          holes += r.length;
          assert.ok(raw.subarray(at, Math.min(raw.length, at + r.length)).every((b) => b === 0), `${f.name}: hole at ${at} +${r.length} is not zeros`);
        }
        at += r.length;
      }
      assert.equal(at, disk.size, `${f.name}: the runs cover the disk`);
      if (f.format !== 'raw' && f.format !== 'vhd-fixed') assert.ok(holes >= raw.length / 4, `${f.name}: holes known (${holes} bytes)`);
    } finally {
      disk.close();
    }
  }
});

test('inspect reads the table and filesystems of every form as sfdisk and blkid read the raw disk', async () => {
  const t = sfdiskJson(rawPath);
  const sha = (o: number, n: number): string => createHash('sha256').update(raw.subarray(o, o + n)).digest('hex');
  for (const f of forms) {
    const r = await runBounded(main, ['inspect', f.path, '--json', '--hash'], LIMITS, dir);
    assert.equal(r.status, 0, `${f.name}: ${r.stderr}`);
    const info = JSON.parse(r.stdout) as { format: string; compression?: string; table: string; diskUuid: string; partitions: { offset: number; size: number; uuid: string; sha256: string; filesystem: { type: string; label?: string; uuid?: string } }[] };
    assert.equal(info.format, f.format, f.name);
    assert.equal(info.compression, f.compression, f.name);
    assert.equal(info.table, 'gpt', f.name);
    assert.equal(info.diskUuid.toUpperCase(), t.id, f.name);
    assert.equal(info.partitions.length, t.partitions.length, f.name);
    info.partitions.forEach((p, i) => {
      const q = t.partitions[i]!;
      assert.equal(p.offset, q.start * 512, f.name);
      assert.equal(p.size, q.size * 512, f.name);
      assert.equal(p.uuid.toUpperCase(), q.uuid, f.name);
      const b = Object.fromEntries(runOk('blkid', ['-p', '-o', 'export', '-O', String(p.offset), rawPath]).trim().split('\n').map((l) => l.split('=') as [string, string]));
      assert.equal(p.filesystem.type, b.TYPE, f.name);
      assert.equal(p.filesystem.label, b.LABEL, f.name);
      assert.equal(p.filesystem.uuid!.toLowerCase(), b.UUID!.toLowerCase(), f.name);
      assert.equal(p.sha256, sha(p.offset, p.size), `${f.name}: partition ${i + 1} sha256`);
    });
  }
});

test('diff: one build in two containers is identical; a changed byte is found', async () => {
  const same = await runBounded(main, ['diff', join(dir, 'disk.qcow2c'), join(dir, 'disk.q-vmdkstream')], LIMITS, dir);
  assert.equal(same.status, 0, same.stderr + same.stdout);
  const changed = Buffer.from(raw);
  const p2 = sfdiskJson(rawPath).partitions[1]!.start * 512;
  changed[p2 + (2 << 20) + 7] ^= 0xff;
  writeFileSync(join(dir, 'changed.img'), changed);
  const d = await runBounded(main, ['diff', join(dir, 'disk.zst'), join(dir, 'changed.img')], LIMITS, dir);
  assert.equal(d.status, 1, d.stderr);
  assert.match(d.stdout, /partition 2 \(root\) content sha256: /);
});

test('a stream that decodes past the scratch space is E_SCRATCH_SPACE, and nothing is left behind', { skip: needsRoot('mount a small tmpfs') }, async () => {
  // 512 MiB of non-zero bytes in a small gzip stream, decoded with a 300 MiB tmpfs as TMPDIR
  // (the decoder keeps 256 MiB free): it must stop, say why, and remove its scratch file.
  const mnt = join(dir, 'small-tmp');
  mkdirSync(mnt);
  runOk('mount', ['-t', 'tmpfs', '-o', 'size=300m', 'tmpfs', mnt]);
  try {
    const gz = join(dir, 'big.gz');
    runOk('sh', ['-c', `head -c 536870912 /dev/zero | tr '\\0' 'x' | gzip -1 > '${gz}'`]);
    const r = await runBounded(main, ['inspect', gz], { ...LIMITS, env: { TMPDIR: mnt } }, dir);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^diskwright: error E_SCRATCH_SPACE: .*big\.gz: decoding it \(gzip\) needs more scratch space than the \d+ bytes free in .*small-tmp \(at compressed byte \d+\): set TMPDIR/);
    assert.equal(runOk('sh', ['-c', `ls -A '${mnt}'`]).trim(), '');
  } finally {
    run('umount', [mnt]);
  }
});
