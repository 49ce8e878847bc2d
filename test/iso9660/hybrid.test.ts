/**
 * isohybrid system areas (src/fs/iso9660/hybrid.ts) against xorriso 1.5: for each layout xorriso
 * builds an ISO with the same options; we plan the system area and tail for the same ISO size and
 * boot image blocks, lay them over a copy of xorriso's ISO, and compare what
 * `xorriso -report_system_area plain` reads from both, field by field (MBR partitions, GPT header
 * range, entry array, every entry's name, type, flags, start and size; only GUIDs and the CHS
 * geometry xorriso infers differ), the MBR code bytes up to the disk signature, the image size,
 * and the verdicts of `sgdisk -v` and `sfdisk --verify`.
 *
 * The boot code files are stand-ins (seeded bytes carrying the "GRUB " / "isolinux" messages by
 * which the planner tells them apart): xorriso copies them as opaque bytes. The real GRUB files are
 * booted in test/iso9660/boot-qemu.test.ts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { planHybrid, type HybridInput, type HybridPlan } from '../../src/fs/iso9660/hybrid.js';
import { efiSectorCount, type BootImageRef } from '../../src/fs/iso9660/eltorito.js';
import { DiskwrightError } from '../../src/errors.js';
import { prng } from '../helpers/prng.js';
import { run, runOk, tempDir } from '../helpers/tools.js';

const tmp = tempDir('dw-iso-hybrid-');
after(() => tmp.cleanup());
const rand = prng('iso-hybrid');
const TREE = join(tmp.dir, 'tree');
mkdirSync(join(TREE, 'boot'), { recursive: true });
mkdirSync(join(TREE, 'etc'), { recursive: true });
writeFileSync(join(TREE, 'boot/bios.img'), rand.bytes(29485));
// An EFI image of an odd size: the partition is counted in whole 2048-byte blocks.
writeFileSync(join(TREE, 'boot/efi.img'), rand.bytes(700 * 1024 + 100));
writeFileSync(join(TREE, 'etc/marker'), 'hybrid\n');
for (let i = 0; i < 40; i++) writeFileSync(join(TREE, `f${i}`), rand.bytes(1000 + rand.int(70_000)));
const ESP_IMG = join(tmp.dir, 'esp.img');
writeFileSync(ESP_IMG, rand.bytes(1000 * 1024 + 512));
const GRUB_MBR = join(tmp.dir, 'boot_hybrid.img');
const grubCode = rand.bytes(512);
grubCode.write('GRUB ', 0x180, 'latin1');
grubCode.fill(0, 0x1b0, 0x1fe);
grubCode.set([0x55, 0xaa], 0x1fe);
writeFileSync(GRUB_MBR, grubCode);
const ISOHDPFX = join(tmp.dir, 'isohdpfx.bin');
const isolinuxCode = rand.bytes(432);
isolinuxCode.write('isolinux.bin missing or corrupt.', 0x100, 'latin1');
writeFileSync(ISOHDPFX, isolinuxCode);
const SEED = 'hybrid-test';

const BASE = ['-as', 'mkisofs', '-R', '-V', 'HYBRID', '-no-pad', '-c', 'boot/boot.cat',
  '-b', 'boot/bios.img', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table'];
const EFI_INSIDE = ['-eltorito-alt-boot', '-e', 'boot/efi.img', '-no-emul-boot'];
const EFI_APPENDED = ['-eltorito-alt-boot', '-e', '--interval:appended_partition_2:all::', '-no-emul-boot'];

interface Xorriso { iso: string; report: string[]; volumeBlocks: number; bios: BootImageRef; efi?: BootImageRef }

/** Build with xorriso, then read its El Torito report: the images' blocks as our planner gets them. */
function xorriso(name: string, opts: string[]): Xorriso {
  const iso = join(tmp.dir, `${name}.iso`);
  runOk('xorriso', [...BASE, ...opts, '-o', iso, TREE]);
  const report = systemArea(iso);
  const torito = runOk('xorriso', ['-indev', iso, '-report_el_torito', 'plain']).split('\n');
  const img = (n: number): { lba: number; blocks: number } | undefined => {
    const m = torito.map((l) => l.match(new RegExp(`^El Torito boot img :\\s+${n}\\s+\\S+\\s+y\\s+none\\s+\\S+\\s+\\S+\\s+(\\d+)\\s+(\\d+)`))).find(Boolean);
    return m ? { blocks: Number(m[1]), lba: Number(m[2]) } : undefined;
  };
  const volumeBlocks = Number(/Volume size is: (\d+)/.exec(runOk('isoinfo', ['-d', '-i', iso]))![1]);
  const b = img(1)!;
  const e = img(2);
  return {
    iso, report, volumeBlocks,
    bios: { path: '/boot/bios.img', lba: b.lba, size: statSync(join(TREE, 'boot/bios.img')).size },
    efi: e && { path: '/boot/efi.img', lba: e.lba, size: statSync(join(TREE, 'boot/efi.img')).size },
  };
}

function systemArea(iso: string): string[] {
  return runOk('xorriso', ['-indev', iso, '-report_system_area', 'plain']).split('\n').filter((l) => l.trim() !== '');
}

/**
 * The report without what is ours to choose: disk and partition GUIDs (type GUIDs stay), and what
 * xorriso infers from the MBR entries' CHS fields (it writes them for 64 heads x 32 sectors, we as
 * src/table/mbr.ts does, 255 x 63): the geometry lines, the cylinder alignment token and its bits
 * (8-9) of the options word.
 */
function comparable(report: string[]): string[] {
  return report.filter((l) => !/disk GUID|partition GUID|heads per cyl|secs per head/.test(l)).map((l) => {
    const m = /^(System area options: )0x([0-9a-f]+)$/.exec(l);
    if (m) return m[1] + (parseInt(m[2]!, 16) & ~0x300).toString(16);
    return l.replace(/ cyl-align-(on|off|all)/, '');
  });
}

/** xorriso's ISO with our system area and tail laid over it, cut or grown to our size. */
function overlay(x: Xorriso, plan: HybridPlan, name: string): string {
  const out = join(tmp.dir, `${name}.ours.iso`);
  copyFileSync(x.iso, out);
  const fd = openSync(out, 'r+');
  try {
    ftruncateSync(fd, plan.totalSize);
    writeSync(fd, new Uint8Array(32768), 0, 32768, 0);
    writeSync(fd, plan.systemArea, 0, plan.systemArea.length, 0);
    for (const t of plan.tail) writeSync(fd, t.data, 0, t.data.length, t.offset);
  } finally {
    closeSync(fd);
  }
  return out;
}

interface Case {
  name: string;
  xorriso: string[];
  input: (x: Xorriso) => HybridInput;
  /** Only compare these report lines (xorriso adds structures we deliberately do not write). */
  only?: RegExp;
  gpt: boolean;
}

const cases: Case[] = [
  {
    name: 'grub-gpt-esp-inside', gpt: true,
    // grub-mkrescue's layout: GPT ESP entry over the El Torito EFI image, Gap partitions around it.
    xorriso: ['--grub2-mbr', GRUB_MBR, ...EFI_INSIDE, '-efi-boot-part', '--efi-boot-image'],
    // xorriso counts its 16-block backup-GPT reserve in the volume size; our tail comes after the ISO.
    input: (x) => ({ isoSectors: x.volumeBlocks - 16, biosImage: x.bios, efiImage: x.efi, mbrCode: grubCode, gpt: true, seed: SEED }),
  },
  {
    name: 'grub-gpt-appended', gpt: true,
    xorriso: ['--grub2-mbr', GRUB_MBR, '-append_partition', '2', 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', ESP_IMG, '-appended_part_as_gpt', ...EFI_APPENDED],
    input: (x) => ({ isoSectors: x.volumeBlocks, biosImage: x.bios, mbrCode: grubCode, gpt: true, appendedEsp: { volumeSize: statSync(ESP_IMG).size }, seed: SEED }),
  },
  {
    name: 'grub-mbr-appended', gpt: false,
    xorriso: ['--grub2-mbr', GRUB_MBR, '-append_partition', '2', '0xef', ESP_IMG, ...EFI_APPENDED],
    input: (x) => ({ isoSectors: x.volumeBlocks, biosImage: x.bios, mbrCode: grubCode, gpt: false, appendedEsp: { volumeSize: statSync(ESP_IMG).size }, seed: SEED }),
  },
  {
    name: 'isohdpfx-mbr', gpt: false,
    xorriso: ['-isohybrid-mbr', ISOHDPFX],
    input: (x) => ({ isoSectors: x.volumeBlocks, biosImage: x.bios, mbrCode: isolinuxCode, gpt: false, seed: SEED }),
  },
  {
    name: 'isohdpfx-mbr-appended', gpt: false,
    xorriso: ['-isohybrid-mbr', ISOHDPFX, '-append_partition', '2', '0xef', ESP_IMG],
    input: (x) => ({ isoSectors: x.volumeBlocks, biosImage: x.bios, mbrCode: isolinuxCode, gpt: false, appendedEsp: { volumeSize: statSync(ESP_IMG).size }, seed: SEED }),
  },
  {
    // xorriso adds its overlapping "ISOHybrid" GPT here (which sgdisk rejects); its MBR is the
    // classic isohybrid one we write without a GPT: the ISO as type 0x00 from sector 0, 0xEF inside.
    name: 'isohdpfx-mbr-esp-inside', gpt: false,
    xorriso: ['-isohybrid-mbr', ISOHDPFX, ...EFI_INSIDE, '-isohybrid-gpt-basdat'],
    input: (x) => ({ isoSectors: x.volumeBlocks, biosImage: x.bios, efiImage: x.efi, mbrCode: isolinuxCode, gpt: false, seed: SEED }),
    only: /^MBR partition /,
  },
];

for (const c of cases) {
  test(`hybrid ${c.name}: system area and tail read by xorriso as xorriso's own`, () => {
    const x = xorriso(c.name, c.xorriso);
    const plan = planHybrid(c.input(x));
    const ours = overlay(x, plan, c.name);
    assert.equal(plan.totalSize, statSync(x.iso).size, 'image size');
    const pick = (r: string[]): string[] => comparable(r).filter((l) => !c.only || c.only.test(l));
    const theirs = pick(x.report);
    assert.ok(theirs.some((l) => l.startsWith('MBR partition ')), `xorriso wrote MBR partitions:\n${x.report.join('\n')}`);
    assert.deepEqual(pick(systemArea(ours)), theirs);
    // MBR code and the boot image pointer at 0x1b0, up to the disk signature (which is ours).
    const a = readFileSync(ours).subarray(0, 0x1b8);
    const b = readFileSync(x.iso).subarray(0, 0x1b8);
    assert.equal(Buffer.compare(a, b), 0, 'MBR bytes 0..0x1b7');
    if (c.gpt) {
      assert.match(runOk('sgdisk', ['-v', ours]), /No problems found/);
      assert.match(runOk('sgdisk', ['-v', x.iso]), /No problems found/);
      const p = run('sgdisk', ['-p', ours]);
      assert.match(p.stdout, /EF00/);
    } else {
      const j = JSON.parse(runOk('sfdisk', ['--json', ours])) as { partitiontable: { label: string; partitions: { start: number; size: number; type: string; bootable?: boolean }[] } };
      const k = JSON.parse(runOk('sfdisk', ['--json', x.iso])) as typeof j;
      assert.equal(j.partitiontable.label, 'dos');
      assert.deepEqual(j.partitiontable.partitions.map(({ start, size, type, bootable }) => ({ start, size, type, bootable })),
        k.partitiontable.partitions.map(({ start, size, type, bootable }) => ({ start, size, type, bootable })));
    }
    if (plan.appendedEspOffset !== undefined) assert.equal(plan.appendedEspOffset, x.volumeBlocks * 2048);
  });
}

test('hybrid: isohdpfx with a GPT (xorriso\'s overlapping -isohybrid-gpt-basdat has no clean equivalent) passes sgdisk and sfdisk', () => {
  const x = xorriso('isohdpfx-gpt', ['-isohybrid-mbr', ISOHDPFX, ...EFI_INSIDE]);
  const plan = planHybrid({ isoSectors: x.volumeBlocks, biosImage: x.bios, efiImage: x.efi, mbrCode: isolinuxCode, gpt: true, seed: SEED });
  const ours = overlay(x, plan, 'isohdpfx-gpt');
  assert.match(runOk('sgdisk', ['-v', ours]), /No problems found/);
  const v = run('sfdisk', ['--verify', ours]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  const sector0 = readFileSync(ours).subarray(0, 512);
  assert.equal(sector0.readBigUInt64LE(0x1b0), BigInt(x.bios.lba * 4), 'isohdpfx loads isolinux.bin itself: LBA x 4');
  assert.equal(Buffer.compare(sector0.subarray(0, 432), isolinuxCode), 0);
  const j = JSON.parse(runOk('sfdisk', ['--json', ours])) as { partitiontable: { partitions: { start: number; size: number; type: string; name: string }[] } };
  const esp = j.partitiontable.partitions.find((p) => p.type === 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  assert.deepEqual(esp && { start: esp.start, size: esp.size, name: esp.name }, { start: x.efi!.lba * 4, size: efiSectorCount(x.efi!.size), name: 'EFI boot partition' });
  // The Gap partitions and the ESP cover every ISO block after the system area.
  const covered = j.partitiontable.partitions.reduce((n, p) => n + p.size, 0);
  assert.equal(covered, x.volumeBlocks * 4 - 64);
});

test('hybrid: the appended ESP partition is whole 2048-byte blocks, and the catalog counts the same', () => {
  const size = statSync(ESP_IMG).size;
  const plan = planHybrid({ isoSectors: 1000, gpt: false, appendedEsp: { volumeSize: size }, seed: SEED });
  const p2 = Buffer.from(plan.systemArea).readUInt32LE(0x1be + 16 + 12);
  assert.equal(p2, efiSectorCount(size));
  assert.equal(p2 % 4, 0);
  assert.equal(plan.totalSize, 1000 * 2048 + p2 * 512);
});

test('hybrid: the same input gives the same bytes; the seed decides the GUIDs and the MBR id', () => {
  const input: HybridInput = { isoSectors: 2000, biosImage: { path: '/b', lba: 40, size: 5000 }, efiImage: { path: '/e', lba: 50, size: 1 << 20 }, mbrCode: grubCode, gpt: true, seed: 'a' };
  const one = planHybrid(input);
  const two = planHybrid({ ...input });
  assert.deepEqual(one, two);
  const other = planHybrid({ ...input, seed: 'b' });
  assert.notDeepEqual(Buffer.from(other.systemArea.subarray(512, 1024)), Buffer.from(one.systemArea.subarray(512, 1024)));
  assert.notEqual(Buffer.from(other.systemArea).readUInt32LE(0x1b8), Buffer.from(one.systemArea).readUInt32LE(0x1b8));
});

test('hybrid: bad MBR code and MBR code without a BIOS image are errors naming the spec path', () => {
  const base: HybridInput = { isoSectors: 100, biosImage: { path: '/b', lba: 40, size: 5000 }, gpt: false, seed: 's', specPath: 'partitions[0].iso9660.hybrid' };
  const expectError = (input: HybridInput, re: RegExp): void => {
    assert.throws(() => planHybrid(input), (e: unknown) => e instanceof DiskwrightError && e.code === 'E_HYBRID_MBR' && e.path === 'partitions[0].iso9660.hybrid.mbr' && re.test(e.message));
  };
  expectError({ ...base, mbrCode: new Uint8Array(100) }, /100 bytes; expected 432 to 512/);
  expectError({ ...base, mbrCode: new Uint8Array(2048) }, /2048 bytes/);
  expectError({ ...base, mbrCode: new Uint8Array(512) }, /neither GRUB's boot_hybrid.img nor syslinux's isohdpfx.bin/);
  const { biosImage: _, ...noBios } = base;
  expectError({ ...noBios, mbrCode: grubCode }, /no(ne)?\b.*boot.bios.image/);
});
