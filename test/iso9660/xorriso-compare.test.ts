/**
 * The same tree put through xorriso and through diskwright, compared field by field (not byte for
 * byte: the layouts differ): the volume descriptor as isoinfo -d and xorriso -pvd_info read it
 * (with SOURCE_DATE_EPOCH for xorriso), the Rock Ridge listing (modes, owners, sizes, dates, link
 * counts, symlink targets) and the Joliet names, against `xorriso -as mkisofs -R -J`; the plain
 * ECMA-119 names against xorriso's native mode (level 3 names, as ours).
 */
import assert from 'node:assert/strict';
import { chownSync, chmodSync, linkSync, lutimesSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { prng } from '../helpers/prng.js';
import { IS_ROOT } from '../helpers/root.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { buildIso, EPOCH, isoinfoD, isoinfoListing, lsdl, treeOf } from './iso-helpers.js';

const tmp = tempDir('dw-iso-xorriso-');
after(() => tmp.cleanup());
const rand = prng('iso-xorriso-compare');
const SRC = join(tmp.dir, 'src');

/** Every node's time is before the epoch, so neither side clamps anything. */
function makeTree(): void {
  const files: [string, Buffer | string, number][] = [
    ['README.md', '# readme\n', 0o644], ['bin/tool', rand.bytes(5000), 0o755], ['etc/secret', 'shh\n', 0o600],
    ['etc/os-release', 'ID=test\n', 0o644], ['usr/share/doc/a long name with spaces.txt', 'spaces\n', 0o644],
    ['usr/lib/libthing.so.1.2.3', rand.bytes(70000), 0o755], ['var/empty-file', '', 0o644], ['setuid', 'suid\n', 0o4755],
    ['data/big.bin', rand.bytes(300000), 0o640],
  ];
  for (const [p, data, mode] of files) {
    mkdirSync(join(SRC, p, '..'), { recursive: true });
    writeFileSync(join(SRC, p), data);
    chmodSync(join(SRC, p), mode);
  }
  linkSync(join(SRC, 'bin/tool'), join(SRC, 'bin/tool-hardlink'));
  symlinkSync('../usr/lib/libthing.so.1.2.3', join(SRC, 'bin/libthing.so'));
  symlinkSync('/etc/os-release', join(SRC, 'os-release'));
  mkdirSync(join(SRC, 'empty-dir'));
  chmodSync(join(SRC, 'etc'), 0o750);
  if (IS_ROOT) { chownSync(join(SRC, 'etc/secret'), 1000, 100); chownSync(join(SRC, 'data'), 33, 33); }
  let t = 1600000000;
  const touch = (p: string): void => { utimesSync(p, t, t); t += 86400 * 3; };
  for (const p of ['README.md', 'bin/tool', 'etc/secret', 'etc/os-release', 'usr/share/doc/a long name with spaces.txt', 'usr/lib/libthing.so.1.2.3', 'var/empty-file', 'setuid', 'data/big.bin']) touch(join(SRC, p));
  for (const l of ['bin/libthing.so', 'os-release']) { lutimesSync(join(SRC, l), t, t); t += 86400; }
  for (const d of ['bin', 'etc', 'usr/share/doc', 'usr/share', 'usr/lib', 'usr', 'var', 'data', 'empty-dir', '']) touch(join(SRC, d));
}

test('xorriso: the same tree, field by field', async () => {
  makeTree();
  const ids = ['-V', 'LABEL_1', '-publisher', 'PUBLISHER', '-p', 'PREPARER', '-A', 'APPLICATION', '-sysid', 'SYSTEM', '-volset', 'VOLSET'];
  const theirs = join(tmp.dir, 'xorriso.iso');
  runOk('env', [`SOURCE_DATE_EPOCH=${EPOCH}`, 'xorriso', '-as', 'mkisofs', '-R', '-J', ...ids, '-o', theirs, SRC]);
  const ours = join(tmp.dir, 'ours.iso');
  await buildIso(treeOf(SRC, { owners: 'host' }), ours, {
    label: 'LABEL_1', iso: { joliet: true, publisherId: 'PUBLISHER', preparerId: 'PREPARER', applicationId: 'APPLICATION', systemId: 'SYSTEM', volumeSetId: 'VOLSET' },
  });

  // isoinfo -d: every field but the size.
  const a = isoinfoD(ours), b = isoinfoD(theirs);
  a.delete('Volume size is'); b.delete('Volume size is');
  assert.deepEqual(a, b);
  // The volume times (xorriso with SOURCE_DATE_EPOCH: creation and modification are the epoch, expiration and effective unset).
  const pvd = (img: string): string[] => runOk('xorriso', ['-indev', img, '-pvd_info']).split('\n').filter((l) => /Time\s*:/.test(l));
  assert.deepEqual(pvd(ours), pvd(theirs));
  assert.ok(pvd(ours).some((l) => l.includes('2023111422132000')), pvd(ours).join('\n'));

  // Rock Ridge: modes, sizes, dates (isoinfo: day), symlink targets, link counts of non-directories (xorriso gives directories 1).
  const rr = (img: string): string[] => isoinfoListing(img, ['-R']).map((e) => [e.dir, e.name, e.mode, e.mode.startsWith('d') ? '' : e.nlink, e.mode.startsWith('d') ? '' : e.size, e.date, e.target ?? ''].join('|')).sort();
  assert.deepEqual(rr(ours), rr(theirs));
  // Owners, groups and exact mode bits (setuid) as xorriso itself lists them.
  const ls = (img: string): string[] => [...lsdl(img)].map(([p, l]) => `${p} ${l.split(' ').slice(0, 4).join(' ')}`).sort();
  assert.deepEqual(ls(ours), ls(theirs));
  // Hard links share one extent on both sides.
  for (const img of [ours, theirs]) {
    const bin = isoinfoListing(img, ['-R']).filter((e) => e.dir === '/bin/' && e.name.startsWith('tool'));
    assert.equal(bin.length, 2);
    assert.equal(bin[0]!.lba, bin[1]!.lba);
  }
  // Joliet names.
  const j = (img: string): string[] => isoinfoListing(img, ['-J']).map((e) => `${e.dir}${e.name}|${e.flags}|${e.size}`).sort();
  assert.deepEqual(j(ours), j(theirs));

  // Plain ECMA-119 names: as xorriso's native mode (ISO level 3 names of up to 31 characters).
  const native = join(tmp.dir, 'native.iso');
  runOk('xorriso', ['-outdev', native, '-map', SRC, '/']);
  const plain = (img: string): string[] => isoinfoListing(img).map((e) => `${e.dir}${e.name}`).sort();
  assert.deepEqual(plain(ours), plain(native));
});
