/**
 * The hybrid live ISO (issue 16, items 4 and 5): examples/live-iso.yaml built by our CLI — ISO 9660
 * with El Torito BIOS (GRUB's eltorito.img, boot info table, GRUB 2 boot info) and EFI (a FAT image
 * built by the same run) entries, GRUB's boot_hybrid.img as MBR code and a GPT whose ESP is the EFI
 * image — judged by:
 * - `xorriso -report_el_torito plain -report_system_area plain`, field by field against xorriso's ISO
 *   of the same tree and options (`--grub2-mbr ... -efi-boot-part --efi-boot-image`), `sgdisk -v`,
 *   the ESP read by mtools at its partition offset;
 * - four boots with QEMU (test/boot/boot-check.sh): CD by BIOS (SeaBIOS) and by UEFI (OVMF), the
 *   same file as a disk (USB stick) by BIOS and by UEFI, each reaching GRUB on the expected device,
 *   the kernel, the initramfs and the marker file read from the ISO 9660 filesystem;
 * - the USB UEFI boot again with the El Torito EFI entry removed, so only the GPT ESP can be used
 *   (OVMF also boots El Torito from disks), and a negative control without that ESP either;
 * - the appended-ESP layout (ESP after the ISO as GPT partition 2) booted as a USB stick by UEFI.
 * Boots run one at a time, each 15-45 s under TCG.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cli, ROOT } from '../helpers/disk.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { bootCheck, ensureIsoPayload } from './iso-payload.js';

const tmp = tempDir('dw-iso-boot-');
// mtools reads a FAT at an offset inside the image; its geometry checks do not apply there.
process.env.MTOOLS_SKIP_CHECK = '1';
after(() => tmp.cleanup());
const MARKER = 'DISKWRIGHT-LIVE-ISO';
const LABEL = 'DISKWRIGHT_LIVE';
const ESP_TYPE = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';

let built: { iso: string; payload: string } | undefined;
/** Build examples/live-iso.yaml with the CLI, from a copy beside a `payload` link (once). */
function liveIso(): { iso: string; payload: string } {
  if (built) return built;
  const payload = ensureIsoPayload();
  const dir = join(tmp.dir, 'spec');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(ROOT, 'examples/live-iso.yaml'), join(dir, 'live-iso.yaml'));
  symlinkSync(payload, join(dir, 'payload'));
  const iso = join(tmp.dir, 'live.iso');
  // From another directory: the spec's relative paths (payload/..., hybrid.mbr) resolve against its folder.
  const r = cli(['build', join(dir, 'live-iso.yaml'), '-o', iso, '-q'], { cwd: tmp.dir });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  built = { iso, payload };
  return built;
}

function report(iso: string): string[] {
  return runOk('xorriso', ['-indev', iso, '-report_el_torito', 'plain', '-report_system_area', 'plain']).split('\n').filter((l) => l.trim() !== '');
}

/** First 2048-byte block of a file in the ISO, as xorriso reads the directory tree. */
function fileLba(iso: string, path: string): number {
  const out = runOk('xorriso', ['-indev', iso, '-find', path, '-exec', 'report_lba', '--']);
  const m = /^File data lba:\s+\d+\s*,\s*(\d+)\s*,/m.exec(out);
  assert.ok(m, `no LBA for ${path}:\n${out}`);
  return Number(m[1]);
}

/**
 * What must agree between two reports of different ISOs: every field but block numbers and sizes
 * (the two ISOs lay files out differently), disk and partition GUIDs (ours derive from the seed)
 * and what xorriso infers from the CHS geometry of the MBR entries (see test/iso9660/hybrid.test.ts).
 */
function shape(lines: string[]): string[] {
  // "partition path" names a file that starts where a partition starts: the ESP's is asserted
  // below; a Gap partition's depends on which file follows the EFI image.
  return lines.filter((l) => !/disk GUID|partition GUID|heads per cyl|secs per head|^System area options|^ISO image size|^El Torito catalog  :|partition path :/.test(l)).map((l) => {
    l = l.replace(/ cyl-align-\w+/, '');
    l = l.replace(/^(El Torito boot img :(?:\s+\S+){7})\s+\d+$/, '$1 LBA'); // the LBA column
    l = l.replace(/^(GPT start and size :\s+\d+)\s+\d+\s+\d+$/, '$1 START SIZE');
    l = l.replace(/^(GPT lba range\s+:)\s+\d+\s+\d+\s+\d+$/, '$1 RANGE');
    l = l.replace(/^(MBR partition\s+:\s+\d+\s+\S+\s+\S+)\s+\d+\s+\d+$/, '$1 START BLOCKS');
    return l;
  });
}

test('live ISO: El Torito and system area read by xorriso as those of xorriso\'s own ISO of the same tree', { timeout: 300_000 }, () => {
  const { iso, payload } = liveIso();
  const ours = report(iso);
  // xorriso's ISO of the same tree: the payload files, our grub.cfg, marker and EFI image.
  const tree = join(tmp.dir, 'tree');
  mkdirSync(join(tree, 'boot/grub/i386-pc'), { recursive: true });
  mkdirSync(join(tree, 'etc'), { recursive: true });
  copyFileSync(join(payload, 'vmlinuz'), join(tree, 'boot/vmlinuz'));
  copyFileSync(join(payload, 'initrd.img'), join(tree, 'boot/initrd.img'));
  cpSync(join(payload, 'i386-pc/modules'), join(tree, 'boot/grub/i386-pc'), { recursive: true });
  copyFileSync(join(payload, 'i386-pc/eltorito.img'), join(tree, 'boot/grub/i386-pc/eltorito.img'));
  writeFileSync(join(tree, 'etc/diskimage-marker'), `${MARKER}\n`);
  for (const f of ['/boot/grub/grub.cfg', '/boot/grub/efiboot.img']) runOk('osirrox', ['-indev', iso, '-extract', f, join(tree, f)]);
  const theirsIso = join(tmp.dir, 'xorriso.iso');
  runOk('xorriso', ['-as', 'mkisofs', '-R', '-J', '-V', LABEL, '-c', 'boot/grub/boot.cat',
    '-b', 'boot/grub/i386-pc/eltorito.img', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table', '--grub2-boot-info',
    '--grub2-mbr', join(payload, 'i386-pc/boot_hybrid.img'),
    '-eltorito-alt-boot', '-e', 'boot/grub/efiboot.img', '-no-emul-boot', '-efi-boot-part', '--efi-boot-image',
    '-o', theirsIso, tree]);
  const theirs = report(theirsIso);
  assert.deepEqual(shape(ours), shape(theirs));
  // xorriso names the files the catalog and the ESP entry point at, and finds both patches applied.
  assert.ok(ours.includes('El Torito img opts :   1  boot-info-table grub2-boot-info'), ours.join('\n'));
  assert.ok(ours.includes('El Torito img path :   2  /boot/grub/efiboot.img'), ours.join('\n'));
  assert.ok(ours.includes('GPT partition path :   2  /boot/grub/efiboot.img'), ours.join('\n'));
  assert.match(ours.join('\n'), /System area summary: MBR protective-msdos-label grub2-mbr .*GPT/);
  // The numbers: the MBR code points at the BIOS image's diskboot.img, the ESP entry is the EFI image.
  const biosLba = fileLba(iso, '/boot/grub/i386-pc/eltorito.img');
  const efiLba = fileLba(iso, '/boot/grub/efiboot.img');
  const head = readFileSync(iso).subarray(0, 512);
  assert.equal(head.readBigUInt64LE(0x1b0), BigInt(biosLba * 4 + 4));
  const code = readFileSync(join(payload, 'i386-pc/boot_hybrid.img'));
  assert.equal(Buffer.compare(head.subarray(0, 0x1b0), code.subarray(0, 0x1b0)), 0, 'boot_hybrid.img code');
  assert.match(runOk('sgdisk', ['-v', iso]), /No problems found/);
  const table = JSON.parse(runOk('sfdisk', ['--json', iso])) as { partitiontable: { partitions: { start: number; size: number; type: string }[] } };
  const esp = table.partitiontable.partitions.find((p) => p.type === ESP_TYPE);
  assert.ok(esp, 'an ESP partition');
  assert.equal(esp.start, efiLba * 4);
  const efiSize = statSync(join(tree, 'boot/grub/efiboot.img')).size;
  assert.equal(esp.size, Math.ceil(efiSize / 2048) * 4);
  const mdir = run('mdir', ['-i', `${iso}@@${esp.start * 512}`, '::/EFI/BOOT/BOOTX64.EFI']);
  assert.equal(mdir.status, 0, mdir.stdout + mdir.stderr);
  assert.equal(statSync(iso).size % 2048, 0);
});

/** Boot and require GRUB on `root`, the kernel, the initramfs and the marker from the ISO 9660 fs. */
function boot(iso: string, name: string, fw: 'bios' | 'uefi', cdrom: boolean, root: string): void {
  const platform = fw === 'bios' ? 'pc' : 'efi';
  const args = [`--${fw}`, ...(cdrom ? ['--cdrom'] : []), '--timeout', '90', '--strict',
    '--expect', `DISKIMAGE-GRUB-OK platform=${platform} root=${root}`,
    '--expect', `DISKIMAGE-BOOT-OK live-iso-${platform}`, '--expect', `DISKIMAGE-FIRMWARE ${fw}`,
    '--expect', 'fstype=iso9660', '--expect', `DISKIMAGE-FILE ${MARKER}`, '--expect', 'DISKIMAGE-SQUASHFS-FILE DISKWRIGHT-LIVE-SQUASHFS'];
  const r = bootCheck(iso, args, join(tmp.dir, `run-${name}`));
  process.stdout.write(r.out.split('\n').filter((l) => /^(PASS|FAIL|WARN)/.test(l)).join('\n') + '\n');
  assert.ok(r.ok, r.out);
}

// GRUB's $root names the device it booted from: SeaBIOS' El Torito drive (hd96 = 0xE0), OVMF's CD
// (cd0), or the whole disk (hd0) when boot_hybrid.img / the GPT ESP started it.
test('live ISO boots as a CD by BIOS (El Torito, boot info table)', { timeout: 300_000 }, () => boot(liveIso().iso, 'cd-bios', 'bios', true, 'hd96'));
test('live ISO boots as a CD by UEFI (El Torito EFI image)', { timeout: 300_000 }, () => boot(liveIso().iso, 'cd-uefi', 'uefi', true, 'cd0'));
test('live ISO boots as a USB stick by BIOS (boot_hybrid.img, GRUB 2 boot info)', { timeout: 300_000 }, () => boot(liveIso().iso, 'usb-bios', 'bios', false, 'hd0'));
test('live ISO boots as a USB stick by UEFI', { timeout: 300_000 }, () => boot(liveIso().iso, 'usb-uefi', 'uefi', false, 'hd0'));

/**
 * A copy of the ISO with the catalog's EFI section (entries 3 and 4) zeroed, and optionally the GPT
 * ESP entry deleted (OVMF loads \EFI\BOOT\BOOTX64.EFI from a FAT in any partition, whatever its type).
 */
function withoutEltoritoEfi(iso: string, name: string, dropEsp: boolean): string {
  const out = join(tmp.dir, name);
  copyFileSync(iso, out);
  const catalogLba = Number(/El Torito catalog\s+:\s+(\d+)/.exec(runOk('xorriso', ['-indev', iso, '-report_el_torito', 'plain']))![1]);
  const fd = openSync(out, 'r+');
  try {
    writeSync(fd, new Uint8Array(64), 0, 64, catalogLba * 2048 + 64);
  } finally {
    closeSync(fd);
  }
  if (dropEsp) runOk('sgdisk', ['-d', '2', out]);
  const torito = runOk('xorriso', ['-indev', out, '-report_el_torito', 'plain']);
  assert.doesNotMatch(torito, /UEFI/);
  return out;
}

test('live ISO boots by UEFI as a USB stick from the GPT ESP alone; without it, it does not (negative control)', { timeout: 300_000 }, () => {
  const { iso } = liveIso();
  boot(withoutEltoritoEfi(iso, 'esp-only.iso', false), 'usb-uefi-esp-only', 'uefi', false, 'hd0');
  const neg = bootCheck(withoutEltoritoEfi(iso, 'no-efi.iso', true), ['--uefi', '--timeout', '60', '--expect', `DISKIMAGE-FILE ${MARKER}`], join(tmp.dir, 'run-neg'));
  assert.ok(!neg.ok, 'an ISO with neither an El Torito EFI entry nor an ESP must not boot by UEFI');
  assert.match(neg.out, /UEFI Interactive Shell|Not Found/);
});

test('live ISO with the ESP appended after the ISO as GPT partition 2 boots as a USB stick by UEFI', { timeout: 300_000 }, () => {
  const { payload } = liveIso();
  const dir = join(tmp.dir, 'appended');
  mkdirSync(dir, { recursive: true });
  symlinkSync(payload, join(dir, 'payload'));
  const spec = parse(readFileSync(join(ROOT, 'examples/live-iso.yaml'), 'utf8')) as { partitions: { iso9660: { hybrid: Record<string, unknown> } }[] };
  spec.partitions[0]!.iso9660.hybrid.appendedEsp = true;
  writeFileSync(join(dir, 'appended.json'), JSON.stringify(spec));
  const iso = join(tmp.dir, 'appended.iso');
  const r = cli(['build', 'appended.json', '-o', iso, '-q'], { cwd: dir });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const rep = report(iso).join('\n');
  assert.match(rep, /GPT partname local :\s+2\s+Appended2/);
  assert.match(runOk('sgdisk', ['-v', iso]), /No problems found/);
  const table = JSON.parse(runOk('sfdisk', ['--json', iso])) as { partitiontable: { partitions: { start: number; size: number; type: string }[] } };
  const esp = table.partitiontable.partitions[1]!;
  assert.equal(esp.type, ESP_TYPE);
  const volumeBlocks = Number(/Volume size is: (\d+)/.exec(runOk('isoinfo', ['-d', '-i', iso]))![1]);
  assert.ok(esp.start >= volumeBlocks * 4, `the ESP (LBA ${esp.start}) lies after the ISO (${volumeBlocks} blocks)`);
  // The El Torito EFI entry points at the appended partition.
  const efi = /El Torito boot img :\s+2\s+UEFI\s+y\s+none\s+\S+\s+\S+\s+\d+\s+(\d+)/.exec(rep);
  assert.ok(efi, rep);
  assert.equal(Number(efi[1]) * 4, esp.start);
  const mdir = run('mdir', ['-i', `${iso}@@${esp.start * 512}`, '::/EFI/BOOT/BOOTX64.EFI']);
  assert.equal(mdir.status, 0, mdir.stdout + mdir.stderr);
  boot(iso, 'appended-usb-uefi', 'uefi', false, 'hd0');
});
