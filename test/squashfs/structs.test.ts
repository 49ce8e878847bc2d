/**
 * squashfs structures at the sizes of the kernel's squashfs_fs.h, golden bytes of the superblock
 * fields and of a directory listing (squashfs.rst), and the option block's checks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildListing } from '../../src/fs/squashfs/dir.js';
import {
  DevInode, DirEntry, DirHeader, DirIndex, DirInode, FragmentEntry, IpcInode, LDevInode, LDirInode, LIpcInode, LRegInode, RegInode, SuperBlock, SymlinkInode, XattrEntry, XattrId, XattrIdTable, XattrVal,
} from '../../src/fs/squashfs/format.js';
import { resolveSquashfsOptions } from '../../src/fs/squashfs/options.js';
import { DiskwrightError } from '../../src/errors.js';

test('struct sizes are squashfs_fs.h\'s', () => {
  const sizes: [{ name: string; size: number }, number][] = [
    [SuperBlock, 96], [IpcInode, 20], [LIpcInode, 24], [DevInode, 24], [LDevInode, 28], [SymlinkInode, 24], [RegInode, 32], [LRegInode, 56],
    [DirInode, 32], [LDirInode, 40], [DirIndex, 12], [DirHeader, 12], [DirEntry, 8], [FragmentEntry, 16], [XattrEntry, 4], [XattrVal, 4], [XattrId, 16], [XattrIdTable, 16],
  ];
  for (const [s, size] of sizes) assert.equal(s.size, size, s.name);
  assert.equal(SuperBlock.offsetOf('root_inode'), 32);
  assert.equal(SuperBlock.offsetOf('lookup_table_start'), 88);
  assert.equal(LRegInode.offsetOf('xattr'), 52);
  assert.equal(LDirInode.offsetOf('i_count'), 32);
});

test('a directory listing: one header per inode block, deltas from its base, an index point past 8 KiB', () => {
  const entries = [
    { name: Buffer.from('a'), block: 0, offset: 0x20, inodeNumber: 5, type: 2 },
    { name: Buffer.from('bb'), block: 0, offset: 0x40, inodeNumber: 3, type: 1 },
    { name: Buffer.from('c'), block: 0x1234, offset: 0x10, inodeNumber: 9, type: 3 },
  ];
  const l = buildListing(entries);
  assert.equal(Buffer.from(l.bytes).toString('hex'), [
    '01000000', '00000000', '05000000', // header: count 2 - 1, block 0, base inode 5
    '2000', '0000', '0200', '0000', '61', // a: offset 0x20, delta 0, type 2, size 1 - 1
    '4000', 'feff', '0100', '0100', '6262', // bb: delta -2
    '00000000', '34120000', '09000000', // a new header for block 0x1234
    '1000', '0000', '0300', '0000', '63',
  ].join(''));
  assert.deepEqual(l.index, []);
  const many = Array.from({ length: 600 }, (_, i) => ({ name: Buffer.from(`name-${String(i).padStart(4, '0')}-${'x'.repeat(10)}`), block: 0, offset: 0, inodeNumber: i + 1, type: 2 }));
  const big = buildListing(many);
  assert.ok(big.index.length >= 2, `${big.index.length} index points`);
  for (const x of big.index) {
    assert.ok(x.offset > 0 && x.offset < big.bytes.length);
    // Each index point is a header, and its name is that header's first entry's.
    const name = Buffer.from(big.bytes.subarray(x.offset + DirHeader.size + DirEntry.size, x.offset + DirHeader.size + DirEntry.size + x.name.length));
    assert.deepEqual(name, x.name);
  }
  // No header covers more than 256 entries.
  const counts: number[] = [];
  for (let at = 0; at < big.bytes.length;) {
    const count = new DataView(big.bytes.buffer, big.bytes.byteOffset).getUint32(at, true) + 1;
    counts.push(count);
    at += DirHeader.size;
    for (let k = 0; k < count; k++) at += DirEntry.size + new DataView(big.bytes.buffer, big.bytes.byteOffset).getUint16(at + 6, true) + 1;
  }
  assert.equal(counts.reduce((a, b) => a + b, 0), 600);
  assert.ok(counts.every((c) => c <= 256));
});

test('the squashfs: block resolves mksquashfs\'s defaults and refuses what it cannot write', () => {
  assert.deepEqual(resolveSquashfsOptions(undefined, 's'), { compression: 'gzip', level: 9, levelGiven: false, lz4hc: false, blockSize: 131072, fragments: true, dedup: true, exports: true });
  assert.equal(resolveSquashfsOptions({ compression: 'zstd' }, 's').level, 15);
  assert.equal(resolveSquashfsOptions({ blockSize: '1MiB' }, 's').blockSize, 1 << 20);
  const fails = (value: unknown, code: string, path: string): void => {
    assert.throws(() => resolveSquashfsOptions(value, 's'), (e: unknown) => e instanceof DiskwrightError && e.code === code && e.path === path);
  };
  fails({ blockSize: 2048 }, 'E_SQUASHFS_BLOCK_SIZE', 's.blockSize');
  fails({ blockSize: '2MiB' }, 'E_SQUASHFS_BLOCK_SIZE', 's.blockSize');
  fails({ blockSize: 100000 }, 'E_SQUASHFS_BLOCK_SIZE', 's.blockSize');
  fails({ compression: 'lzo' }, 'E_ENUM', 's.compression');
  fails({ compression: 'gzip', level: 12 }, 'E_RANGE', 's.level');
  fails({ compression: 'lz4', level: 1 }, 'E_SQUASHFS_OPTION', 's.level');
  fails({ compression: 'gzip', xzFilter: 'x86' }, 'E_SQUASHFS_OPTION', 's.xzFilter');
  fails({ compression: 'zstd', lz4hc: true }, 'E_SQUASHFS_OPTION', 's.lz4hc');
  fails({ compresion: 'xz' }, 'E_UNKNOWN_KEY', 's.compresion');
});
