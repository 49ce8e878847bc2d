/**
 * Linux reads our ISOs:
 * - the host kernel's loop mount (`mount -o loop,ro -t iso9660`), Rock Ridge compared with the
 *   tree and Joliet with `-o norock` — where the host kernel has iso9660 (container kernels often
 *   do not: then skipped with that reason);
 * - a Debian guest kernel under QEMU (the boot payload of test/boot): it mounts the ISO as its
 *   CD-ROM and prints a file reached through a Rock Ridge symlink and a directory relocated past
 *   ECMA-119's 8 levels, under a 200-byte name (NM in a continuation area), stored with zisofs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ensureIsoPayload } from '../boot/iso-payload.js';
import { compareTreeToDir } from '../helpers/compare-tree.js';
import { IS_ROOT } from '../helpers/root.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { buildIso, kernelHasIso9660, treeOf } from './iso-helpers.js';

const tmp = tempDir('dw-iso-kernel-');
after(() => tmp.cleanup());

const hasQemu = run('sh', ['-c', 'command -v qemu-system-x86_64']).status === 0;
const loopSkip = !IS_ROOT ? 'needs root (loop mount)' : !kernelHasIso9660() ? 'this kernel has no iso9660 driver (/proc/filesystems); the QEMU guest test reads the ISO with a real kernel instead' : false;

const DEEP = Array.from({ length: 10 }, (_, i) => `level${i + 1}`).join('/');
const LONG = `${'L'.repeat(200)}.txt`;
const MARKER = 'DISKWRIGHT-KERNEL-ISO-OK';

function source(): string {
  const src = join(tmp.dir, `src-${readdirSync(tmp.dir).length}`);
  mkdirSync(join(src, DEEP), { recursive: true });
  writeFileSync(join(src, DEEP, LONG), `${MARKER}\n${Array.from({ length: 5000 }, (_, i) => `padding line ${i}\n`).join('')}`);
  writeFileSync(join(src, 'plain.txt'), 'plain\n');
  symlinkSync('level1/level2', join(src, 'shortcut'));
  return src;
}

test('kernel: the host kernel mounts the ISO (Rock Ridge, then Joliet with norock)', { skip: loopSkip }, async () => {
  const src = source();
  const tree = treeOf(src);
  const img = join(tmp.dir, 'loop.iso');
  await buildIso(tree, img, { iso: { joliet: true, zisofs: true } });
  const mnt = join(tmp.dir, 'mnt');
  mkdirSync(mnt, { recursive: true });
  for (const opts of ['loop,ro', 'loop,ro,norock']) {
    runOk('mount', ['-o', opts, '-t', 'iso9660', img, mnt]);
    try {
      if (opts.endsWith('norock')) {
        // Joliet: files and directories, in place (no relocation), the long name cut to 64
        // characters keeping its extension; zisofs is a Rock Ridge feature, so only the plain file
        // reads as its text here.
        assert.equal(readFileSync(join(mnt, 'plain.txt'), 'utf8'), 'plain\n');
        assert.deepEqual(readdirSync(join(mnt, DEEP)), [`${'L'.repeat(60)}.txt`]);
        assert.deepEqual(readdirSync(mnt).sort(), ['level1', 'plain.txt']);
      } else {
        assert.deepEqual(compareTreeToDir(tree, mnt, { timeGranularityNs: 1e9, xattrs: false, hardlinks: false, rootMetadata: false }), []);
      }
    } finally {
      run('umount', [mnt]);
    }
  }
});

test('kernel: a Linux guest reads a zisofs file under a long name through a symlink and a relocated directory', { skip: hasQemu ? false : 'qemu-system-x86_64 is not installed', timeout: 240_000 }, async () => {
  const payload = ensureIsoPayload();
  const img = join(tmp.dir, 'guest.iso');
  const info = await buildIso(treeOf(source()), img, { iso: { joliet: true, zisofs: true } });
  assert.equal(info.details?.relocatedDirectories, 1);
  assert.equal(info.details?.zisofsFiles, 1);
  const file = `/shortcut/${DEEP.split('/').slice(2).join('/')}/${LONG}`;
  const r = spawnSync('qemu-system-x86_64', [
    '-machine', 'q35', '-accel', 'tcg', '-m', '512', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-kernel', join(payload, 'vmlinuz'), '-initrd', join(payload, 'initrd.img'),
    '-append', `console=ttyS0,115200 panic=-1 diskimage.token=iso-kernel diskimage.fstype=iso9660 diskimage.file=${file}`,
    '-drive', `file=${img},media=cdrom,readonly=on,format=raw`,
  ], { encoding: 'utf8', timeout: 180_000, maxBuffer: 64 << 20 });
  const log = r.stdout + r.stderr;
  assert.match(log, /DISKIMAGE-ROOT dev=\/dev\/sr0 fstype=iso9660/, log.slice(-4000));
  assert.match(log, new RegExp(`DISKIMAGE-FILE ${MARKER}`), log.slice(-4000));
  // The kernel's isofs and Rock Ridge code had nothing to complain about.
  assert.doesNotMatch(log, /rock: |ISOFS: |isofs: |zisofs: /i, log.slice(-4000));
});
