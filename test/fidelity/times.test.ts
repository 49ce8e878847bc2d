/**
 * Issue 15.1 / docs/ARCHITECTURE.md §4 "inputs, not reads": what an image stores never depends on when or how
 * often its tree was read. The tree's access times are set to 2001 and to 2099; it is built, read
 * (every file cat'ed), built, read, built, then every access time is moved to now (touch -a) and it
 * is built again: ext4, FAT and a GPT disk (FAT ESP + ext4 root), in every container format, with
 * and without sourceDateEpoch, must keep one sha256 each. The CLI's quick forms too.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildImage } from '../../src/build.js';
import type { ImageSpec } from '../../src/spec/types.js';
import { cli } from '../helpers/disk.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { prng } from '../helpers/prng.js';
import { sh } from './fixtures.js';

const tmp = tempDir('dw-fid-times-');
after(() => tmp.cleanup());

const tree = join(tmp.dir, 'tree');
const out = join(tmp.dir, 'out');
mkdirSync(out);
const FORMATS = ['raw', 'qcow2', 'vhd', 'vhd-fixed', 'vdi', 'vmdk'] as const;
const EPOCH = 1_650_000_000;

function makeTree(): void {
  const rnd = prng(0x15_01);
  const files: [string, number][] = [
    ['a.txt', 1000], ['bin/tool', 50_000], ['deep/x/y/z.dat', 4097], ['empty', 0],
    ['esp/EFI/BOOT/BOOTX64.EFI', 20_000], ['esp/readme.txt', 300], ['esp/loader/entries/nixos.conf', 120],
  ];
  let i = 0;
  for (const [rel, size] of files) {
    const p = join(tree, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, rnd.bytes(size));
    utimesSync(p, 1_600_000_000, 1_600_000_000 + 1000 * i++);
  }
  symlinkSync('a.txt', join(tree, 'link'));
  // Directory mtimes last (creating files moved them); atimes: 2001 everywhere, 2099 on some.
  sh(`find . -depth -type d -exec touch -m -d @1600000500 {} +`, tree);
  sh(`find . -exec touch -h -a -d '2001-02-03 04:05:06' {} +`, tree);
  sh(`touch -h -a -d '2099-06-07 08:09:10' a.txt bin/tool esp/EFI/BOOT/BOOTX64.EFI link deep/x`, tree);
}
makeTree();

function specs(epoch: number | undefined): Record<string, ImageSpec> {
  const base = { seed: 'fidelity-times', ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}) };
  return {
    ext4: { ...base, name: 'ext4', table: 'none', partitions: [{ name: 'root', filesystem: 'ext4', contents: [{ source: tree, target: '/' }] }] },
    fat: { ...base, name: 'fat', table: 'none', partitions: [{ name: 'esp', filesystem: 'vfat', contents: [{ source: join(tree, 'esp'), target: '/' }] }] },
    gpt: {
      ...base, name: 'gpt', table: 'gpt', partitions: [
        { name: 'ESP', type: 'esp', filesystem: 'vfat', contents: [{ source: join(tree, 'esp'), target: '/' }] },
        { name: 'root', type: 'linux', filesystem: 'ext4', contents: [{ source: tree, target: '/' }] },
      ],
    },
  };
}

/** Build every spec in every format; key -> sha256. */
async function buildAll(round: number): Promise<Map<string, string>> {
  const shas = new Map<string, string>();
  for (const epoch of [undefined, EPOCH]) {
    for (const [name, spec] of Object.entries(specs(epoch))) {
      for (const format of FORMATS) {
        const key = `${name}/${format}/epoch=${epoch ?? 'none'}`;
        // Same file name every round: VMDK's descriptor names its extent file.
        const dir = join(out, String(round));
        mkdirSync(dir, { recursive: true });
        const r = await buildImage(spec, { output: join(dir, `${name}-${format}-${epoch ?? 'none'}.img`), format, env: {} });
        assert.ok(r.sha256, key);
        shas.set(key, r.sha256);
      }
    }
  }
  return shas;
}

function cliShas(round: number): string[] {
  return [['ext4', tree], ['fat', join(tree, 'esp')]].flatMap(([kind, dir]) => ['', '--epoch=1650000000'].map((epochFlag) => {
    const img = join(out, `cli-${kind}-${epochFlag ? 'e' : 'n'}-${round}.img`);
    const r = cli([kind!, dir!, '-o', img, '-q', ...(epochFlag ? [epochFlag] : [])]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'no warnings');
    return runOk('sha256sum', [img]).split(' ')[0]!;
  }));
}

const readEverything = (): void => { sh('find . -type f -exec cat {} + > /dev/null && ls -lR > /dev/null', tree); };
const atimes = (): bigint[] => ['a.txt', 'empty', 'esp/readme.txt', 'deep', 'link'].map((p) => lstatSync(join(tree, p), { bigint: true }).atimeNs);

test('reading the tree and moving its access times never changes an image (ext4, FAT, GPT; every format; with and without epoch)', async () => {
  const before = atimes();
  const rounds: Map<string, string>[] = [];
  const cliRounds: string[][] = [];
  rounds.push(await buildAll(0)); cliRounds.push(cliShas(0));
  readEverything();
  rounds.push(await buildAll(1)); cliRounds.push(cliShas(1));
  readEverything();
  rounds.push(await buildAll(2)); cliRounds.push(cliShas(2));
  sh('find . -exec touch -h -a {} +', tree);
  const moved = atimes();
  // The fixture really moved: every sampled atime differs from the start (2001 or 2099 -> now).
  before.forEach((t, i) => assert.notEqual(moved[i], t, `atime ${i} did not move`));
  rounds.push(await buildAll(3)); cliRounds.push(cliShas(3));

  assert.equal(rounds[0]!.size, 3 * FORMATS.length * 2);
  const differ: string[] = [];
  for (const [key, sha] of rounds[0]!) {
    for (let r = 1; r < rounds.length; r++) if (rounds[r]!.get(key) !== sha) differ.push(`${key}: round ${r} differs from round 0`);
  }
  assert.deepEqual(differ, []);
  for (let r = 1; r < cliRounds.length; r++) assert.deepEqual(cliRounds[r], cliRounds[0], `CLI round ${r}`);
  // With and without the epoch the images differ (the epoch is an input): the matrix is not vacuous.
  assert.notEqual(rounds[0]!.get('ext4/raw/epoch=none'), rounds[0]!.get(`ext4/raw/epoch=${EPOCH}`));
});

test('ext4 inodes carry the mtime as atime, ctime and crtime (clamped to the epoch)', () => {
  const img = join(out, 'own.img');
  const r0 = cli(['ext4', tree, '-o', img, '-q', `--epoch=${EPOCH}`]);
  assert.equal(r0.status, 0, r0.stderr);
  const stat = runOk('debugfs', ['-R', 'stat /a.txt', img]);
  const field = (f: string): string => new RegExp(`^ *${f}: (0x[0-9a-f:]+)`, 'm').exec(stat)?.[1] ?? `no ${f} in ${stat}`;
  const mtime = field('mtime');
  assert.match(mtime, /^0x5f5e1000:/); // 1600000000, below the epoch
  for (const f of ['atime', 'ctime', 'crtime']) assert.equal(field(f), mtime, f);
  // A future mtime is clamped to the epoch everywhere.
  const dir = join(tmp.dir, 'future');
  mkdirSync(dir);
  writeFileSync(join(dir, 'f'), 'x');
  utimesSync(join(dir, 'f'), 1_000_000_000, 4_000_000_000);
  const img2 = join(out, 'future.img');
  const r = cli(['ext4', dir, '-o', img2, '-q', `--epoch=${EPOCH}`]);
  assert.equal(r.status, 0, r.stderr);
  const st2 = runOk('debugfs', ['-R', 'stat /f', img2]);
  for (const f of ['atime', 'ctime', 'mtime', 'crtime']) assert.match(st2, new RegExp(`^ *${f}: 0x${EPOCH.toString(16)}:00000000`, 'm'), f);
});
