/**
 * Each table scheme's declared limits (src/table/schemes.ts) are what a build enforces: partition
 * count, name length, the flags and type ids it stores, the hybrid's three mirrored partitions, the
 * reserved areas. The limits are read from the scheme objects, so changing one without the
 * checks (or the other way round) fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildImage } from '../../src/build.js';
import type { ImageSpec } from '../../src/spec/types.js';
import { GPT_NAME_UNITS } from '../../src/table/gpt.js';
import { MBR_PARTITION_OFFSET, MbrPartitionRecord } from '../../src/table/mbr.js';
import { tableScheme, tableSchemes } from '../../src/table/schemes.js';
import { MBR_PROTECTIVE_TYPE, PARTITION_FLAGS } from '../../src/table/types.js';
import { cli } from '../helpers/disk.js';
import { tempDir } from '../helpers/tools.js';

const { dir, cleanup } = tempDir('dw-schemes-');
after(cleanup);

type Part = NonNullable<ImageSpec['partitions']>[number];
const part = (i: number, extra: Partial<Part> = {}): Part => ({ name: `p${i}`, size: '1MiB', ...extra });
const parts = (n: number, extra: Partial<Part> = {}): Part[] => Array.from({ length: n }, (_, i) => part(i, extra));
/** The error code and path a spec fails with, or 'ok'. */
async function outcome(spec: Record<string, unknown>): Promise<string> {
  try {
    await buildImage(spec as ImageSpec, { dryRun: true, baseDir: dir });
    return 'ok';
  } catch (e) {
    const err = e as { code?: string; path?: string; message: string };
    if (!err.code) throw e;
    return `${err.code} ${err.path ?? ''}`.trim();
  }
}

test('the registry has one scheme per table type, with the limits of their specifications', () => {
  assert.deepEqual(tableSchemes.map((s) => s.name), ['gpt', 'mbr', 'hybrid', 'none']);
  const mbr = tableScheme('mbr'), gpt = tableScheme('gpt'), hybrid = tableScheme('hybrid'), none = tableScheme('none');
  assert.equal(mbr.maxPartitions({ gptEntries: 128 }), 4, 'MBR: 4 primary partitions');
  assert.equal(gpt.maxPartitions({ gptEntries: 128 }), 128);
  assert.deepEqual(gpt.entryArray, { default: 128, min: 4, max: 1024 });
  assert.equal(gpt.nameLength, 36, 'GPT: 36 UTF-16 code units');
  assert.equal(GPT_NAME_UNITS, 36);
  assert.equal(mbr.nameLength, undefined, 'MBR: no names');
  assert.equal(hybrid.mbrSlots, 3, 'hybrid: the MBR mirrors 3 partitions beside 0xEE');
  assert.deepEqual([gpt.types, mbr.types, hybrid.types], [
    { guid: 'required', mbrByte: 'unused' }, { guid: 'unused', mbrByte: 'required' }, { guid: 'required', mbrByte: 'optional' },
  ]);
  assert.deepEqual(mbr.flags, ['boot']);
  assert.equal(mbr.bootCodeBytes, 440);
  assert.equal(none.minPartitions, 1);
  // Reserved areas: sector 0 for every table; GPT header, primary array and the backup at the end.
  const S = 512;
  const spec = { sectorSize: S as 512, gptEntries: 128, gptLocation: undefined };
  assert.deepEqual(mbr.area(spec).reserved(2048).map((r) => [r.from, r.to]), [[0, S]]);
  assert.deepEqual(gpt.area(spec).reserved(2048).map((r) => [r.from, r.to]), [[0, S], [S, 2 * S], [2 * S, 34 * S], [2015 * S, 2048 * S]]);
  assert.equal(gpt.area(spec).firstUsableLba, 34);
  assert.equal(gpt.area(spec).trailingSectors, 33);
  assert.equal(mbr.area(spec).firstUsableLba, 1);
});

test('partition counts: each scheme takes its maximum and refuses one more', async () => {
  for (const s of tableSchemes) {
    const gptEntries = 4;
    const max = s.maxPartitions({ gptEntries });
    // (table: none is the filesystem's size; the others get room for four 1 MiB partitions.)
    const base = { table: s.name, gptEntries, ...(s.name === 'none' ? {} : { size: '16MiB' }) };
    const type = s.types.mbrByte === 'required' ? '0x83' : 'linux';
    assert.equal(await outcome({ ...base, partitions: parts(max, { type }) }), 'ok', `${s.name}: ${max} partitions`);
    const want = { gpt: 'E_TOO_MANY_PARTITIONS partitions[4]', hybrid: 'E_TOO_MANY_PARTITIONS partitions[4]', mbr: 'E_MBR_PRIMARY partitions[4]', none: 'E_TABLE_NONE partitions' }[s.name];
    assert.equal(await outcome({ ...base, partitions: parts(max + 1, { type }) }), want, `${s.name}: ${max + 1} partitions`);
  }
});

test('partition names: a GPT (and a hybrid) stores 36 UTF-16 code units', async () => {
  const units = (n: number): string => 'é'.repeat(n); // one code unit each
  for (const s of tableSchemes.filter((t) => t.nameLength !== undefined)) {
    const limit = s.nameLength!;
    assert.equal(await outcome({ table: s.name, partitions: [part(0, { name: units(limit) })] }), 'ok', `${s.name}: ${limit} units`);
    assert.equal(await outcome({ table: s.name, partitions: [part(0, { name: units(limit + 1) })] }), 'E_TOO_LONG partitions[0].name', `${s.name}: ${limit + 1} units`);
  }
  // An astral character is two code units: 18 of them fill a GPT name, 19 do not fit.
  assert.equal(await outcome({ partitions: [part(0, { name: '😀'.repeat(18) })] }), 'ok');
  assert.equal(await outcome({ partitions: [part(0, { name: '😀'.repeat(19) })] }), 'E_TOO_LONG partitions[0].name');
});

test('partition names: an MBR (or no table) stores none, so any length is accepted', async () => {
  for (const s of tableSchemes.filter((t) => t.nameLength === undefined)) {
    const type = s.types.mbrByte === 'required' ? '0x83' : 'linux';
    assert.equal(await outcome({ table: s.name, partitions: [part(0, { name: 'n'.repeat(100), type })] }), 'ok', s.name);
  }
});

test('flags: each scheme takes the flags it stores and refuses the others', async () => {
  for (const s of tableSchemes) {
    const type = s.types.mbrByte === 'required' ? '0x83' : 'linux';
    for (const flag of PARTITION_FLAGS) {
      const r = await outcome({ table: s.name, partitions: [part(0, { type, flags: [flag] })] });
      assert.equal(r, s.flags.includes(flag) ? 'ok' : 'E_FLAG_TABLE partitions[0].flags[0]', `${s.name}: ${flag}`);
    }
  }
});

test('types: a GUID-only type on MBR and an MBR-only byte on GPT are refused; a hybrid mirrors only what has a byte', async () => {
  assert.equal(await outcome({ table: 'mbr', partitions: [part(0, { type: 'bios-boot' })] }), 'E_PART_TYPE partitions[0].type');
  assert.equal(await outcome({ table: 'gpt', partitions: [part(0, { type: '0x83' })] }), 'E_PART_TYPE partitions[0].type');
  assert.equal(await outcome({ table: 'hybrid', partitions: [part(0, { type: '0x83' })] }), 'E_PART_TYPE partitions[0].type');
  assert.equal(await outcome({ table: 'hybrid', partitions: [part(0, { type: 'bios-boot' })] }), 'ok');
  assert.equal(await outcome({ table: 'mbr', partitions: [part(0, { type: '0x83' })] }), 'ok');
});

test('hybrid: the MBR holds the 0xEE entry and the first three partitions that have an MBR type', async () => {
  const out = join(dir, 'hybrid.img');
  const partitions = [part(0, { type: 'bios-boot' }), part(1, { type: 'linux', flags: ['boot'] }), part(2, { type: 'swap' }), part(3, { type: 'esp' }), part(4, { type: 'linux' })];
  const report = await buildImage({ table: 'hybrid', partitions } as ImageSpec, { output: out, baseDir: dir });
  const sector0 = readFileSync(out).subarray(0, 512);
  const records = [0, 1, 2, 3].map((i) => MbrPartitionRecord.decode(sector0, MBR_PARTITION_OFFSET + i * MbrPartitionRecord.size));
  assert.deepEqual(records.map((r) => r.OSType), [MBR_PROTECTIVE_TYPE, 0x83, 0x82, 0xef]);
  assert.deepEqual(records.slice(1).map((r) => r.StartingLBA), [1, 2, 3].map((i) => report.partitions[i]!.firstLba));
  assert.deepEqual(records.map((r) => r.BootIndicator), [0, 0x80, 0, 0]);
  // The 0xEE entry covers the GPT header and primary entry array: LBA 1 up to the first usable LBA.
  assert.equal(records[0]!.StartingLBA, 1);
  assert.equal(records[0]!.SizeInLBA, tableScheme('hybrid').area({ sectorSize: 512, gptEntries: 128, gptLocation: undefined }).firstUsableLba - 1);
});

test('boot code: a blob in the MBR code area (440 bytes) is merged; one byte more overlaps the table', async () => {
  const code = join(dir, 'code.bin');
  writeFileSync(code, Buffer.alloc(440, 0xcc));
  const long = join(dir, 'code441.bin');
  writeFileSync(long, Buffer.alloc(441, 0xcc));
  for (const s of tableSchemes.filter((t) => t.bootCodeBytes > 0)) {
    const type = s.types.mbrByte === 'required' ? '0x83' : 'linux';
    assert.equal(await outcome({ table: s.name, partitions: [part(0, { type })], raw: [{ source: code, offset: 0 }] }), 'ok', s.name);
    assert.equal(await outcome({ table: s.name, partitions: [part(0, { type })], raw: [{ source: long, offset: 0 }] }), 'E_BLOB_OVERLAP raw[0].offset', s.name);
  }
});

test('the CLI enforces the same limits: 5 MBR partitions, a 37-unit GPT name', () => {
  const five = join(dir, 'five.yaml');
  writeFileSync(five, `table: mbr\npartitions:\n${parts(5).map((p) => `  - { name: ${p.name}, size: 1MiB, type: "0x83" }`).join('\n')}\n`);
  const r1 = cli(['build', five, '-o', join(dir, 'five.img'), '-q']);
  assert.equal(r1.status, 1, r1.stderr);
  assert.match(r1.stderr, /error E_MBR_PRIMARY: partitions\[4\]: an MBR holds at most 4 primary partitions, got 5/);
  const name = join(dir, 'name.yaml');
  writeFileSync(name, `table: gpt\npartitions:\n  - { name: "${'n'.repeat(GPT_NAME_UNITS + 1)}", size: 1MiB }\n`);
  const r2 = cli(['build', name, '-o', join(dir, 'name.img'), '-q']);
  assert.equal(r2.status, 1, r2.stderr);
  assert.match(r2.stderr, /error E_TOO_LONG: partitions\[0\]\.name: /);
});
