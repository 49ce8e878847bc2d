/**
 * The read side on files that are not disk images, or are damaged: `inspect` and `diff` fail with
 * one line and exit 1 (no stack trace), and a table whose counts, offsets and LBAs point outside
 * the image is read as a list of problems, never an exception.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { inspectImage } from '../../src/inspect/inspect.js';
import { openRawImage } from '../../src/inspect/source.js';
import { GptHeader } from '../../src/table/gpt.js';
import { crc32 } from '../../src/util/crc32.js';
import { cli } from '../helpers/disk.js';
import { prng } from '../helpers/prng.js';
import { runOk, tempDir } from '../helpers/tools.js';

const { dir, cleanup } = tempDir('dw-inspect-err-');
after(cleanup);

function assertOneLine(r: { status: number; stdout: string; stderr: string }, code: RegExp, what: string): void {
  assert.equal(r.status, 1, `${what}: exit ${r.status}\n${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: one line expected, got:\n${r.stderr}`);
  assert.match(lines[0]!, code, what);
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error|RangeError/, what);
}

test('inspect and diff on a missing, empty, 100-byte or 511-byte file, or a directory: one line, exit 1', () => {
  const good = join(dir, 'good.img');
  writeFileSync(good, Buffer.alloc(4096));
  const cases: [string, RegExp][] = [
    [join(dir, 'missing.img'), /^diskwright: error E_INPUT_READ: cannot open .*missing\.img: ENOENT$/],
    [join(dir, 'empty.img'), /^diskwright: error E_NOT_AN_IMAGE: .*empty\.img is not a disk image: 0 bytes, smaller than one 512-byte sector$/],
    [join(dir, 'b100.img'), /^diskwright: error E_NOT_AN_IMAGE: .*b100\.img is not a disk image: 100 bytes/],
    [join(dir, 'b511.img'), /^diskwright: error E_NOT_AN_IMAGE: .*b511\.img is not a disk image: 511 bytes/],
    [join(dir, 'a-dir'), /^diskwright: error E_NOT_AN_IMAGE: .*a-dir is not a disk image: not a regular file$/],
  ];
  writeFileSync(join(dir, 'empty.img'), '');
  writeFileSync(join(dir, 'b100.img'), prng(100).bytes(100));
  writeFileSync(join(dir, 'b511.img'), prng(511).bytes(511));
  mkdirSync(join(dir, 'a-dir'), { recursive: true });
  cases.forEach(([path, re], i) => {
    assertOneLine(cli(['inspect', path, ...(i % 2 ? ['--json', '--hash'] : [])]), re, `inspect ${path}`);
    assertOneLine(cli(i % 2 ? ['diff', good, path] : ['diff', path, good]), re, `diff with ${path}`);
  });
  // One sector of zeros is the smallest image: no table, no filesystem.
  const sector = join(dir, 'sector.img');
  writeFileSync(sector, Buffer.alloc(512));
  const r = cli(['inspect', sector, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).table, 'none');
});

/** A GPT disk made by sgdisk (the reference), to damage field by field. */
function sgdiskImage(name: string): Buffer {
  const img = join(dir, name);
  writeFileSync(img, Buffer.alloc(4 << 20));
  runOk('sgdisk', ['-n', '1:2048:4095', '-c', '1:one', '-A', '1:set:60', '-n', '2:4096:6143', '-c', '2:two', img]);
  return readFileSync(img);
}

/** Set a GPT header field at its declared offset and fix the header CRC, so only the field is wrong. */
function setHeader(img: Buffer, field: Parameters<typeof GptHeader.offsetOf>[0], value: bigint | number, size: 4 | 8): Buffer {
  const b = Buffer.from(img);
  const o = 512 + GptHeader.offsetOf(field);
  if (size === 8) b.writeBigUInt64LE(BigInt(value), o); else b.writeUInt32LE(Number(value), o);
  b.writeUInt32LE(0, 512 + GptHeader.offsetOf('HeaderCRC32'));
  b.writeUInt32LE(crc32(b.subarray(512, 512 + 92)), 512 + GptHeader.offsetOf('HeaderCRC32'));
  return b;
}

function inspectBytes(name: string, bytes: Buffer): ReturnType<typeof inspectImage> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const src = openRawImage(path);
  try {
    return inspectImage(src, { hash: true });
  } finally {
    src.close();
  }
}

test('a GPT whose counts, sizes and LBAs point outside the image is read as problems, not exceptions', () => {
  const base = sgdiskImage('base.img');
  const ok = inspectBytes('ok.img', base);
  assert.equal(ok.table, 'gpt');
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.partitions.length, 2);
  assert.equal(ok.partitions[0]!.attributes, '0x1000000000000000', 'bit 60 (read-only) is above 2^53 and still read');

  const cases: [string, Buffer, RegExp][] = [
    ['entries 2^32-1', setHeader(base, 'NumberOfPartitionEntries', 0xffffffff, 4), /larger than/],
    ['entry size 1', setHeader(base, 'SizeOfPartitionEntry', 1, 4), /entry size 1 /],
    ['entry size 2^32-8', setHeader(base, 'SizeOfPartitionEntry', 0xfffffff8, 4), /larger than/],
    ['entry array at LBA 2^63', setHeader(base, 'PartitionEntryLBA', 2n ** 63n, 8), /runs past the end/],
    ['entry array at the last LBA', setHeader(base, 'PartitionEntryLBA', (4 << 20) / 512 - 1, 8), /runs past the end/],
    ['backup at LBA 2^64-1', setHeader(base, 'AlternateLBA', 2n ** 64n - 1n, 8), /past the end of the image/],
    ['header size 0', setHeader(base, 'HeaderSize', 0, 4), /header size 0 /],
    ['header size 2^32-1', setHeader(base, 'HeaderSize', 0xffffffff, 4), /header size 4294967295 /],
  ];
  // A partition entry claiming 2^62 sectors, and one ending past the image.
  const huge = Buffer.from(base);
  huge.writeBigUInt64LE(2n ** 62n, 1024 + 0x28);
  cases.push(['partition of 2^62 sectors', huge, /not a valid range/]);
  const past = Buffer.from(base);
  past.writeBigUInt64LE(BigInt((8 << 20) / 512), 1024 + 128 + 0x28);
  cases.push(['partition past the end', past, /partition 2 .* ends past the end of the image/]);
  // The disk cut short: the backup header and the second partition are gone.
  cases.push(['truncated to 3 MiB', base.subarray(0, 3 << 20), /past the end|not at the end/]);
  cases.push(['truncated to 1 KiB', base.subarray(0, 1024), /past the end/]);
  for (const [what, bytes, re] of cases) {
    const r = inspectBytes(`case.img`, bytes);
    assert.ok(r.problems.some((p) => re.test(p)), `${what}: ${JSON.stringify(r.problems)}`);
  }
});

test('seeded random damage to the first 34 sectors and the last 33 never throws', () => {
  const base = sgdiskImage('fuzz-base.img');
  const rand = prng(0x15);
  const end = base.length;
  for (let i = 0; i < 150; i++) {
    const b = Buffer.from(base);
    const n = 1 + rand.int(16);
    for (let k = 0; k < n; k++) {
      const region = rand.int(3);
      const at = region === 0 ? 512 + rand.int(92) : region === 1 ? 1024 + rand.int(33 * 512) : end - 33 * 512 + rand.int(33 * 512);
      const chunk = rand.bytes(1 + rand.int(8));
      chunk.copy(b, at);
    }
    assert.doesNotThrow(() => inspectBytes('fuzz.img', b), `iteration ${i}`);
  }
});
