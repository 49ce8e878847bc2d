/**
 * systemd-boot declared in the spec (issue 10): examples/efi-systemd-boot.yaml built by our CLI.
 * - The ESP as mtools and fsck.fat read it: the EFI binary (byte for byte) at \EFI\systemd\ and
 *   \EFI\BOOT\BOOTX64.EFI, loader.conf and the entry file with the root partition's GUID as sfdisk
 *   reads it, kernel and initrd byte for byte; /etc/fstab in the ext4 root (debugfs) with the ESP's
 *   volume id as blkid reads it; e2fsck and sfdisk --verify clean.
 * - The image boots under OVMF (test/boot/boot-check.sh): systemd-boot reads the generated entry,
 *   the kernel gets its options, and the initramfs finds the root by `PARTUUID=<the GUID>` and
 *   reads the marker file from it.
 * - An XBOOTLDR partition takes the entries and kernels; `removable: false` leaves \EFI\BOOT out;
 *   errors name their spec paths.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DiskwrightError } from '../../src/errors.js';
import { resolveSpec } from '../../src/spec/validate.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { bootCheck, buildExample, buildYaml, ext4File, extract, fatFile, fatPaths, parts, payload } from './bootloader-helpers.js';

const tmp = tempDir('dw-boot-sdboot-');
after(() => tmp.cleanup());
process.env.MTOOLS_SKIP_CHECK = '1';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let built: string | undefined;
const image = (): string => (built ??= buildExample('efi-systemd-boot.yaml', join(tmp.dir, 'ex')));

test('systemd-boot: the ESP holds the binary, loader.conf and the entry, with the ids the image carries', () => {
  const img = image();
  const p = payload();
  assert.equal(run('sfdisk', ['--verify', img]).status, 0);
  const [esp, root] = parts(img);
  assert.equal(esp!.type, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  runOk('fsck.fat', ['-n', extract(img, esp!.offset, esp!.bytes, join(tmp.dir, 'esp.img'))]);
  assert.deepEqual(fatPaths(img, esp!.offset), [
    '/EFI', '/EFI/BOOT', '/EFI/BOOT/BOOTX64.EFI', '/EFI/systemd', '/EFI/systemd/systemd-bootx64.efi',
    '/linux', '/linux/initrd.img', '/linux/vmlinuz', '/loader', '/loader/entries', '/loader/entries/linux.conf', '/loader/loader.conf',
  ]);
  const scratch = join(tmp.dir, 'f');
  const efi = sha(readFileSync(join(p, 'efi/systemd-bootx64.efi')));
  assert.equal(sha(fatFile(img, esp!.offset, '/EFI/BOOT/BOOTX64.EFI', scratch)), efi);
  assert.equal(sha(fatFile(img, esp!.offset, '/EFI/systemd/systemd-bootx64.efi', scratch)), efi);
  assert.equal(sha(fatFile(img, esp!.offset, '/linux/vmlinuz', scratch)), sha(readFileSync(join(p, 'vmlinuz'))));
  assert.equal(sha(fatFile(img, esp!.offset, '/linux/initrd.img', scratch)), sha(readFileSync(join(p, 'initrd.img'))));
  assert.equal(fatFile(img, esp!.offset, '/loader/loader.conf', scratch).toString(), 'timeout 0\ndefault linux.conf\n');
  const guid = root!.uuid!.toLowerCase();
  assert.equal(fatFile(img, esp!.offset, '/loader/entries/linux.conf', scratch).toString(), [
    'title Linux', 'linux /linux/vmlinuz', 'initrd /linux/initrd.img',
    `options root=PARTUUID=${guid} diskimage.root=PARTUUID=${guid} diskimage.token=efi-systemd-boot console=ttyS0,115200 panic=-1`, '',
  ].join('\n'));
  const volumeId = /^UUID=(.*)$/m.exec(runOk('blkid', ['-p', '-O', String(esp!.offset), '-o', 'export', img]))![1];
  assert.equal(ext4File(img, root!, '/etc/fstab', join(tmp.dir, 'root.img')), `PARTUUID=${guid} / ext4 defaults 0 1\nUUID=${volumeId} /boot vfat umask=0077 0 2\n`);
  assert.equal(run('e2fsck', ['-fn', join(tmp.dir, 'root.img')]).status, 0);
});

test('systemd-boot: the image boots under OVMF; the initramfs finds its root by the generated PARTUUID', { timeout: 300_000 }, () => {
  const img = image();
  const guid = parts(img)[1]!.uuid!.toLowerCase();
  const r = bootCheck(img, ['--uefi', '--timeout', '90', '--strict',
    '--expect', 'DISKIMAGE-BOOT-OK efi-systemd-boot', '--expect', 'DISKIMAGE-ROOT dev=/dev/vda2 fstype=ext4',
    '--expect', 'DISKIMAGE-FILE DISKWRIGHT-SYSTEMD-BOOT-ROOT'], join(tmp.dir, 'run'));
  process.stdout.write(r.out.split('\n').filter((l) => /^(PASS|FAIL|WARN)/.test(l)).join('\n') + '\n');
  assert.ok(r.ok, r.out);
  assert.match(r.serial, new RegExp(`Kernel command line: initrd=\\\\linux\\\\initrd\\.img root=PARTUUID=${guid} `));
});

test('systemd-boot: with an XBOOTLDR partition the entries and kernels go there; removable: false skips \\EFI\\BOOT', () => {
  const dir = join(tmp.dir, 'xbootldr');
  const out = join(dir, 'x.img');
  const r = buildYaml(`
table: gpt
partitions:
  - { name: ESP, type: esp, filesystem: vfat }
  - { name: boot, type: xbootldr, filesystem: vfat }
  - { name: root, filesystem: ext4 }
bootloader:
  systemd-boot:
    efi: payload/efi/systemd-bootx64.efi
    removable: false
    default: a
    editor: false
    entries:
      - { id: a, title: "Linux A", version: "6.1", linux: payload/vmlinuz, options: "root=PARTUUID=\${partuuid:root}" }
      - { title: "Linux B (fallback)", linux: payload/vmlinuz, initrd: [payload/initrd.img, payload/initrd.img] }
`, dir, out);
  assert.equal(r.status, 1, 'two initrds of one name in one entry collide');
  assert.match(r.stderr, /E_DUPLICATE_TARGET: bootloader\.systemd-boot\.entries\[1\]\.initrd\[1\]:/);
  const ok = buildYaml(readFileSync(join(dir, 'spec.yaml'), 'utf8').replace('initrd: [payload/initrd.img, payload/initrd.img]', 'initrd: [payload/initrd.img]'), dir, out);
  assert.equal(ok.status, 0, ok.stderr);
  const [esp, boot, root] = parts(out);
  assert.deepEqual(fatPaths(out, esp!.offset), ['/EFI', '/EFI/systemd', '/EFI/systemd/systemd-bootx64.efi', '/loader', '/loader/loader.conf']);
  assert.deepEqual(fatPaths(out, boot!.offset), [
    '/a', '/a/vmlinuz', '/linux-b-fallback', '/linux-b-fallback/initrd.img', '/linux-b-fallback/vmlinuz',
    '/loader', '/loader/entries', '/loader/entries/a.conf', '/loader/entries/linux-b-fallback.conf',
  ]);
  const scratch = join(dir, 'f');
  assert.equal(fatFile(out, esp!.offset, '/loader/loader.conf', scratch).toString(), 'default a.conf\neditor no\n');
  assert.equal(fatFile(out, boot!.offset, '/loader/entries/a.conf', scratch).toString(), `title Linux A\nversion 6.1\nlinux /a/vmlinuz\noptions root=PARTUUID=${root!.uuid!.toLowerCase()}\n`);
});

const codeOf = (bootloader: unknown, partitions: unknown = [{ name: 'ESP', type: 'esp', filesystem: 'vfat' }, { name: 'root', filesystem: 'ext4' }]): string => {
  try { resolveSpec({ table: 'gpt', partitions, bootloader }, { baseDir: payload(), env: {} }); } catch (e) { return e instanceof DiskwrightError ? `${e.code} ${e.path}` : String(e); }
  return 'ok';
};

test('systemd-boot: errors name the spec path', () => {
  const sd = (x: Record<string, unknown>): unknown => ({ 'systemd-boot': { efi: 'efi/systemd-bootx64.efi', ...x } });
  assert.equal(codeOf(sd({})), 'ok');
  assert.equal(codeOf(sd({ efi: 'efi/nope.efi' })), 'E_SOURCE bootloader.systemd-boot.efi');
  assert.equal(codeOf(sd({ efi: 'vmlinuz' })), 'ok', 'the kernel is a PE image too (EFI stub)');
  assert.equal(codeOf(sd({ efi: 'initrd.img' })), 'E_BOOT_FILE bootloader.systemd-boot.efi');
  assert.equal(codeOf(sd({ entries: [{ title: 'x', linux: 'nope' }] })), 'E_SOURCE bootloader.systemd-boot.entries[0].linux');
  assert.equal(codeOf(sd({ entries: [{ title: 'x', linux: 'vmlinuz', options: '${partuuid:nope}' }] })), 'E_REF bootloader.systemd-boot.entries[0].options');
  assert.equal(codeOf(sd({ entries: [{ title: 'x', linux: 'vmlinuz' }, { title: 'X', linux: 'vmlinuz' }] })), 'E_DUPLICATE bootloader.systemd-boot.entries[1].title');
  assert.equal(codeOf(sd({ entries: [{ title: 'a\nb', linux: 'vmlinuz' }] })), 'E_BOOT_CONFIG bootloader.systemd-boot.entries[0].title');
  assert.equal(codeOf(sd({ partition: 'root' })), 'ok');
  assert.equal(codeOf(sd({ partition: 'nope' })), 'E_BOOT_TARGET bootloader.systemd-boot.partition');
  assert.equal(codeOf(sd({}), [{ name: 'root', filesystem: 'ext4' }]), 'E_BOOT_TARGET bootloader.systemd-boot');
  assert.equal(codeOf(sd({}), [{ name: 'ESP', type: 'esp', size: '1MiB' }]), 'E_BOOT_TARGET bootloader.systemd-boot');
  assert.equal(codeOf({ 'systemd-boot': { efi: 'x', entries: [{ linux: 'vmlinuz' }] } }), 'E_MISSING bootloader.systemd-boot.entries[0].title');
  // A layout preset's ESP takes it (NixOS `efi`: its root is the partition named primary).
  const preset = resolveSpec({ layout: 'efi', bootloader: sd({ entries: [{ title: 'x', linux: 'vmlinuz', options: 'root=PARTUUID=${partuuid:primary}' }] }) }, { baseDir: payload(), env: {} });
  assert.deepEqual(preset.bootloader!.files.map((f) => f.partition), [0]);
  assert.ok(preset.bootloader!.files[0]!.entries.some((e) => e.text === 'title x\nlinux /x/vmlinuz\noptions root=PARTUUID=f222513b-ded1-49fa-b591-20ce86a2fe7f\n'));
});
