/**
 * The filesystem readers and `ls`, `cat`, `extract` (issue 11), against the reference tools: ext4
 * written by diskwright and by `mke2fs -d` (and ext2's block maps, by `mke2fs -t ext2 -b 1024`),
 * FAT written by diskwright and by `mkfs.fat` + `mcopy`, inside containers. `extract` (to a
 * directory and to a tar unpacked by GNU tar) equals the source tree, metadata included, and what
 * `debugfs rdump` / `mcopy -s` extract; `ls --json` agrees with `debugfs ls -l` and `mdir`.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildTree } from '../../src/tree/build.js';
import type { Tree } from '../../src/tree/model.js';
import { compareTreeToDir } from '../helpers/compare-tree.js';
import { IS_ROOT } from '../helpers/root.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { runBounded, transpileCli, type BoundedRun } from './fast-cli.js';
import { build, qemuConvert } from './fixtures.js';
import { ext4Tree, fatTree } from './trees.js';

const { dir, cleanup } = tempDir('dw-readfiles-');
after(cleanup);
let main = '';
let ext4Src = '', fatSrc = '';
const img: Record<string, string> = {};

async function dw(args: string[]): Promise<BoundedRun> {
  const r = await runBounded(main, args, { timeoutMs: 120_000, heapMiB: 512, env: { TZ: 'UTC' } }, dir);
  assert.equal(r.status, 0, `diskwright ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r;
}

const treeOf = (src: string, owners: 'host' | 'root'): Tree => buildTree([{ source: src, target: '/', owners }], { baseDir: '/', epoch: undefined, specPath: 'contents' });

before(async () => {
  main = await transpileCli(join(dir, 'cli'));
  ext4Src = ext4Tree(dir);
  fatSrc = fatTree(dir);
  // diskwright: a GPT disk (FAT ESP, ext4 root with host owners), as a qcow2.
  img.ours = join(dir, 'ours.qcow2');
  await build({
    name: 'files', seed: 'files', table: 'gpt', partitions: [
      { name: 'ESP', type: 'esp', size: '8MiB', filesystem: 'vfat', label: 'ESP', contents: [{ source: fatSrc, target: '/' }] },
      { name: 'root', type: 'linux', filesystem: 'ext4', label: 'root', extraSpace: '4MiB', contents: [{ source: ext4Src, target: '/', owners: 'host' }] },
    ],
  }, img.ours, 'qcow2');
  // mke2fs -d: ext4 as a streamOptimized VMDK (qemu-img), ext2 with 1 KiB blocks (block maps, indirect blocks) raw.
  const mkfsExt4 = join(dir, 'mke2fs.ext4');
  runOk('mke2fs', ['-q', '-F', '-t', 'ext4', '-I', '256', '-d', ext4Src, mkfsExt4, '64M']);
  img.mke2fs = join(dir, 'mke2fs.vmdk');
  qemuConvert(mkfsExt4, img.mke2fs, ['-O', 'vmdk', '-o', 'subformat=streamOptimized']);
  img.ext2 = join(dir, 'mke2fs.ext2');
  runOk('mke2fs', ['-q', '-F', '-t', 'ext2', '-b', '1024', '-I', '128', '-d', ext4Src, img.ext2, '64M']);
  // mkfs.fat + mcopy: FAT32, raw.
  img.mkfsfat = join(dir, 'mkfs.fat');
  runOk('mkfs.fat', ['-C', '-F', '32', '-i', '1234abcd', img.mkfsfat, String(40 * 1024)]);
  runOk('sh', ['-c', `cd '${fatSrc}' && MTOOLS_SKIP_CHECK=1 mcopy -s -m -i '${img.mkfsfat}' * ::/`]);
});

/** ext4 extraction options for compare-tree: nanoseconds kept to the microsecond by utimes; lost+found is the filesystem's own. */
const EXT4_COMPARE = { ignore: ['/lost+found'], rootMetadata: false, devices: IS_ROOT, owners: IS_ROOT } as const;

for (const which of ['ours', 'mke2fs', 'ext2'] as const) {
  test(`ext4 (${which}): extract to a directory and to a tar equal the source tree, metadata included`, async () => {
    const part = which === 'ours' ? '2:' : '';
    const tree = treeOf(ext4Src, 'host');
    const out = join(dir, `x-${which}`);
    await dw(['extract', img[which]!, `${part}/`, '-o', out, '-q']);
    // mke2fs -d copies seconds only (and ext2's 128-byte inodes hold no more); utimes keeps microseconds.
    const ns = which === 'ours' ? 1000 : 1e9;
    assert.deepEqual(compareTreeToDir(tree, out, { ...EXT4_COMPARE, timeGranularityNs: ns }), [], `${which}: directory`);
    // The tar keeps everything without root, nanoseconds included; GNU tar unpacks it.
    const tar = join(dir, `x-${which}.tar`);
    await dw(['extract', img[which]!, `${part}/`, '-o', tar, '-q']);
    const untar = join(dir, `t-${which}`);
    mkdirSync(untar);
    runOk('tar', ['-x', '-p', '--xattrs', '--xattrs-include=*', '--numeric-owner', '-f', tar, '-C', untar]);
    assert.deepEqual(compareTreeToDir(tree, untar, { ...EXT4_COMPARE, timeGranularityNs: which === 'ours' ? 1 : 1e9 }), [], `${which}: tar`);
    // The sparse file is stored sparse: the archive is far smaller than its 24 MiB.
    assert.ok(lstatSync(tar).size < 4 << 20, `${which}: tar of ${lstatSync(tar).size} bytes`);
  });
}

for (const which of ['mke2fs', 'ours'] as const) test(`ext4 (${which}): extract equals debugfs rdump, and ls --json agrees with debugfs ls -l`, async () => {
  // debugfs reads the filesystem itself: mke2fs's raw file, or partition 2 of our qcow2 cut out of its raw conversion.
  const part = which === 'ours' ? '2:' : '';
  let raw = join(dir, 'mke2fs.ext4');
  if (which === 'ours') {
    const disk = join(dir, 'ours-disk.raw');
    runOk('qemu-img', ['convert', '-O', 'raw', img.ours!, disk]);
    const p = (JSON.parse((await dw(['inspect', disk, '--json'])).stdout) as { partitions: { offset: number; size: number }[] }).partitions[1]!;
    raw = join(dir, 'ours-root.ext4');
    writeFileSync(raw, readFileSync(disk).subarray(p.offset, p.offset + p.size));
  }
  const ref = join(dir, `rdump-${which}`);
  mkdirSync(ref);
  runOk('debugfs', ['-R', `rdump / ${ref}`, raw]);
  const ours = join(dir, `x-rdump-${which}`);
  await dw(['extract', img[which]!, `${part}/`, '-o', ours, '-q']);
  // Every path rdump wrote (regular files, directories, symlinks) is in our extraction, alike.
  const walkRef = (rel: string): void => {
    for (const name of readdirSync(join(ref, rel), { encoding: 'buffer' })) {
      const r = join(rel, name.toString('latin1'));
      const a = lstatSync(Buffer.from(join(ref, r), 'latin1')), b = lstatSync(Buffer.from(join(ours, r), 'latin1'));
      // rdump keeps no setuid, setgid or sticky bit (its chown after chmod clears them); the source-tree comparison checks those.
      assert.equal(a.mode & ~0o7000, b.mode & ~0o7000, `${r}: mode`);
      assert.equal(a.uid, b.uid, `${r}: uid`);
      assert.equal(a.gid, b.gid, `${r}: gid`);
      // (rdump leaves a symlink's own time at the time it made it.)
      if (!a.isSymbolicLink()) assert.equal(Math.floor(a.mtimeMs / 1000), Math.floor(b.mtimeMs / 1000), `${r}: mtime`);
      if (a.isFile()) assert.ok(readFileSync(Buffer.from(join(ref, r), 'latin1')).equals(readFileSync(Buffer.from(join(ours, r), 'latin1'))), `${r}: content`);
      if (a.isSymbolicLink()) assert.equal(readlinkSync(Buffer.from(join(ref, r), 'latin1')).toString(), readlinkSync(Buffer.from(join(ours, r), 'latin1')).toString(), `${r}: target`);
      if (a.isDirectory()) walkRef(r);
    }
  };
  walkRef('.');
  for (const d of ['/', '/usr/bin', '/srv/big', '/dev', '/home/alice']) {
    const listed = JSON.parse((await dw(['ls', img[which]!, `${part}${d}`, '--json'])).stdout) as { name: string; nameHex?: string; type: string; mode: string; uid: number; gid: number; size: number; rdev?: { major: number; minor: number } }[];
    const TYPE: Record<string, number> = { file: 0o100000, dir: 0o40000, symlink: 0o120000, char: 0o20000, block: 0o60000, fifo: 0o10000 };
    // debugfs ls -l: inode, mode (octal, with the type), (links), uid, gid, size (or major, minor), date, time, name.
    const ref2 = runOk('debugfs', ['-R', `ls -l ${d}`, raw]).split('\n').map((l) => /^\s*(\d+)\s+(\d+)\s+\(\d+\)\s+(\d+)\s+(\d+)\s+(\d+(?:,\s*\d+)?)\s+\S+\s+\S+\s(.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null && m[6] !== '.' && m[6] !== '..' && m[1] !== '0');
    assert.equal(listed.length, ref2.length, `${d}: entries`);
    const byName = new Map(listed.map((e) => [e.nameHex ? Buffer.from(e.nameHex, 'hex').toString('latin1') : Buffer.from(e.name).toString('latin1'), e]));
    for (const m of ref2) {
      const name = Buffer.from(m[6]!, 'utf8').toString('latin1').replace(/^"|"$/g, '');
      const e = byName.get(name) ?? [...byName.values()].find((x) => x.name.replace(/\uFFFD/g, '') === m[6]!.replace(/[^\x20-\x7e]/g, ''));
      assert.ok(e, `${d}: ${m[6]} listed`);
      assert.equal(TYPE[e.type]! + parseInt(e.mode, 8), parseInt(m[2]!, 8), `${d}/${m[6]}: mode`);
      assert.equal(e.uid, Number(m[3]), `${d}/${m[6]}: uid`);
      assert.equal(e.gid, Number(m[4]), `${d}/${m[6]}: gid`);
      assert.equal(String(e.size), m[5], `${d}/${m[6]}: size`);
      if (e.rdev) {
        const dev = /major\/minor number: *(\d+):(\d+)/.exec(runOk('debugfs', ['-R', `stat ${d}/${m[6]}`, raw]));
        assert.deepEqual(e.rdev, { major: Number(dev?.[1]), minor: Number(dev?.[2]) }, `${d}/${m[6]}: device`);
      }
    }
  }
});

for (const which of ['ours', 'mkfsfat'] as const) {
  test(`FAT (${which}): extract equals the source tree and mcopy -s; ls -R agrees with mdir`, async () => {
    const part = which === 'ours' ? '1:' : '';
    const out = join(dir, `f-${which}`);
    await dw(['extract', img[which]!, `${part}/`, '-o', out, '-q']);
    const FAT = { modes: false, owners: false, hardlinks: false, xattrs: false, devices: false, rootMetadata: false, timeGranularityNs: 2e9 } as const;
    assert.deepEqual(compareTreeToDir(treeOf(fatSrc, 'root'), out, FAT), [], `${which}: against the source`);
    // mcopy -s of the same image (through a raw copy of the partition for ours) gives the same tree.
    const raw = which === 'ours' ? join(dir, 'ours.raw') : img.mkfsfat!;
    if (which === 'ours') runOk('qemu-img', ['convert', '-O', 'raw', img.ours!, raw]);
    const at = which === 'ours' ? `@@${1 << 20}` : '';
    const ref = join(dir, `m-${which}`);
    mkdirSync(ref);
    runOk('sh', ['-c', `MTOOLS_SKIP_CHECK=1 TZ=UTC mcopy -s -m -n -i '${raw}${at}' ::/ '${ref}'`]);
    // Names, types, sizes, contents and file times (mcopy -m sets them; directories it leaves at now).
    const list = (root: string): string => runOk('sh', ['-c', `cd '${root}' && find . -mindepth 1 -printf '%P|%y|%s|' -exec sh -c 'if [ -f "$1" ]; then printf "%s|%s" "$(sha256sum < "$1" | cut -c1-16)" "$(stat -c %Y "$1")"; fi; echo' _ {} \\; | sort`]);
    assert.equal(list(out), list(ref), `${which}: against mcopy -s`);
    const names = JSON.parse((await dw(['ls', img[which]!, `${part}/`, '-R', '--json'])).stdout) as { name: string }[];
    const mdir = runOk('sh', ['-c', `MTOOLS_SKIP_CHECK=1 mdir -/ -b -i '${raw}${at}' ::/`]).trim().split('\n').map((l) => l.replace(/^::\//, '').replace(/\/$/, '')).sort();
    assert.deepEqual(names.map((n) => n.name).sort(), mdir);
  });
}

test('cat: file bytes through symlinks, holes as zeros; errors for directories and missing paths', async () => {
  const sparse = await runBounded(main, ['cat', img.ours!, '2:/srv/sparse.img'], { timeoutMs: 60_000, heapMiB: 256 }, dir);
  assert.equal(sparse.status, 0, sparse.stderr);
  const want = readFileSync(join(ext4Src, 'srv/sparse.img'));
  const viaFile = join(dir, 'cat.out');
  runOk('sh', ['-c', `node --max-old-space-size=256 '${main}' cat '${img.mke2fs}' /usr/bin/short-link > '${viaFile}'`]);
  assert.ok(readFileSync(viaFile).equals(readFileSync(join(ext4Src, 'usr/bin/tool'))), 'cat follows a symlink');
  runOk('sh', ['-c', `node '${main}' cat '${img.ours}' 2:/srv/sparse.img > '${viaFile}'`]);
  assert.ok(readFileSync(viaFile).equals(want), 'sparse file with its holes');
  const d = await runBounded(main, ['cat', img.ours!, '2:/etc'], { timeoutMs: 60_000, heapMiB: 256 }, dir);
  assert.equal(d.status, 1);
  assert.match(d.stderr, /^diskwright: error E_NOT_A_FILE: .*: \/etc is a directory/);
  const m = await runBounded(main, ['cat', img.ours!, '2:/etc/missing'], { timeoutMs: 60_000, heapMiB: 256 }, dir);
  assert.equal(m.status, 1);
  assert.match(m.stderr, /^diskwright: error E_NOT_FOUND: .*partition 2 \(root\) has no \/etc\/missing/);
  // Without PART: the one partition holding the path.
  runOk('sh', ['-c', `node '${main}' cat '${img.ours}' /loader/loader.conf > '${viaFile}'`]);
  assert.equal(readFileSync(viaFile, 'utf8'), 'timeout 3\n');
});
