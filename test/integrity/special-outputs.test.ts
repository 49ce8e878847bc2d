/**
 * Issue 14 item 2: -o onto a block device, a FIFO, a symlink, /dev/null. A special file never
 * becomes a regular one: a block device is written in place (holes as zeros, over old data), a
 * FIFO or character device gets the stream, a symlink's target is replaced and the link stays.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, lstatSync, openSync, readlinkSync, readSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { isRoot, runCli, sha256File, writeRandomFile } from './helpers.js';

const { dir, cleanup } = tempDir('dw-integrity-special-');
const loops: string[] = [];
after(() => {
  for (const l of loops) run('losetup', ['-d', l]);
  cleanup();
});
const spec = join(dir, 'disk.yaml');
const raw = join(dir, 'disk.img');
const MiB = 1 << 20;
const DISK = 24 * MiB;

before(async () => {
  writeRandomFile(join(dir, 'a.bin'), 'special-a', 3 * MiB);
  writeFileSync(spec, `name: special
seed: special
size: 24MiB
table: gpt
partitions:
  - { name: a, type: linux, offset: 2MiB, size: 3MiB, filesystem: image, image: ./a.bin }
  - { name: hole, type: linux, size: fill }
`);
  const r = await runCli(['build', spec, '-o', raw, '-q']);
  assert.equal(r.status, 0, r.stderr);
});

/** sha256 of the first `length` bytes of a file or device. */
function sha256Prefix(path: string, length: number): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(MiB);
    for (let off = 0; off < length;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - off), off);
      if (n === 0) throw new Error(`${path} ends at ${off}`);
      h.update(buf.subarray(0, n));
      off += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

test('-o a loop block device: exactly the raw image\'s bytes over old garbage (holes written as zeros), still a block device', { skip: isRoot ? false : 'needs root for losetup' }, async () => {
  const backing = join(dir, 'backing');
  // Old data everywhere: non-zero garbage, so a hole left unwritten would show.
  const fd = openSync(backing, 'w');
  const garbage = Buffer.alloc(MiB, 0xa5);
  for (let i = 0; i < 32; i++) writeSync(fd, garbage);
  closeSync(fd);
  const loop = runOk('losetup', ['-f', '--show', backing]).trim();
  loops.push(loop);
  // A node of our own for the device: were a regression to replace the node by a file, the
  // host's /dev/loopN would be safe.
  const st = statSync(loop);
  const dev = join(dir, 'loopdev');
  const major = Math.floor(st.rdev / 256) & 0xfff;
  const minor = (st.rdev & 0xff) | (Math.floor(st.rdev / 4096) & 0xfff00);
  runOk('mknod', [dev, 'b', String(major), String(minor)]);
  for (const args of [[], ['--compression', 'none', '--sha256']]) {
    const r = await runCli(['build', spec, '-o', dev, ...args]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(statSync(dev).isBlockDevice(), 'still a block device');
    assert.equal(sha256Prefix(dev, DISK), sha256File(raw), 'the device holds the raw image');
    // Past the image the device is untouched.
    const tail = Buffer.alloc(16);
    const dfd = openSync(dev, 'r');
    readSync(dfd, tail, 0, 16, DISK);
    closeSync(dfd);
    assert.ok(tail.equals(Buffer.alloc(16, 0xa5)));
  }
});

test('-o a FIFO: the reader gets the stream (raw, and zstd), the FIFO stays a FIFO', async () => {
  const fifo = join(dir, 'fifo');
  runOk('mkfifo', [fifo]);
  for (const [args, decode] of [[[], ['cat']], [['--compression', 'zstd'], ['zstd', '-q', '-d', '-c']]] as const) {
    // The reader: one process reading the FIFO, hashed here.
    const reader = spawn(decode[0], [...decode.slice(1), fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    const h = createHash('sha256');
    reader.stdout.on('data', (d: Buffer) => h.update(d));
    const readerDone = new Promise((r) => reader.on('close', r));
    const r = await runCli(['build', spec, '-o', fifo, ...args]);
    // (Were the FIFO replaced by a file, the reader would wait forever.)
    const timer = setTimeout(() => reader.kill('SIGKILL'), 15_000);
    await readerDone;
    clearTimeout(timer);
    const out = h.digest('hex');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(out, sha256File(raw), `${args.join(' ')}: the stream is the image`);
    assert.ok(lstatSync(fifo).isFIFO(), 'still a FIFO');
  }
});

test('-o a symlink: its target is replaced (the link stays); a dangling link gets its target created', async () => {
  const target = join(dir, 'target.img');
  writeFileSync(target, 'old contents');
  const link = join(dir, 'link.img');
  symlinkSync('target.img', link);
  const r = await runCli(['build', spec, '-o', link, '-q']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
  assert.equal(readlinkSync(link), 'target.img');
  assert.ok(lstatSync(target).isFile());
  assert.equal(sha256File(target), sha256File(raw));

  const dangling = join(dir, 'dangling.img');
  symlinkSync(join(dir, 'created.img'), dangling);
  const r2 = await runCli(['build', spec, '-o', dangling, '-q', '--compression', 'gzip']);
  assert.equal(r2.status, 0, r2.stderr);
  assert.ok(lstatSync(dangling).isSymbolicLink());
  assert.equal(run('sh', ['-c', `gzip -d -c < "${join(dir, 'created.img')}" | sha256sum`]).stdout.split(' ')[0], sha256File(raw));
});

test('-o /dev/null (and a symlink to it) leaves /dev/null a character device', async () => {
  // As root, a node of our own for /dev/null (1:3): a regression would replace it, not the host's.
  // Without root the host's /dev/null cannot be replaced anyway.
  let devnull = '/dev/null';
  if (isRoot) {
    devnull = join(dir, 'null');
    runOk('mknod', ['-m', '666', devnull, 'c', '1', '3']);
  }
  const before = statSync(devnull);
  assert.ok(before.isCharacterDevice());
  const link = join(dir, 'null-link');
  symlinkSync(devnull, link);
  for (const out of [devnull, link]) {
    for (const args of [[], ['--compression', 'zstd']]) {
      const r = await runCli(['build', spec, '-o', out, '-q', '--sha256', ...args]);
      assert.equal(r.status, 0, r.stderr);
      const after = statSync(devnull);
      assert.ok(after.isCharacterDevice(), `${devnull} is still a character device after -o ${out} ${args.join(' ')}`);
      assert.equal(after.rdev, before.rdev);
      // The stream written is the image: the same sha256 as the raw build.
      if (args.length === 0) assert.equal(r.stdout.split(' ')[0], sha256File(raw));
    }
  }
  assert.ok(lstatSync(link).isSymbolicLink());
});
