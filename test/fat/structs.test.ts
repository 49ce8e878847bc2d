import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BootSector16, BootSector32, DirEntry, FSInfo, LfnEntry, encodeBootSector } from '../../src/fs/fat/bootsector.js';
import { fatTime } from '../../src/fs/fat/dir.js';
import { chooseGeometry } from '../../src/fs/fat/geometry.js';
import { encodeLfnEntries, exactShortName, shortBasis, shortNameChecksum, ShortNameGenerator, fatLongName } from '../../src/fs/fat/names.js';

test('fat: struct sizes and field offsets follow fatgen103', () => {
  assert.equal(BootSector16.size, 512);
  assert.equal(BootSector32.size, 512);
  assert.equal(FSInfo.size, 512);
  assert.equal(DirEntry.size, 32);
  assert.equal(LfnEntry.size, 32);
  assert.equal(BootSector16.offsetOf('BS_VolID'), 0x27);
  assert.equal(BootSector32.offsetOf('BS_VolID'), 0x43);
  assert.equal(BootSector32.offsetOf('BPB_RootClus'), 0x2c);
  assert.equal(FSInfo.offsetOf('FSI_StrucSig'), 484);
  assert.equal(DirEntry.offsetOf('DIR_NTRes'), 12);
  assert.equal(LfnEntry.offsetOf('LDIR_Name3'), 28);
});

test('fat: boot sector golden bytes', () => {
  const b = encodeBootSector({
    fatType: 32, bytesPerSector: 512, sectorsPerCluster: 1, reservedSectors: 32, numFats: 2, rootEntries: 0,
    totalSectors: 524288, media: 0xf8, fatSectors: 4033, volumeId: 0x12345678, label: Buffer.from('ESP        '),
    rootCluster: 2, fsInfoSector: 1, backupBootSector: 6,
  });
  assert.deepEqual([...b.subarray(0, 3)], [0xeb, 0x58, 0x90]);
  assert.equal(Buffer.from(b.subarray(3, 11)).toString(), 'MSWIN4.1');
  assert.equal(b[0x0d], 1);
  assert.equal(b[0x15], 0xf8);
  assert.deepEqual([...b.subarray(0x43, 0x47)], [0x78, 0x56, 0x34, 0x12]);
  assert.equal(Buffer.from(b.subarray(0x52, 0x5a)).toString(), 'FAT32   ');
  assert.deepEqual([...b.subarray(510, 512)], [0x55, 0xaa]);
  // The jump lands on the boot code.
  assert.equal(b[2 + b[1]!], 0xcd);
});

test('fat: short names, checksums and long-name entries', () => {
  assert.deepEqual(exactShortName('README.TXT')?.ntRes, 0);
  assert.deepEqual(exactShortName('readme.txt')?.ntRes, 0x18);
  assert.deepEqual(exactShortName('README.txt')?.ntRes, 0x10);
  assert.deepEqual(exactShortName('vmlinuz')?.ntRes, 0x08);
  assert.equal(exactShortName('ReadMe.txt'), undefined);
  assert.equal(exactShortName('a.b.c'), undefined);
  assert.equal(exactShortName('.hidden'), undefined);
  assert.equal(exactShortName('toolongname.txt'), undefined);
  assert.equal(exactShortName('a+b.txt'), undefined);
  assert.deepEqual(shortBasis('My Document.Text'), { base: 'MYDOCUME', ext: 'TEX' });
  assert.deepEqual(shortBasis('.bashrc'), { base: 'BASHRC', ext: '' });
  assert.deepEqual(shortBasis('a+b[1].tar.gz'), { base: 'A_B_1_TA', ext: 'GZ' });
  const gen = new ShortNameGenerator(new Set(['LONGFI~1.TXT']));
  assert.equal(gen.generate('longfile one.txt').key, 'LONGFI~2.TXT');
  assert.equal(gen.generate('longfile two.txt').key, 'LONGFI~3.TXT');
  assert.equal(gen.generate('Deep').key, 'DEEP');
  assert.equal(gen.generate('DEEp').key, 'DEEP~1');
  // fatgen103 §7 checksum of "FILENAMEEXT" computed by hand with the spec's rotate-and-add.
  let sum = 0;
  for (const c of Buffer.from('FILENAMEEXT')) sum = ((sum & 1 ? 0x80 : 0) + (sum >> 1) + c) & 0xff;
  assert.equal(shortNameChecksum(Buffer.from('FILENAMEEXT')), sum);
  const buf = new Uint8Array(64);
  assert.equal(encodeLfnEntries('The quick brown.fox', 0xab, buf, 0), 64);
  assert.equal(buf[0], 0x42); // ordinal 2 | LAST_LONG_ENTRY first
  assert.equal(buf[32], 0x01);
  assert.equal(buf[11], 0x0f);
  assert.equal(buf[13], 0xab);
  // Entry 2 holds units 13..25: "wn.fox", then a NUL and 0xFFFF padding.
  assert.equal(Buffer.from(buf.subarray(1, 11)).toString('utf16le'), 'wn.fo');
  assert.deepEqual([...buf.subarray(14, 20)], [0x78, 0, 0, 0, 0xff, 0xff]);
  assert.equal(fatLongName(Buffer.from('name. .'), '/x', 'p'), 'name');
  // Outside the BMP: UTF-16 surrogate pairs, two units per character.
  const e = new Uint8Array(32);
  encodeLfnEntries('\u{1F389}', 0, e, 0);
  assert.deepEqual([...e.subarray(1, 7)], [0x3c, 0xd8, 0x89, 0xdf, 0, 0]);
});

test('fat: times are UTC, 2-second steps, clamped to 1980..2107', () => {
  assert.deepEqual(fatTime({ sec: 0, nsec: 0 }), { date: (0 << 9) | (1 << 5) | 1, time: 0, tenth: 0 });
  const t = fatTime({ sec: 1700000001, nsec: 500_000_000 }); // 2023-11-14 22:13:21.5 UTC
  assert.equal(t.date, (43 << 9) | (11 << 5) | 14);
  assert.equal(t.time, (22 << 11) | (13 << 5) | 10);
  assert.equal(t.tenth, 150);
  assert.equal(fatTime({ sec: 9e9, nsec: 0 }).date, (127 << 9) | (12 << 5) | 31);
});

test('fat: geometry as mkfs.fat chooses it', () => {
  const g = (mib: number, fatType?: 12 | 16 | 32) => chooseGeometry({ totalSectors: mib * 2048, bytesPerSector: 512, fatType, rootEntriesNeeded: 0 });
  // mkfs.fat 4.2: 8 MiB -> FAT12, 2 KiB clusters, 4081 clusters; 64 MiB -> FAT16 32695 clusters; 512 MiB -> FAT32 4 KiB.
  assert.deepEqual([g(8).fatType, g(8).clusterSize, g(8).clusters, g(8).reservedSectors, g(8).fatSectors], [12, 2048, 4081, 4, 12]);
  assert.deepEqual([g(64).fatType, g(64).clusterSize, g(64).clusters, g(64).fatSectors], [16, 2048, 32695, 128]);
  assert.deepEqual([g(512).fatType, g(512).clusterSize], [32, 4096]);
  assert.deepEqual([g(256, 32).fatType, g(256, 32).clusterSize, g(256, 32).reservedSectors], [32, 512, 32]);
  assert.ok(g(256, 32).clusters >= 65525);
});
