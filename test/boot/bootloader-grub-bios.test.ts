/**
 * GRUB for BIOS declared in the spec (issue 10): boot.img and core.img embedded by diskwright, and
 * core.img assembled by it, judged by
 * - the recipe's grub-bios-embed.sh (ported to test/boot; grub-install's embedding done by hand,
 *   byte-exact): run on a copy of our image whose boot code and embedding area were zeroed, it
 *   must give our image back byte for byte — in the MBR gap (prebuilt core-msdos1.img) and in the
 *   BIOS boot partition of a hybrid table (core-gpt2.img);
 * - grub-mkimage itself (the payload's extracted one) on the same directory, prefix and modules:
 *   the same decompressor, the same diskboot.img, and an LZMA stream that xz decodes to exactly
 *   grub-mkimage's uncompressed kernel and modules (the compressed bytes differ: another encoder);
 * - debugfs: the modules grub-install copies are in the prefix's /boot/grub/i386-pc, byte for byte;
 * - boots under QEMU (test/boot/boot-check.sh): NixOS `legacy` with the prebuilt core and with the
 *   assembled one, and `legacy+gpt`, under SeaBIOS; and examples/hybrid-bios-uefi.yaml under SeaBIOS and under OVMF
 *   from the same file, each reaching GRUB, the kernel and the marker file on the ext4 root.
 * Boots run one at a time, 15-60 s each under TCG.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DiskwrightError } from '../../src/errors.js';
import { resolveSpec } from '../../src/spec/validate.js';
import { ROOT } from '../helpers/disk.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { bootCheck, BOOT_DIR, buildExample, buildYaml, bytesAt, extract, grubPcDir, parts, payload } from './bootloader-helpers.js';

const tmp = tempDir('dw-boot-grub-');
after(() => tmp.cleanup());
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** An example with its grub-bios block replaced (the prebuilt-core variants of the tests). */
function variant(example: string, grub: string): string {
  const text = readFileSync(join(ROOT, 'examples', example), 'utf8');
  return text.slice(0, text.indexOf('bootloader:')) + `bootloader:\n  grub-bios:\n${grub}`;
}
const PREBUILT_LEGACY = variant('legacy-grub.yaml', '    boot: payload/i386-pc/boot.img\n    directory: payload/i386-pc/modules\n    core: payload/i386-pc/core-msdos1.img\n    prefix: "(hd0,msdos1)/boot/grub"\n');
const PREBUILT_HYBRID = variant('hybrid-bios-uefi.yaml', '    boot: payload/i386-pc/boot.img\n    core: payload/i386-pc/core-gpt2.img\n');

const images = new Map<string, string>();
function image(key: string, make: () => string): string {
  let img = images.get(key);
  if (!img) { img = make(); images.set(key, img); }
  return img;
}
const fromYaml = (key: string, yaml: string) => (): string => {
  const out = join(tmp.dir, `${key}.img`);
  const r = buildYaml(yaml, join(tmp.dir, key), out);
  assert.equal(r.status, 0, r.stderr);
  return out;
};
/** NixOS `legacy+gpt`: a GPT with the fixed BIOS boot partition at 1 MB, root as partition 2. */
const LEGACY_GPT = variant('legacy-grub.yaml', '    directory: payload/grub-i386-pc\n    prefix: "(hd0,gpt2)/boot/grub"\n    load: [biosdisk, part_gpt, ext2]\n').replace('layout: legacy\n', 'layout: legacy+gpt\n');
const legacyGpt = (): string => image('legacy-gpt', fromYaml('legacy-gpt', LEGACY_GPT));
const legacyPrebuilt = (): string => image('legacy-prebuilt', fromYaml('legacy-prebuilt', PREBUILT_LEGACY));
const hybridPrebuilt = (): string => image('hybrid-prebuilt', fromYaml('hybrid-prebuilt', PREBUILT_HYBRID));
const legacyAssembled = (): string => image('legacy', () => buildExample('legacy-grub.yaml', join(tmp.dir, 'legacy')));
const hybridAssembled = (): string => image('hybrid', () => buildExample('hybrid-bios-uefi.yaml', join(tmp.dir, 'hybrid')));

/**
 * grub-bios-embed.sh's result on a copy of `img` whose boot code (sector 0 up to 0x1b8) and
 * embedding area were zeroed: what grub-install writes for the same core image.
 */
function reference(img: string, core: string, lba: number, sectors: number): Buffer {
  const ref = join(tmp.dir, 'reference.img');
  copyFileSync(img, ref);
  const buf = readFileSync(ref);
  buf.fill(0, 0, 0x1b8);
  buf.fill(0, lba * 512, (lba + sectors) * 512);
  writeFileSync(ref, buf);
  runOk('bash', [join(BOOT_DIR, 'grub-bios-embed.sh'), ref, join(payload(), 'i386-pc/boot.img'), core, String(lba), String(sectors)]);
  return readFileSync(ref);
}

test('grub-bios: the embedding is byte for byte grub-bios-embed.sh\'s, in the MBR gap and in a BIOS boot partition', () => {
  const p = payload();
  const legacy = legacyPrebuilt();
  assert.equal(run('sfdisk', ['--verify', legacy]).status, 0);
  assert.equal(parts(legacy)[0]!.start, 2048);
  const ours = readFileSync(legacy);
  assert.ok(ours.equals(reference(legacy, join(p, 'i386-pc/core-msdos1.img'), 1, 2047)), 'MBR gap: our image differs from grub-bios-embed.sh on it');
  // The fields themselves, for the record: kernel_sector 1, boot_drive 0xff, the nop'd jump, the blocklist.
  assert.equal(ours.readBigUInt64LE(0x5c), 1n);
  assert.deepEqual([...ours.subarray(0x64, 0x68)], [0xff, ours[0x65]!, 0x90, 0x90]);
  assert.equal(ours.readBigUInt64LE(512 + 0x1f4), 2n);

  const hybrid = hybridPrebuilt();
  assert.match(runOk('sgdisk', ['-v', hybrid]), /No problems found/);
  const bios = parts(hybrid)[0]!;
  assert.equal(bios.type, '21686148-6449-6E6F-744E-656564454649');
  const h = readFileSync(hybrid);
  assert.ok(h.equals(reference(hybrid, join(p, 'i386-pc/core-gpt2.img'), bios.start, bios.size)), 'BIOS boot partition: our image differs from grub-bios-embed.sh on it');
  assert.equal(h.readBigUInt64LE(0x5c), BigInt(bios.start));
  // The hybrid MBR stays: its 0xEE entry and the mirrored root and ESP.
  assert.deepEqual([h[0x1be + 4], h[0x1ce + 4], h[0x1de + 4]], [0xee, 0x83, 0xef]);
});

/** A core.img's parts: diskboot.img, lzma_decompress.img (sizes at 0x08/0x0c) and the LZMA stream, decoded by xz. */
function coreParts(core: Buffer, decompressorSize: number): { diskboot: Buffer; decompressor: Buffer; uncompressed: Buffer } {
  const comp = core.readUInt32LE(512 + 8), unc = core.readUInt32LE(512 + 12);
  const header = Buffer.alloc(13);
  header[0] = 0x5d; // lc=3, lp=0, pb=2
  header.writeUInt32LE(1 << 16, 1);
  header.writeBigUInt64LE(BigInt(unc), 5);
  const stream = core.subarray(512 + decompressorSize, 512 + decompressorSize + comp);
  const r = run('sh', ['-c', 'xz -d --format=lzma -c'], { input: Buffer.concat([header, stream]) });
  assert.equal(r.status, 0, r.stderr);
  const decompressor = Buffer.from(core.subarray(512, 512 + decompressorSize));
  decompressor.fill(0, 8, 16);
  return { diskboot: core.subarray(0, 512), decompressor, uncompressed: Buffer.from(r.stdout, 'latin1') };
}

test('grub-mkimage: our core.img decodes to grub-mkimage\'s kernel, modules and prefix; the modules are copied', () => {
  const dir = grubPcDir();
  const decompressorSize = readFileSync(join(dir, 'lzma_decompress.img')).length;
  for (const [img, prefix, mods, partIndex] of [
    [legacyAssembled(), '(hd0,msdos1)/boot/grub', ['biosdisk', 'part_msdos', 'ext2'], 0],
    [hybridAssembled(), '(hd0,gpt2)/boot/grub', ['biosdisk', 'part_gpt', 'ext2'], 1],
  ] as const) {
    const table = parts(img);
    const lba = partIndex === 0 ? 1 : table[0]!.start;
    const sectors = bytesAt(img, lba * 512, 512).readUInt16LE(0x1fc) + 1;
    const ours = bytesAt(img, lba * 512, sectors * 512);
    const refFile = join(tmp.dir, 'mkimage-core.img');
    runOk(join(payload(), 'tools/grub-mkimage'), ['-d', dir, '-O', 'i386-pc', '-p', prefix, '-o', refFile, ...mods]);
    const ref = readFileSync(refFile);
    const a = coreParts(ours, decompressorSize), b = coreParts(ref, decompressorSize);
    assert.ok(a.uncompressed.length > 30000);
    assert.ok(a.uncompressed.equals(b.uncompressed), `${prefix}: the decoded kernel, modules and prefix differ from grub-mkimage's`);
    assert.ok(a.decompressor.equals(b.decompressor), 'lzma_decompress.img (but its two size fields)');
    // diskboot.img: grub-mkimage's blocklist says its length; ours says where it was embedded too.
    const d = Buffer.from(a.diskboot), e = Buffer.from(b.diskboot);
    d.fill(0, 0x1e8, 0x200); e.fill(0, 0x1e8, 0x200);
    assert.ok(d.equals(e), 'diskboot.img');
    assert.equal(ours.readUInt16LE(0x1fc), sectors - 1);
    assert.equal(ours.readBigUInt64LE(0x1f4), BigInt(lba + 1));
    assert.ok(Buffer.from(a.uncompressed).includes(Buffer.from(`${prefix}\0`)), 'the prefix is built in');

    // grub-install's copy of the modules: every *.mod and *.lst, byte for byte, in the prefix's filesystem.
    const root = table[partIndex === 0 ? 0 : 1]!;
    const fs = extract(img, root.offset, root.bytes, join(tmp.dir, 'root.img'));
    const out = join(tmp.dir, `rdump-${partIndex}`);
    runOk('mkdir', ['-p', out]);
    runOk('debugfs', ['-R', `rdump /boot/grub/i386-pc ${out}`, fs]);
    const want = readdirSync(dir).filter((f) => /\.(mod|lst)$/.test(f)).sort();
    assert.deepEqual(readdirSync(join(out, 'i386-pc')).sort(), want);
    for (const f of want) assert.equal(sha(readFileSync(join(out, 'i386-pc', f))), sha(readFileSync(join(dir, f))), f);
    assert.equal(run('e2fsck', ['-fn', fs]).status, 0);
  }
  // Determinism: the same spec gives the same bytes (core.img's LZMA stream included).
  const again = buildExample('legacy-grub.yaml', join(tmp.dir, 'legacy-again'));
  assert.equal(sha(readFileSync(again)), sha(readFileSync(legacyAssembled())));
});

const boot = (img: string, fw: 'bios' | 'uefi', token: string, rootDev: string, marker: string, run: string): void => {
  const r = bootCheck(img, [`--${fw}`, '--timeout', '90', '--strict', '--expect', 'DISKIMAGE-GRUB-OK',
    '--expect', `DISKIMAGE-BOOT-OK ${token}`, '--expect', `DISKIMAGE-ROOT dev=${rootDev} fstype=ext4`, '--expect', `DISKIMAGE-FILE ${marker}`], join(tmp.dir, run));
  process.stdout.write(r.out.split('\n').filter((l) => /^(PASS|FAIL|WARN)/.test(l)).join('\n') + '\n');
  assert.ok(r.ok, r.out);
};

test('grub-bios boots: NixOS legacy (MBR) with the prebuilt core.img, under SeaBIOS', { timeout: 300_000 }, () => {
  boot(legacyPrebuilt(), 'bios', 'legacy-grub', '/dev/vda1', 'DISKWRIGHT-LEGACY-GRUB', 'run-legacy-prebuilt');
});

test('grub-bios boots: NixOS legacy (MBR) with the core.img diskwright assembled, under SeaBIOS', { timeout: 300_000 }, () => {
  boot(legacyAssembled(), 'bios', 'legacy-grub', '/dev/vda1', 'DISKWRIGHT-LEGACY-GRUB', 'run-legacy');
});

test('grub-bios boots: NixOS legacy+gpt (core.img in its BIOS boot partition), under SeaBIOS', { timeout: 300_000 }, () => {
  const img = legacyGpt();
  assert.match(runOk('sgdisk', ['-v', img]), /No problems found/);
  assert.equal(parts(img)[0]!.type, '21686148-6449-6E6F-744E-656564454649');
  boot(img, 'bios', 'legacy-grub', '/dev/vda2', 'DISKWRIGHT-LEGACY-GRUB', 'run-legacy-gpt');
});

test('grub-bios boots: the hybrid table boots by SeaBIOS (GRUB from the BIOS boot partition) and by OVMF (the ESP), one file', { timeout: 400_000 }, () => {
  const img = hybridAssembled();
  boot(img, 'bios', 'hybrid-pc', '/dev/vda2', 'DISKWRIGHT-HYBRID-ROOT', 'run-hybrid-bios');
  boot(img, 'uefi', 'hybrid-efi', '/dev/vda2', 'DISKWRIGHT-HYBRID-ROOT', 'run-hybrid-uefi');
});

const codeOf = (spec: Record<string, unknown>): string => {
  try { resolveSpec(spec, { baseDir: payload(), env: {} }); } catch (e) { return e instanceof DiskwrightError ? `${e.code} ${e.path}` : String(e); }
  return 'ok';
};

test('grub-bios: errors name the spec path', async () => {
  const grub = (table: string, partitions: unknown[], g: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    table, partitions, bootloader: { 'grub-bios': { boot: 'i386-pc/boot.img', core: 'i386-pc/core-msdos1.img', ...g } }, ...extra,
  });
  const root = { name: 'root', filesystem: 'ext4' };
  assert.equal(codeOf(grub('mbr', [root])), 'ok');
  assert.equal(codeOf(grub('none', [root])), 'E_BOOT_TABLE bootloader.grub-bios');
  assert.equal(codeOf(grub('gpt', [root])), 'E_GRUB_NO_BIOS_BOOT bootloader.grub-bios');
  assert.equal(codeOf(grub('gpt', [{ name: 'b', type: 'bios-boot', filesystem: 'vfat' }, root])), 'E_BOOT_TARGET partitions[0].filesystem');
  assert.equal(codeOf(grub('mbr', [root], {}, { raw: [{ source: 'i386-pc/boot.img', offset: 0 }] })), 'E_OVERLAP raw[0].offset');
  assert.equal(codeOf(grub('mbr', [root], { core: undefined })), 'E_MISSING bootloader.grub-bios.core');
  assert.equal(codeOf(grub('mbr', [root], { core: undefined, directory: 'i386-pc/modules' })), 'E_MISSING bootloader.grub-bios.prefix');
  assert.equal(codeOf(grub('mbr', [root], { core: undefined, directory: 'i386-pc/modules', prefix: '(hd0,msdos1)/boot/grub', load: ['ext2'] })), 'E_SOURCE bootloader.grub-bios.directory', 'no kernel.img there');
  assert.equal(codeOf(grub('mbr', [root], { directory: 'i386-pc/modules', prefix: '(hd0,gpt1)/boot/grub' })), 'E_GRUB_PREFIX bootloader.grub-bios.prefix');
  assert.equal(codeOf(grub('mbr', [root], { directory: 'i386-pc/modules', prefix: '(hd0,msdos2)/boot/grub' })), 'E_GRUB_PREFIX bootloader.grub-bios.prefix');
  assert.equal(codeOf(grub('mbr', [root], { directory: 'i386-pc/modules', prefix: '/boot/grub' })), 'E_GRUB_PREFIX bootloader.grub-bios.prefix');
  assert.equal(codeOf(grub('mbr', [{ name: 'x', size: '1MiB' }], { directory: 'i386-pc/modules', prefix: '(hd0,msdos1)/boot/grub' })), 'E_BOOT_TARGET bootloader.grub-bios.prefix');
  assert.equal(codeOf(grub('mbr', [root], { directory: 'i386-pc/modules', prefix: '/boot/grub', modules: false })), 'ok');
  assert.equal(codeOf(grub('mbr', [root], { boot: 'nope.img' })), 'E_SOURCE bootloader.grub-bios.boot');
  const d = grubPcDir();
  assert.equal(codeOf(grub('mbr', [root], { core: undefined, boot: undefined, directory: d, prefix: '(hd0,msdos1)/boot/grub', load: ['ext2', 'nope'] })), 'E_SOURCE bootloader.grub-bios.load[1]');

  // After the layout: a core.img that does not fit the gap before a partition placed at 16 KiB.
  const dir = join(tmp.dir, 'small-gap');
  const r = buildYaml('table: mbr\npartitions: [{ name: root, type: linux, offset: 16KiB, size: 1MiB }]\nbootloader:\n  grub-bios: { boot: payload/i386-pc/boot.img, core: payload/i386-pc/core-msdos1.img }\n', dir, join(dir, 'x.img'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /E_GRUB_CORE_SIZE: bootloader\.grub-bios\.core: core\.img needs \d+ sectors .* holds 31/);
  // A raw blob (a U-Boot SPL) in the MBR gap where core.img goes.
  const r2 = buildYaml('table: mbr\npartitions: [{ name: root, type: linux, size: 1MiB }]\nraw: [{ source: payload/i386-pc/boot.img, offset: 8KiB }]\nbootloader:\n  grub-bios: { boot: payload/i386-pc/boot.img, core: payload/i386-pc/core-msdos1.img }\n', dir, join(dir, 'x.img'));
  assert.match(r2.stderr, /E_OVERLAP: raw\[0\]\.offset/);
  // Not a core.img (a kernel) where one is given.
  const r3 = buildYaml('table: mbr\npartitions: [{ name: root, type: linux, size: 1MiB }]\nbootloader:\n  grub-bios: { boot: payload/i386-pc/boot.img, core: payload/i386-pc/boot_hybrid.img }\n', dir, join(dir, 'x.img'));
  assert.match(r3.stderr, /E_BOOT_FILE: bootloader\.grub-bios\.core/);
});
