/**
 * The planner's El Torito and isohybrid call sites, read by xorriso: the boot record at sector 17
 * before the Joliet descriptor, a catalog placed at its path or hidden, the EFI entry pointing at
 * an ESP appended after the ISO (a copy of the tree's EFI image) with its MBR partition; and a
 * fixed size padded with zeros after the ISO.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { prng } from '../helpers/prng.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { buildIso, isoinfoD, isoinfoListing, treeOf, xorrisoClean } from './iso-helpers.js';

const tmp = tempDir('dw-iso-sites-');
after(() => tmp.cleanup());
const rand = prng('iso-sites');
const SRC = join(tmp.dir, 'src');
const BIOS = rand.bytes(20000);
const EFI = rand.bytes(300 * 1024 + 100);
mkdirSync(join(SRC, 'boot/grub'), { recursive: true });
writeFileSync(join(SRC, 'boot/grub/bios.img'), BIOS);
writeFileSync(join(SRC, 'boot/grub/efi.img'), EFI);
writeFileSync(join(SRC, 'readme'), 'hello\n');

const catalogOf = (report: string): number => Number(/^El Torito catalog\s+:\s+(\d+)/m.exec(report)![1]);
const images = (report: string): [string, number, number][] => [...report.matchAll(/^El Torito boot img :\s+\d+\s+(BIOS|UEFI)\s+y\s+none\s+0x0000\s+0x00\s+(\d+)\s+(\d+)$/gm)].map((m) => [m[1]!, Number(m[2]), Number(m[3])]);

test('El Torito: boot record at 17 before the Joliet descriptor; the catalog at its path, or hidden', async () => {
  for (const hidden of [false, true]) {
    const img = join(tmp.dir, `cat-${hidden}.iso`);
    await buildIso(treeOf(SRC), img, { iso: { joliet: true, boot: { catalog: '/boot/grub/boot.cat', catalogHidden: hidden, bios: { image: '/boot/grub/bios.img', loadSize: 8 } } } });
    const report = xorrisoClean(img);
    const iso = readFileSync(img);
    // Sector 16 PVD, 17 boot record ("EL TORITO SPECIFICATION"), 18 the Joliet SVD, 19 the terminator.
    assert.deepEqual([16, 17, 18, 19].map((s) => iso[s * 2048]), [1, 0, 2, 255]);
    assert.equal(iso.subarray(17 * 2048 + 7, 17 * 2048 + 30).toString('latin1'), 'EL TORITO SPECIFICATION');
    const cat = catalogOf(report);
    assert.equal(iso.readUInt32LE(17 * 2048 + 0x47), cat);
    assert.equal(iso[cat * 2048], 1, 'the catalog starts with its validation entry');
    const listed = (flags: string[]): boolean => isoinfoListing(img, flags).some((e) => e.dir.toLowerCase() === '/boot/grub/' && e.name.toLowerCase().startsWith('boot.cat'));
    assert.equal(listed(['-R']), !hidden);
    assert.equal(listed(['-J']), !hidden);
    assert.equal(listed([]), !hidden);
    if (!hidden) assert.match(report, /^El Torito cat path : \/boot\/grub\/boot\.cat$/m);
    const [bios] = images(report);
    assert.deepEqual(bios!.slice(0, 2), ['BIOS', 8]);
    assert.match(report, new RegExp(`^File data lba:\\s+0 ,\\s+${bios![2]} ,.*'/boot/grub/bios\\.img'$`, 'm'));
  }
});

test('isohybrid: an ESP appended after the ISO as MBR partition 2, named by the EFI entry', async () => {
  const img = join(tmp.dir, 'appended.iso');
  const info = await buildIso(treeOf(SRC), img, { iso: { boot: { efi: { image: 'boot/grub/efi.img' } }, hybrid: { appendedEsp: true } } });
  const report = xorrisoClean(img, { checkMedia: false });
  const sectors = Number(isoinfoD(img).get('Volume size is'));
  const [efi] = images(report);
  assert.equal(efi![0], 'UEFI');
  assert.equal(efi![2], sectors, 'the EFI entry names the block right after the ISO');
  assert.equal(statSync(img).size, info.size);
  assert.equal(info.size, (sectors + Math.ceil(EFI.length / 2048)) * 2048);
  assert.ok(readFileSync(img).subarray(sectors * 2048, sectors * 2048 + EFI.length).equals(EFI), 'the appended ESP holds the EFI image');
  const parts = JSON.parse(runOk('sfdisk', ['--json', img])) as { partitiontable: { partitions: { start: number; size: number; type: string }[] } };
  const esp = parts.partitiontable.partitions.find((p) => p.type === 'ef')!;
  assert.deepEqual([esp.start, esp.size], [sectors * 4, Math.ceil(EFI.length / 2048) * 4]);
});

test('size: a fixed size pads the ISO with zeros', async () => {
  const img = join(tmp.dir, 'fixed.iso');
  const info = await buildIso(treeOf(SRC), img, { size: 4 << 20 });
  assert.equal(info.size, 4 << 20);
  assert.equal(statSync(img).size, 4 << 20);
  const sectors = Number(isoinfoD(img).get('Volume size is'));
  assert.ok(sectors * 2048 < 4 << 20);
  assert.ok(readFileSync(img).subarray(sectors * 2048).every((b) => b === 0));
  xorrisoClean(img);
});
