/**
 * Golden bytes of the MBR and GPT structures at the offsets of UEFI 2.10 (§5.2.1 Table 5.1/5.2,
 * §5.3.2 Table 5.5, §5.3.3 Table 5.6), written by the writers' encoders and read back through the
 * same struct declarations `inspect` decodes with.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEntries, encodeHeader, GPT_NAME_UNITS, GptEntry, GptHeader, type GptGeometry } from '../../src/table/gpt.js';
import { chs, encodeMbr, Mbr, MBR_PARTITION_OFFSET, MBR_PRIMARY_ENTRIES, MbrPartitionRecord } from '../../src/table/mbr.js';
import { crc32 } from '../../src/util/crc32.js';
import { bigIntOf } from '../../src/util/struct.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const le = (n: bigint | number, bytes: number): string => {
  const b = Buffer.alloc(bytes);
  if (bytes === 8) b.writeBigUInt64LE(BigInt(n)); else if (bytes === 4) b.writeUInt32LE(Number(n)); else b.writeUInt16LE(Number(n));
  return b.toString('hex');
};

test('MBR and GPT structures have their specification\'s sizes, and the limits derive from them', () => {
  assert.equal(Mbr.size, 512);
  assert.equal(MbrPartitionRecord.size, 16);
  assert.equal(GptHeader.size, 92);
  assert.equal(GptEntry.size, 128);
  assert.equal(MBR_PARTITION_OFFSET, 0x1be);
  assert.equal(MBR_PRIMARY_ENTRIES, 4);
  assert.equal(GPT_NAME_UNITS, 36);
});

test('MBR golden bytes: disk signature at 0x1B8, records at 0x1BE, 0x55AA at 0x1FE', () => {
  const code = new Uint8Array(440).fill(0x90);
  const mbr = encodeMbr([
    { bootable: true, type: 0x0c, start: 2048, size: 4096 },
    { bootable: false, type: 0x83, start: 6144, size: 0xffffffff - 6144 },
  ], 0x12345678, code);
  assert.equal(mbr.length, 512);
  assert.equal(hex(mbr.subarray(0, 440)), '90'.repeat(440));
  assert.equal(hex(mbr.subarray(0x1b8, 0x1be)), '785634120000');
  // Record 1: active, CHS of LBA 2048 (0/32/33) and 6143 (0/97/33), type 0x0C, LBA 2048, 4096 sectors.
  assert.equal(hex(mbr.subarray(0x1be, 0x1ce)), '80' + '202100' + '0c' + hex(chs(6143)) + le(2048, 4) + le(4096, 4));
  assert.equal(hex(chs(2048)), '202100');
  assert.equal(hex(chs(6143)), '612100');
  // Record 2: past CHS range, so FE FF FF at the end.
  assert.equal(hex(mbr.subarray(0x1ce, 0x1de)), '00' + hex(chs(6144)) + '83' + 'feffff' + le(6144, 4) + le(0xffffffff - 6144, 4));
  assert.equal(hex(mbr.subarray(0x1de, 0x1fe)), '00'.repeat(32), 'records 3 and 4 unused');
  assert.equal(hex(mbr.subarray(0x1fe)), '55aa');
  // Read back with the declarations inspect uses.
  const d = Mbr.decode(mbr);
  assert.equal(d.UniqueMBRDiskSignature, 0x12345678);
  assert.equal(d.Signature, 0xaa55);
  const r1 = MbrPartitionRecord.decode(mbr, MBR_PARTITION_OFFSET);
  assert.deepEqual([r1.BootIndicator, r1.OSType, r1.StartingLBA, r1.SizeInLBA], [0x80, 0x0c, 2048, 4096]);
});

test('GPT header and entry golden bytes, and their CRCs', () => {
  const geo: GptGeometry = { sectorSize: 512, totalSectors: 8192, entryCount: 128, primaryEntriesLba: 2, firstUsableLba: 34, lastUsableLba: 8158, backupEntriesLba: 8159 };
  const entries = encodeEntries([{
    typeGuid: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', uuid: '01234567-89ab-cdef-0123-456789abcdef',
    firstLba: 2048, lastLba: 4095, attributes: (1n << 60n) | (1n << 2n), name: 'EFI system',
  }], 128);
  assert.equal(entries.length, 128 * 128);
  const e = entries.subarray(0, 128);
  // Type GUID in mixed endianness (UEFI 2.10 Appendix A): the first three fields little-endian.
  assert.equal(hex(e.subarray(0x00, 0x10)), '28732ac11ff8d211ba4b00a0c93ec93b');
  assert.equal(hex(e.subarray(0x10, 0x20)), '67452301ab89efcd0123456789abcdef');
  assert.equal(hex(e.subarray(0x20, 0x28)), le(2048, 8));
  assert.equal(hex(e.subarray(0x28, 0x30)), le(4095, 8));
  assert.equal(hex(e.subarray(0x30, 0x38)), '0400000000000010', 'bits 2 and 60');
  assert.equal(hex(e.subarray(0x38, 0x38 + 20)), Buffer.from('EFI system', 'utf16le').toString('hex'));
  assert.equal(hex(e.subarray(0x38 + 20, 0x80)), '00'.repeat(72 - 20));
  assert.equal(hex(entries.subarray(128)), '00'.repeat(127 * 128), 'unused entries are zero');
  // Decoded by the same declaration: Attributes (bit 60, above 2^53) comes back as a bigint.
  const d = GptEntry.decode(entries, 0);
  assert.equal(bigIntOf(d.Attributes), (1n << 60n) | 4n);
  assert.equal(typeof d.Attributes, 'bigint');
  assert.deepEqual([d.StartingLBA, d.EndingLBA], [2048, 4095]);

  const crc = crc32(entries);
  const primary = encodeHeader(geo, '97fd5997-f390-0b4a-a3f8-d106c1723aea', crc, false);
  const backup = encodeHeader(geo, '97fd5997-f390-0b4a-a3f8-d106c1723aea', crc, true);
  assert.equal(primary.length, 512);
  const h = primary;
  assert.equal(hex(h.subarray(0x00, 0x08)), hex(Buffer.from('EFI PART')));
  assert.equal(hex(h.subarray(0x08, 0x10)), '00000100' + '5c000000', 'revision 1.0, header size 92');
  assert.equal(hex(h.subarray(0x14, 0x18)), '00000000', 'reserved');
  assert.equal(hex(h.subarray(0x18, 0x38)), le(1, 8) + le(8191, 8) + le(34, 8) + le(8158, 8));
  assert.equal(hex(h.subarray(0x38, 0x48)), '9759fd9790f34a0ba3f8d106c1723aea');
  assert.equal(hex(h.subarray(0x48, 0x5c)), le(2, 8) + le(128, 4) + le(128, 4) + le(crc, 4));
  assert.equal(hex(h.subarray(0x5c)), '00'.repeat(512 - 92), 'the rest of the sector is zero');
  const zeroed = Uint8Array.from(h.subarray(0, 92));
  zeroed.fill(0, 0x10, 0x14);
  assert.equal(hex(h.subarray(0x10, 0x14)), le(crc32(zeroed), 4), 'HeaderCRC32 over the header with the field zeroed');
  // The backup swaps MyLBA and AlternateLBA and points at the backup array.
  assert.equal(hex(backup.subarray(0x18, 0x28)), le(8191, 8) + le(1, 8));
  assert.equal(hex(backup.subarray(0x48, 0x50)), le(8159, 8));
  const bd = GptHeader.decode(backup);
  assert.deepEqual([bd.MyLBA, bd.AlternateLBA, bd.PartitionEntryLBA, bd.NumberOfPartitionEntries, bd.PartitionEntryArrayCRC32], [8191, 1, 8159, 128, crc]);
});
