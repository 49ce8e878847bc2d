/**
 * `extract` never writes outside its target (issue 11): an image whose directory holds a symlink
 * to a directory outside (absolute) and, under the same name, a directory with a file; a name
 * holding "/"; an absolute symlink followed by `cat` (resolved inside the image, never on the
 * host). Damaged names are patched into a directory block of an image mke2fs made (without metadata_csum, so the names are what is damaged, not a checksum). And `cat` of a
 * file from a 20 GiB sparse qcow2 reads only what it needs: time, memory and bytes read stay those
 * of a 20 MiB image.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DirEntry } from '../../src/fs/ext4/dir.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { runBounded, transpileCli, type BoundedRun } from './fast-cli.js';
import { build, sourceTree } from './fixtures.js';

const { dir, cleanup } = tempDir('dw-readsafe-');
after(cleanup);
let main = '';
const outside = join(dir, 'outside');
const LIMITS = { timeoutMs: 60_000, heapMiB: 256 };
const dw = (args: string[], env?: NodeJS.ProcessEnv): Promise<BoundedRun> => runBounded(main, args, { ...LIMITS, ...(env ? { env } : {}) }, dir);

before(async () => {
  main = await transpileCli(join(dir, 'cli'));
  mkdirSync(outside);
});

/** An ext4 image of: p -> <outside> (absolute), q/z (a file), r/xyz; returns its bytes and the root directory's block. */
function hostileBase(): { bytes: Buffer; rootBlock: number; rDirBlock: number } {
  const src = join(dir, 'hostile-src');
  mkdirSync(join(src, 'q'), { recursive: true });
  mkdirSync(join(src, 'r'));
  symlinkSync(outside, join(src, 'p'));
  symlinkSync('l2', join(src, 'l1'));
  symlinkSync('l1', join(src, 'l2'));
  writeFileSync(join(src, 'q/z'), 'payload\n');
  writeFileSync(join(src, 'r/xyz'), 'name\n');
  const img = join(dir, 'hostile.ext4');
  runOk('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-O', '^metadata_csum', '-d', src, img, '8M']);
  const block = (path: string): number => Number(runOk('debugfs', ['-R', `blocks ${path}`, img]).trim().split(/\s+/)[0]);
  return { bytes: readFileSync(img), rootBlock: block('/'), rDirBlock: block('/r') };
}

/** Rename the one-character entry `from` to `to` in the directory block at `blockNr`. */
function rename(b: Buffer, blockNr: number, from: string, to: string): Buffer {
  const out = Buffer.from(b);
  const at = blockNr * 4096;
  for (let o = 0; o < 4096;) {
    const e = DirEntry.decode(out, at + o);
    const len = e.name_len as number;
    if (out.subarray(at + o + 8, at + o + 8 + len).toString('latin1') === from) {
      Buffer.from(to, 'latin1').copy(out, at + o + 8);
      return out;
    }
    o += e.rec_len as number;
    if ((e.rec_len as number) === 0) break;
  }
  throw new Error(`no entry ${from} in block ${blockNr}`);
}

test('extract: a symlink and a directory of one name, or a name with "/", fail cleanly and write nothing outside', async () => {
  const base = hostileBase();
  const cases: [string, Buffer, RegExp][] = [
    // "q" renamed "p": the symlink to the outside directory and the directory holding z share a name.
    ['duplicate', rename(base.bytes, base.rootBlock, 'q', 'p'), /E_IMAGE_CORRUPT: .*ext4 inode 2 at offset \d+: directory \/ holds two entries named "p"/],
    // "xyz" renamed "x/z": a name that is not one path component.
    ['slash', rename(base.bytes, base.rDirBlock, 'xyz', 'x/z'), /E_IMAGE_CORRUPT: .*ext4 directory block of inode \d+ at offset \d+: a name with "\/"/],
  ];
  for (const [name, bytes, re] of cases) {
    const img = join(dir, `${name}.img`);
    writeFileSync(img, bytes);
    for (const out of [join(dir, `${name}-out`), join(dir, `${name}-out.tar`)]) {
      const r = await dw(['extract', img, '/', '-o', out]);
      assert.equal(r.status, 1, `${name}: ${r.stderr}`);
      assert.match(r.stderr, re, name);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.equal(existsSync(out), false, `${name}: ${out} left behind`);
      assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(`.${name}-out`)), [], `${name}: temporary left behind`);
      assert.deepEqual(readdirSync(outside), [], `${name}: something was written outside the target`);
    }
  }
  // Undamaged: the absolute symlink is extracted as it is (data, not followed) and nothing lands outside.
  const img = join(dir, 'base.img');
  writeFileSync(img, base.bytes);
  const out = join(dir, 'base-out');
  const r = await dw(['extract', img, '/', '-o', out, '-q']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(join(out, 'q/z'), 'utf8'), 'payload\n');
  assert.equal(runOk('readlink', [join(out, 'p')]).trim(), outside);
  assert.deepEqual(readdirSync(outside), []);
  // cat through the absolute symlink resolves inside the image, where that path does not exist.
  writeFileSync(join(outside, 'secret'), 'host file\n');
  const c = await dw(['cat', img, '/p/secret']);
  assert.equal(c.status, 1);
  assert.match(c.stderr, /E_NOT_FOUND/);
  assert.doesNotMatch(c.stdout, /host file/);
  // ".." never climbs above the image's root; a symlink loop is one error, not a hang.
  const up = await dw(['cat', img, `/../../..${join(outside, 'secret')}`]);
  assert.equal(up.status, 1);
  assert.match(up.stderr, /E_NOT_FOUND/);
  const loop = await dw(['cat', img, '/l1']);
  assert.equal(loop.status, 1);
  assert.match(loop.stderr, /^diskwright: error E_IMAGE_LOOP: .*base\.img: ext4 inode \d+ at offset \d+: too many levels of symbolic links resolving \/l1\n$/);
});

/** Bytes the process read through read(2)/pread(2) (/proc/self/io rchar), reported at exit. */
const RCHAR_HOOK = `data:text/javascript,${encodeURIComponent('import { readFileSync } from "node:fs"; process.on("exit", () => process.stderr.write("RCHAR " + /rchar: (\\d+)/.exec(readFileSync("/proc/self/io", "utf8"))[1] + "\\n"));')}`;

test('cat of a file from a 20 GiB sparse qcow2 reads what a 20 MiB image needs: time, memory and bytes read flat', async () => {
  const tree = sourceTree(dir, 'sparse-20g');
  const want = readFileSync(join(tree, 'etc/os-release'));
  const runs: Record<string, { ms: number; rss: number; rchar: number }> = {};
  for (const [name, size] of [['small', '20MiB'], ['big', '20GiB']] as const) {
    const img = join(dir, `${name}.qcow2`);
    await build({ name, seed: 'sparse', table: 'gpt', partitions: [{ name: 'root', type: 'linux', size, filesystem: 'ext4', contents: [{ source: tree, target: '/' }] }] }, img, 'qcow2');
    const t = await runBounded(main, ['cat', img, '/etc/os-release'], { ...LIMITS, nodeArgs: ['--import', RCHAR_HOOK] }, dir);
    assert.equal(t.status, 0, t.stderr);
    assert.equal(t.stdout, want.toString());
    runs[name] = { ms: t.ms, rss: t.peakRss ?? 0, rchar: Number(/RCHAR (\d+)/.exec(t.stderr)?.[1]) };
  }
  console.log(`cat from qcow2: 20 MiB ${JSON.stringify(runs.small)}, 20 GiB ${JSON.stringify(runs.big)}`);
  assert.ok(runs.big!.rchar < runs.small!.rchar + (4 << 20), `bytes read: ${runs.big!.rchar} against ${runs.small!.rchar}`);
  assert.ok(runs.big!.rss < 200 << 20, `peak memory ${runs.big!.rss}`);
  assert.ok(runs.big!.ms < runs.small!.ms * 3 + 2000, `time ${runs.big!.ms} ms against ${runs.small!.ms} ms`);
});
