/**
 * ISO 9660 structures at the specification's offsets (ECMA-119, SUSP 1.12, RRIP 1.12, zisofs):
 * declared sizes, golden bytes of dates and entries, interchange and Joliet names, symlink
 * components, Continuation Areas.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareIsoIds, isoDirId, isoFileId, isoVariant, jolietUnits, jolietVariant, uniqueNames } from '../../src/fs/iso9660/names.js';
import { entriesNM, entriesSL, entryER, nmLengths, entryPN, entryPX, entryTF, entryZF, RripFlagged, RripLocation, RripPN, RripPX, SuspCE, SuspER, SuspSP, ZisofsZF } from '../../src/fs/iso9660/rrip.js';
import { DirectoryRecord, encodeRecordingDate, encodeVolumeDate, PathTableRecordL, PathTableRecordM, recordLength, VolumeDescriptor } from '../../src/fs/iso9660/structs.js';
import { CeAllocator, splitSystemUse } from '../../src/fs/iso9660/susp.js';
import { ZisofsHeader } from '../../src/fs/iso9660/zisofs.js';

test('struct sizes and offsets are the specifications\'', () => {
  assert.equal(VolumeDescriptor.size, 2048);
  assert.equal(VolumeDescriptor.offsetOf('directory_record_for_root_directory'), 156);
  assert.equal(VolumeDescriptor.offsetOf('volume_creation_date_and_time'), 813);
  assert.equal(VolumeDescriptor.offsetOf('file_structure_version'), 881);
  assert.equal(DirectoryRecord.size, 33);
  assert.equal(DirectoryRecord.offsetOf('file_flags'), 25);
  assert.equal(PathTableRecordL.size, 8);
  assert.equal(PathTableRecordM.size, 8);
  assert.deepEqual([SuspSP.size, SuspCE.size, SuspER.size, RripPX.size, RripPN.size, RripFlagged.size, RripLocation.size, ZisofsZF.size, ZisofsHeader.size], [7, 28, 8, 44, 20, 5, 12, 16, 16]);
});

test('dates: 9.1.5 seven bytes in UTC, 8.4.26.1 digits, "not specified" for 0', () => {
  const b = new Uint8Array(7);
  encodeRecordingDate(1700000000, b);
  assert.deepEqual([...b], [123, 11, 14, 22, 13, 20, 0]);
  encodeRecordingDate(-3000000000, b);
  assert.deepEqual([...b], [0, 1, 1, 0, 0, 0, 0], 'clamped to 1900');
  assert.equal(Buffer.from(encodeVolumeDate(1700000000)).toString('latin1'), '2023111422132000\0');
  assert.equal(Buffer.from(encodeVolumeDate(0)).toString('latin1'), '0000000000000000\0');
  assert.equal(recordLength(1, 0), 34);
  assert.equal(recordLength(10, 0), 44);
  assert.equal(recordLength(9, 5), 48);
});

test('Rock Ridge entries: golden bytes', () => {
  const px = entryPX({ mode: 0o100644, nlink: 2, uid: 1000, gid: 100, serial: 7 });
  assert.equal(Buffer.from(px.subarray(0, 12)).toString('hex'), '50582c01a4810000000081a4');
  assert.equal(Buffer.from(px.subarray(36, 44)).toString('hex'), '0700000000000007');
  // glibc dev_t: major 8 minor 1 is 0x801 in the low half; major 200 minor 70000 needs the high one.
  assert.equal(Buffer.from(entryPN(8, 1)).toString('hex'), '504e1401' + '0000000000000000' + '0108000000000801');
  // makedev(200, 70000) = 0x1110c870: minor's high bits above major's low ones.
  assert.equal(Buffer.from(entryPN(200, 70000)).toString('hex').slice(8), '0000000000000000' + '70c81011' + '1110c870');
  const tf = entryTF(1700000000, 1700000000, 1700000001, 1700000002);
  assert.equal(tf.length, 33);
  assert.deepEqual([...tf.subarray(0, 5)], [0x54, 0x46, 33, 1, 0x0f]);
  assert.deepEqual([...tf.subarray(19, 26)], [123, 11, 14, 22, 13, 21, 0]);
  const er = entryER();
  assert.equal(er.length, 182);
  assert.equal(Buffer.from(er.subarray(8, 17)).toString(), 'IEEE_1282');
  assert.equal(Buffer.from(entryZF(100000)).toString('hex'), '5a46100170' + '7a040f' + 'a0860100000186a0');
});

test('NM splits at 250 bytes of name per entry, all but the last marked CONTINUE', () => {
  const name = Buffer.alloc(300, 0x61);
  const nm = entriesNM(name);
  assert.deepEqual(nm.map((e) => [e[2], e[4]]), [[255, 1], [55, 0]]);
  assert.equal(Buffer.concat(nm.map((e) => e.subarray(5))).toString(), name.toString());
  for (const n of [0, 1, 250, 251, 500, 1000]) assert.deepEqual(nmLengths(n), entriesNM(Buffer.alloc(n, 0x61)).map((e) => e.length), `sizing a ${n}-byte name`);
});

/** The target Linux rebuilds from SL entries (fs/isofs/rock.c get_symlink_chunk). */
function linuxTarget(entries: Uint8Array[]): string {
  let out = '';
  for (const e of entries) {
    let at = 5;
    while (at + 1 < e[2]!) {
      const flags = e[at]!, len = e[at + 1]!;
      const root = (flags & ~1) === 8;
      out += root ? '/' : (flags & ~1) === 2 ? '.' : (flags & ~1) === 4 ? '..' : Buffer.from(e.subarray(at + 2, at + 2 + len)).toString('latin1');
      at += 2 + len;
      const last = at + 1 >= e[2]!;
      if (!root && !(flags & 1) && (!last || (e[4]! & 1))) out += '/';
    }
  }
  return out;
}

test('SL components: root, . and .., long components split, any length', () => {
  for (const target of ['a', '/', '/usr/bin/env', '../lib/x.so', './x', 'a//b', 'a/', '/' + 'c'.repeat(600) + '/d', Array.from({ length: 40 }, (_, i) => `dir${i}`.repeat(20)).join('/')]) {
    const sl = entriesSL(Buffer.from(target));
    for (const e of sl) assert.ok(e.length <= 255 && e[2] === e.length);
    assert.equal(linuxTarget(sl), target);
  }
  assert.deepEqual([...entriesSL(Buffer.from('/'))[0]!.subarray(5)], [8, 0, 0, 0]);
});

test('System Use fields: whole in the record, or fixed entries and a CE; areas never cross a block', () => {
  const px = entryPX({ mode: 0o644, nlink: 1, uid: 0, gid: 0, serial: 1 });
  const small = splitSystemUse([px], entriesNM(Buffer.from('short')), 200);
  assert.equal(small.areas.length, 0);
  const big = splitSystemUse([px], [...entriesNM(Buffer.alloc(255, 0x62)), ...entriesSL(Buffer.alloc(4000, 0x63))], 200);
  assert.deepEqual(big.record, [px]);
  assert.ok(big.areas.length >= 3);
  const ce = new CeAllocator();
  ce.alloc(2000);
  const places = ce.reserve(big);
  for (const p of places) assert.ok(p.offset + p.length <= 2048, JSON.stringify(p));
  assert.equal(places[0]!.block, 1, 'an area that does not fit the rest of a block starts the next');
});

test('ECMA-119 names as libisofs iso_2_fileid/iso_2_dirid; unique with numbers; 9.3 order', () => {
  assert.equal(isoFileId(Buffer.from('vmlinuz-6.1.0.tar.gz')), 'VMLINUZ_6_1_0_TAR.GZ');
  assert.equal(isoFileId(Buffer.from('noext')), 'NOEXT.');
  assert.equal(isoFileId(Buffer.from('.bashrc')), '.BASHRC');
  assert.equal(isoFileId(Buffer.from('A very long file name with spaces and more.tar.gz')), 'A_VERY_LONG_FILE_NAME_WITH_S.GZ');
  assert.equal(isoFileId(Buffer.from('x'.repeat(40) + '.document')), 'X'.repeat(27) + '.DOC');
  assert.equal(isoFileId(Buffer.from('ünï.txt')), '_N_.TXT');
  assert.equal(isoDirId(Buffer.from('long directory name here and more')), 'LONG_DIRECTORY_NAME_HERE_AND_MO');
  assert.deepEqual(uniqueNames(['A.TXT', 'A.TXT', 'A1.TXT', 'A.TXT'], isoVariant), ['A.TXT', 'A2.TXT', 'A1.TXT', 'A3.TXT']);
  assert.deepEqual(uniqueNames(['README.TXT', 'README.TXT'], isoVariant, [false, true]), ['README1.TXT', 'README.TXT']);
  const long = 'X'.repeat(27) + '.DOC';
  assert.deepEqual(uniqueNames([long, long], isoVariant), [long, 'X'.repeat(26) + '1.DOC']);
  assert.deepEqual(['B', 'A.TXT', 'A', 'A_B', 'A0'].sort(compareIsoIds), ['A', 'A.TXT', 'A0', 'A_B', 'B']);
});

test('Joliet names: UCS-2, 64 characters with the extension kept, forbidden characters replaced', () => {
  const s = (u: number[]): string => String.fromCharCode(...u);
  assert.equal(s(jolietUnits(Buffer.from('a:b*c?.txt'), false)), 'a_b_c_.txt');
  assert.equal(s(jolietUnits(Buffer.from('😀.txt'), false)), '_.txt');
  const long = s(jolietUnits(Buffer.from('L'.repeat(100) + '.tar.gz'), false));
  assert.equal(long, 'L'.repeat(61) + '.gz');
  assert.equal(s(jolietUnits(Buffer.from('D'.repeat(80)), true)), 'D'.repeat(64));
  const u = uniqueNames([jolietUnits(Buffer.from('L'.repeat(100) + '.gz'), false), jolietUnits(Buffer.from('L'.repeat(100) + '-2.gz'), false)], jolietVariant).map(s);
  assert.deepEqual(u, ['L'.repeat(61) + '.gz', 'L'.repeat(60) + '1.gz']);
});
