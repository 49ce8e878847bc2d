/**
 * El Torito structures (src/fs/iso9660/eltorito.ts) against xorriso 1.5: xorriso builds an ISO with
 * the same boot options; for the blocks it chose, our boot record volume descriptor and boot
 * catalog must equal its blocks 17 and the catalog byte for byte, and our patches applied to the
 * original boot file must give the boot file as xorriso stored it (boot info table with its
 * checksum, GRUB 2 boot info), for BIOS only, EFI only and both, odd sizes and a file larger than
 * one checksum chunk.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BootInfoTable, BootRecordVolumeDescriptor, bootImagePatches, DefaultEntry, DiskbootBlocklist, efiSectorCount,
  encodeBootCatalog, encodeBootRecord, SectionEntry, SectionHeaderEntry, ValidationEntry, type BootImageRef,
} from '../../src/fs/iso9660/eltorito.js';
import { DiskwrightError } from '../../src/errors.js';
import { prng } from '../helpers/prng.js';
import { runOk, tempDir } from '../helpers/tools.js';

const tmp = tempDir('dw-iso-eltorito-');
after(() => tmp.cleanup());
const rand = prng('iso-eltorito');
const TREE = join(tmp.dir, 'tree');
mkdirSync(join(TREE, 'boot'), { recursive: true });
const FILES: Record<string, Buffer> = {
  // GRUB's eltorito.img is 29485 bytes here: not a multiple of 4, so the checksum's last word is short.
  'boot/bios.img': rand.bytes(29485),
  // Larger than the 64 KiB checksum chunk, and odd.
  'boot/big-bios.img': rand.bytes(150_001),
  'boot/efi.img': rand.bytes(2 * 1024 * 1024),
  'boot/odd-efi.img': rand.bytes(512_100),
};
for (const [p, b] of Object.entries(FILES)) writeFileSync(join(TREE, p), b);
for (let i = 0; i < 20; i++) writeFileSync(join(TREE, `f${i}`), rand.bytes(rand.int(50_000)));

interface Image { lba: number; loadSize: number; platform: string }

function build(name: string, opts: string[]): { iso: Buffer; catalogLba: number; images: Image[] } {
  const out = join(tmp.dir, `${name}.iso`);
  runOk('xorriso', ['-as', 'mkisofs', '-R', '-V', 'TORITO', '-c', 'boot/boot.cat', ...opts, '-o', out, TREE]);
  const report = runOk('xorriso', ['-indev', out, '-report_el_torito', 'plain']);
  const catalogLba = Number(/^El Torito catalog\s+:\s+(\d+)/m.exec(report)![1]);
  const images = [...report.matchAll(/^El Torito boot img :\s+\d+\s+(\S+)\s+y\s+none\s+0x0000\s+0x00\s+(\d+)\s+(\d+)/gm)]
    .map((m) => ({ platform: m[1]!, loadSize: Number(m[2]), lba: Number(m[3]) }));
  return { iso: readFileSync(out), catalogLba, images };
}

const block = (iso: Buffer, lba: number, n = 1): Buffer => iso.subarray(lba * 2048, (lba + n) * 2048);
const ref = (path: string, lba: number): BootImageRef => ({ path: `/${path}`, lba, size: FILES[path]!.length });
const reader = (path: string) => (from: number, length: number): Uint8Array => FILES[path]!.subarray(from, from + length);

/** Our patched copy of a boot file, to compare with the bytes xorriso stored. */
function patched(path: string, lba: number, opts: { bootInfoTable: boolean; grub2BootInfo: boolean }): Buffer {
  const out = Buffer.from(FILES[path]!);
  for (const p of bootImagePatches(ref(path, lba), 16, reader(path), opts)) out.set(p.data, p.at);
  return out;
}

test('struct sizes are the specification\'s', () => {
  assert.equal(BootRecordVolumeDescriptor.size, 2048);
  assert.equal(BootRecordVolumeDescriptor.offsetOf('boot_catalog_pointer'), 0x47);
  for (const s of [ValidationEntry, DefaultEntry, SectionHeaderEntry, SectionEntry]) assert.equal(s.size, 32, s.name);
  assert.equal(BootInfoTable.size, 56);
  assert.equal(DiskbootBlocklist.size, 12);
});

const cases = [
  { name: 'bios-info-table', opts: ['-b', 'boot/bios.img', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table'], bit: true, grub: false, efi: undefined },
  { name: 'bios-grub2-only', opts: ['-b', 'boot/bios.img', '-no-emul-boot', '-boot-load-size', '4', '--grub2-boot-info'], bit: false, grub: true, efi: undefined },
  { name: 'bios-both-load8', opts: ['-b', 'boot/bios.img', '-no-emul-boot', '-boot-load-size', '8', '-boot-info-table', '--grub2-boot-info'], bit: true, grub: true, efi: undefined },
  { name: 'big-bios-both', opts: ['-b', 'boot/big-bios.img', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table', '--grub2-boot-info'], bit: true, grub: true, efi: undefined },
  {
    name: 'bios-and-efi', bit: true, grub: true, efi: 'boot/efi.img',
    opts: ['-b', 'boot/bios.img', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table', '--grub2-boot-info', '-eltorito-alt-boot', '-e', 'boot/efi.img', '-no-emul-boot'],
  },
  { name: 'efi-only-odd', opts: ['-e', 'boot/odd-efi.img', '-no-emul-boot'], bit: false, grub: false, efi: 'boot/odd-efi.img' },
] as const;

for (const c of cases) {
  test(`El Torito ${c.name}: boot record, catalog and patched boot file equal xorriso's`, () => {
    const x = build(c.name, [...c.opts]);
    assert.equal(Buffer.compare(encodeBootRecord(x.catalogLba), block(x.iso, 17)), 0, 'boot record volume descriptor');
    const opts: readonly string[] = c.opts;
    const biosPath = opts.includes('-b') ? opts[opts.indexOf('-b') + 1]! : undefined;
    const biosImg = x.images.find((i) => i.platform === 'BIOS');
    const efiImg = x.images.find((i) => i.platform === 'UEFI');
    assert.equal(!!biosImg, !!biosPath);
    assert.equal(!!efiImg, !!c.efi);
    const bios = biosPath && biosImg ? { ...ref(biosPath, biosImg.lba), loadSize: biosImg.loadSize } : undefined;
    const efi = c.efi && efiImg ? { ...ref(c.efi, efiImg.lba), sectors: efiSectorCount(FILES[c.efi]!.length) } : undefined;
    if (efi) assert.equal(efi.sectors, efiImg!.loadSize, 'EFI sector count');
    const catalog = encodeBootCatalog({ ...(bios ? { bios } : {}), ...(efi ? { efi } : {}) });
    assert.equal(Buffer.compare(catalog, block(x.iso, x.catalogLba)), 0, 'boot catalog');
    if (biosPath && bios) {
      const size = FILES[biosPath]!.length;
      const stored = x.iso.subarray(bios.lba * 2048, bios.lba * 2048 + size);
      const ours = patched(biosPath, bios.lba, { bootInfoTable: c.bit, grub2BootInfo: c.grub });
      assert.equal(Buffer.compare(ours, stored), 0, 'patched boot file');
      assert.notEqual(Buffer.compare(ours, FILES[biosPath]!), 0, 'the patch changed something');
    }
  });
}

test('efiSectorCount: whole 2048-byte blocks in 512-byte sectors, 0 past the 16-bit field (xorriso)', () => {
  assert.equal(efiSectorCount(2 * 1024 * 1024), 4096);
  assert.equal(efiSectorCount(512_100), 1004);
  assert.equal(efiSectorCount(16383 * 2048), 65532);
  assert.equal(efiSectorCount(16383 * 2048 + 1), 0);
});

test('the validation entry sums to zero and the catalog of BIOS + EFI ends with a final EFI section', () => {
  const cat = encodeBootCatalog({ bios: { path: '/b', lba: 0x12345, size: 3000, loadSize: 4 }, efi: { path: '/e', lba: 0x23456, size: 1 << 20, sectors: 2048 } });
  const words = Buffer.from(cat.subarray(0, 32));
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + words.readUInt16LE(i)) & 0xffff;
  assert.equal(sum, 0);
  assert.deepEqual([cat[0x1e], cat[0x1f]], [0x55, 0xaa]);
  const hdr = SectionHeaderEntry.decode(cat, 64);
  assert.deepEqual([hdr.header_indicator, hdr.platform_id, hdr.section_entries], [0x91, 0xef, 1]);
  assert.equal(SectionEntry.decode(cat, 96).load_rba, 0x23456);
  assert.equal(DefaultEntry.decode(cat, 32).load_rba, 0x12345);
  assert.ok(cat.subarray(128).every((b) => b === 0));
});

test('a boot file too short for a patch is an E_BOOT_IMAGE error naming the spec path', () => {
  const small = new Uint8Array(2000);
  const img = { path: '/boot/small.img', lba: 30, size: small.length };
  const read = (f: number, l: number): Uint8Array => small.subarray(f, f + l);
  assert.throws(() => bootImagePatches(img, 16, read, { bootInfoTable: false, grub2BootInfo: true, path: 'iso9660.boot.bios' }),
    (e: unknown) => e instanceof DiskwrightError && e.code === 'E_BOOT_IMAGE' && e.path === 'iso9660.boot.bios' && /2556/.test(e.message));
  assert.throws(() => bootImagePatches({ ...img, size: 40 }, 16, read, { bootInfoTable: true, grub2BootInfo: false, path: 'iso9660.boot.bios' }),
    (e: unknown) => e instanceof DiskwrightError && e.code === 'E_BOOT_IMAGE' && /64 bytes/.test(e.message));
  assert.deepEqual(bootImagePatches(img, 16, read, { bootInfoTable: false, grub2BootInfo: false }), []);
});
