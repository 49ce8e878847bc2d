/**
 * Issue 15.2: host extended attributes reach ext4 images by default — every namespace (user.*,
 * trusted.*, security.selinux, security.capability from setcap, POSIX ACLs and default ACLs from
 * setfacl), on directories, files and symlinks, values from 1 byte to the largest one xattr block
 * holds — and the kernel's loop mount of the image (getfattr, getfacl, getcap) shows exactly what
 * the source has; debugfs ea_list lists them; e2fsck is clean. One byte more is a one-line error
 * naming the file; `xattrs: false` / --no-xattrs drops them; FAT ignores them; without the xattr
 * module the build goes on with one warning.
 *
 * The source tree lives on a loop-mounted ext4 scratch filesystem (ea_inode, so it can hold the
 * too-large value): /tmp may be tmpfs, which keeps only some namespaces.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildImage } from '../../src/build.js';
import { assertFsckClean } from '../ext4/ext4-helpers.js';
import { CLI, cli } from '../helpers/disk.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { prng } from '../helpers/prng.js';
import { aclBlocks, capLines, scratchExt4, sh, SKIP_UNLESS_ROOT, withRoMount, xattrLines } from './fixtures.js';

const skip = SKIP_UNLESS_ROOT;
const tmp = tempDir('dw-fid-xattr-');
const cleanups: (() => void)[] = [];
after(() => { for (const c of cleanups.reverse()) c(); tmp.cleanup(); });

const B = 4096;
const pad4 = (n: number): number => (n + 3) & ~3;
/**
 * The largest value one xattr named `user.<suffix>` can have: it cannot fit in the inode, so it
 * goes to the xattr block — 32-byte header, 16-byte entry + name (padded to 4), 4-byte end marker,
 * then the value (padded to 4) — ext4 docs §4.7.
 */
const maxValue = (suffix: string): number => Math.floor((B - 32 - 4 - pad4(16 + suffix.length)) / 4) * 4;
const MAX = maxValue('v');
const SELINUX_BIN = Buffer.from('system_u:object_r:bin_t:s0\0');
const SELINUX_ETC = Buffer.from('system_u:object_r:etc_t:s0\0');

function setx(path: string, name: string, value: Buffer, noDeref = false): void {
  runOk('setfattr', [...(noDeref ? ['-h'] : []), '-n', name, '-v', '0x' + value.toString('hex'), path]);
}

let src = '';
let big = '';
let latin = '';
function makeSource(): void {
  const scratch = scratchExt4(tmp.dir, 'scratch', 64, ['-O', 'ea_inode']);
  cleanups.push(scratch.umount);
  src = join(scratch.mnt, 'src');
  big = join(scratch.mnt, 'big');
  latin = join(scratch.mnt, 'latin');
  const rnd = prng(0x15_02);
  for (const d of ['bin', 'etc', 'shared', 'sizes', 'trusted-dir']) mkdirSync(join(src, d), { recursive: true });
  setx(src, 'user.root', Buffer.from('r'));
  // security.capability as setcap writes it (Debian's ping needs cap_net_raw).
  writeFileSync(join(src, 'bin/ping'), rnd.bytes(3000), { mode: 0o755 });
  runOk('setcap', ['cap_net_raw+ep', join(src, 'bin/ping')]);
  setx(join(src, 'bin/ping'), 'security.selinux', SELINUX_BIN);
  writeFileSync(join(src, 'etc/labeled'), 'x\n');
  setx(join(src, 'etc/labeled'), 'security.selinux', SELINUX_ETC);
  // ACLs: access ACL on a file; access + default ACL on a directory, inherited by a new file.
  writeFileSync(join(src, 'etc/acl-file'), 'acl\n');
  runOk('setfacl', ['-m', 'u:1000:rx', join(src, 'etc/acl-file')]);
  runOk('setfacl', ['-m', 'u:1000:rwx,g:100:rx', join(src, 'shared')]);
  runOk('setfacl', ['-d', '-m', 'u:1000:rx,g:100:r', join(src, 'shared')]);
  writeFileSync(join(src, 'shared/inherited'), 'inherits the default ACL\n');
  setx(join(src, 'trusted-dir'), 'trusted.overlay.opaque', Buffer.from('y'));
  setx(join(src, 'trusted-dir'), 'user.dir', rnd.bytes(40));
  // A symlink: Linux refuses user.* on symlinks; trusted.* and security.* are allowed.
  symlinkSync('bin/ping', join(src, 'lnk'));
  setx(join(src, 'lnk'), 'trusted.link', rnd.bytes(7), true);
  setx(join(src, 'lnk'), 'security.selinux', SELINUX_BIN, true);
  // One value per file, 1 byte to the largest a block holds.
  for (const n of [1, 2, 3, 4, 5, 67, 68, 69, 100, 255, 256, 1000, 1024, 2048, 4000, MAX - 1, MAX]) {
    const f = join(src, `sizes/v${n}`);
    writeFileSync(f, '');
    setx(f, 'user.v', rnd.bytes(n));
  }
  // In-inode and block both used: a small value in the inode, the largest one in the block.
  writeFileSync(join(src, 'sizes/both'), '');
  setx(join(src, 'sizes/both'), 'user.a', rnd.bytes(5));
  setx(join(src, 'sizes/both'), 'user.v', rnd.bytes(MAX));
  // Many attributes of several namespaces on one file.
  writeFileSync(join(src, 'sizes/many'), 'many\n');
  for (let i = 0; i < 20; i++) setx(join(src, 'sizes/many'), `${i % 2 ? 'trusted' : 'user'}.attr${String(i).padStart(2, '0')}`, rnd.bytes(1 + i * 7));
  // One byte more than a block holds (the scratch filesystem keeps it in an EA inode).
  mkdirSync(big);
  writeFileSync(join(big, 'too-big'), '');
  setx(join(big, 'too-big'), 'user.v', rnd.bytes(MAX + 1));
  // Names that are not UTF-8: a Latin-1 directory (reached through /proc/self/fd), a UTF-8 file
  // inside it (through its parent's descriptor), and a file whose own name is not UTF-8 (the
  // xattr module takes string paths: a warning).
  mkdirSync(latin);
  sh(`mkdir "$(printf 'd\\351j\\340')" && setfattr -n user.latin -v 0x01 "$(printf 'd\\351j\\340')"`, latin);
  sh(`echo x > "$(printf 'd\\351j\\340')/inner" && setfattr -n trusted.inner -v 0x02 "$(printf 'd\\351j\\340')/inner"`, latin);
  sh(`echo y > "$(printf '\\377\\376')" && setfattr -n user.lost -v 0x03 "$(printf '\\377\\376')"`, latin);
}

test('host xattrs of every namespace reach the ext4 image and the kernel reads them back', { skip }, async () => {
  makeSource();
  const img = join(tmp.dir, 'x.img');
  const report = await buildImage({ name: 'x', table: 'none', sourceDateEpoch: 1700000000, partitions: [{ name: 'root', filesystem: 'ext4', ext4: { blockSize: 4096 }, contents: [{ source: src, target: '/' }] }] }, { output: img, env: {} });
  assert.equal(report.warnings, undefined);
  assertFsckClean(img);

  const expectedX = xattrLines(src);
  // The fixture is what it claims: every namespace and both ACL kinds are in the source.
  for (const name of ['user.root', 'trusted.overlay.opaque', 'security.selinux', 'security.capability', 'system.posix_acl_access', 'system.posix_acl_default', 'trusted.link']) {
    assert.ok(expectedX.some((l) => l.includes(` ${name}=`)), `source has ${name}`);
  }
  assert.ok(expectedX.some((l) => l.startsWith('lnk security.selinux=')), 'symlink label');
  const expectedAcl = aclBlocks(src);
  const expectedCap = capLines(src);
  assert.deepEqual(expectedCap, ['./bin/ping cap_net_raw=ep']);

  withRoMount(img, join(tmp.dir, 'mnt'), 'ext4', (mnt) => {
    assert.deepEqual(xattrLines(mnt), expectedX);
    assert.deepEqual(aclBlocks(mnt), expectedAcl);
    assert.deepEqual(capLines(mnt), expectedCap);
  });

  const ea = (p: string): string => runOk('debugfs', ['-R', `ea_list ${p}`, img]);
  assert.match(ea('/bin/ping'), /security\.capability \(20\)/);
  assert.match(ea('/bin/ping'), /security\.selinux \(27\) = "system_u:object_r:bin_t:s0\\000"/);
  assert.match(ea('/shared'), /system\.posix_acl_access/);
  assert.match(ea('/shared'), /system\.posix_acl_default/);
  assert.match(ea('/lnk'), /trusted\.link \(7\)/);
  assert.match(ea(`/sizes/v${MAX}`), new RegExp(`user\\.v \\(${MAX}\\)`));
  assert.match(ea('/sizes/both'), new RegExp(`user\\.a \\(5\\)[^]*user\\.v \\(${MAX}\\)`));
  assert.match(ea('/'), /user\.root \(1\) = "r"/);
});

test('a value one byte larger than a block holds is a one-line error naming the file', { skip }, () => {
  const r = cli(['ext4', big, '-o', join(tmp.dir, 'big.img'), '--block-size', '4096']);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^diskwright: error E_XATTR: .*\/too-big.*more than one 4096-byte block/);
});

test('xattrs: false and --no-xattrs drop them; FAT ignores them silently', { skip }, async () => {
  const img = join(tmp.dir, 'nox.img');
  await buildImage({ name: 'nox', table: 'none', partitions: [{ name: 'root', filesystem: 'ext4', contents: [{ source: src, target: '/', xattrs: false }] }] }, { output: img, env: {} });
  assertFsckClean(img);
  const img2 = join(tmp.dir, 'nox2.img');
  const r = cli(['ext4', src, '-o', img2, '-q', '--no-xattrs']);
  assert.equal(r.status, 0, r.stderr);
  for (const i of [img, img2]) {
    withRoMount(i, join(tmp.dir, 'mnt'), 'ext4', (mnt) => {
      assert.deepEqual(xattrLines(mnt), []);
      assert.deepEqual(capLines(mnt), []);
    });
  }
  const fat = cli(['fat', join(src, 'sizes'), '-o', join(tmp.dir, 'x.fat'), '-q']);
  assert.equal(fat.status, 0, fat.stderr);
  assert.equal(fat.stderr, '');
});

test('without the xattr module the build goes on with one warning line', { skip }, () => {
  const r = spawnSync(process.execPath, [...CLI, 'ext4', src, '-o', join(tmp.dir, 'nomod.img')], { encoding: 'utf8', env: { ...process.env, DISKWRIGHT_XATTR_MODULE: 'diskwright-no-such-xattr-module' } });
  assert.equal(r.status, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('diskwright: warning:'));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0]!, /cannot load diskwright-no-such-xattr-module .*not copied/);
  withRoMount(join(tmp.dir, 'nomod.img'), join(tmp.dir, 'mnt'), 'ext4', (mnt) => assert.deepEqual(xattrLines(mnt), []));
});

test('names that are not UTF-8: directories and their children keep xattrs; an unreachable file is a warning', { skip }, async () => {
  const img = join(tmp.dir, 'latin.img');
  const warnings: string[] = [];
  const report = await buildImage({ name: 'latin', table: 'none', partitions: [{ name: 'root', filesystem: 'ext4', contents: [{ source: latin, target: '/' }] }] }, { output: img, env: {}, onWarning: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0]!, /xattrs of 1 file\(s\) whose names are not UTF-8 were not read/);
  assert.deepEqual(report.warnings, warnings);
  assertFsckClean(img);
  const expected = xattrLines(latin);
  assert.equal(expected.length, 3, expected.join('\n'));
  withRoMount(img, join(tmp.dir, 'mnt'), 'ext4', (mnt) => {
    assert.deepEqual(xattrLines(mnt), expected.filter((l) => !l.includes('user.lost')));
  });
});
