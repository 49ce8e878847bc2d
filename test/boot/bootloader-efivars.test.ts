/**
 * The EFI variable store declared in the spec (issue 10; NixOS's touchEFIVars): examples/efi-systemd-boot.yaml
 * with systemd-boot installed only at \EFI\systemd\ (no removable-media path) and `efiVars` made
 * from OVMF_VARS_4M.fd. Judged by OVMF itself: booted with our store as its variable flash it loads
 * `Boot0000 "Linux Boot Manager"` from HD(2, GPT, <the ESP's GUID as sfdisk reads it>, …)/\EFI\systemd\
 * systemd-bootx64.efi and reaches the marker file; the same image with the template's store has
 * nothing to boot (the control). The template is never changed; the store is the template's bytes
 * but for the two variables appended to its free space.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DiskwrightError } from '../../src/errors.js';
import { resolveSpec } from '../../src/spec/validate.js';
import { ROOT } from '../helpers/disk.js';
import { tempDir } from '../helpers/tools.js';
import { bootCheck, buildYaml, fatPaths, parts, payload } from './bootloader-helpers.js';

const tmp = tempDir('dw-boot-efivars-');
after(() => tmp.cleanup());
process.env.MTOOLS_SKIP_CHECK = '1';

const SPEC = readFileSync(join(ROOT, 'examples/efi-systemd-boot.yaml'), 'utf8')
  .replace('    timeout: 0\n', '    timeout: 0\n    removable: false\n')
  .replace('diskimage.token=efi-systemd-boot', 'diskimage.token=efi-vars')
  + '  efiVars:\n    template: payload/ovmf/OVMF_VARS_4M.fd\n';

let built: string | undefined;
const image = (): string => {
  if (!built) {
    const dir = join(tmp.dir, 'ex');
    const img = join(dir, 'efi-vars.img');
    const r = buildYaml(SPEC, dir, img);
    assert.equal(r.status, 0, r.stderr);
    built = img;
  }
  return built;
};

test('efiVars: the store is the template plus Boot0000 and BootOrder in its free space', () => {
  const img = image();
  const template = readFileSync(join(payload(), 'ovmf/OVMF_VARS_4M.fd'));
  const store = readFileSync(`${img}.vars.fd`);
  assert.equal(store.length, template.length);
  // The variables are the first in the (empty) template's store: after the firmware volume header (0x48) and the store header (0x1c).
  const start = 0x48 + 0x1c;
  const changed = [...store.keys()].filter((i) => store[i] !== template[i]);
  assert.ok(changed.length > 100 && changed[0]! >= start && changed.at(-1)! < start + 400, `changed bytes ${changed[0]}..${changed.at(-1)}`);
  assert.equal(store.readUInt16LE(start), 0x55aa);
  assert.equal(store.subarray(start + 60, start + 60 + 18).toString('utf16le'), 'Boot0000\0');
  const esp = parts(img)[0]!;
  // The ESP has no removable-media path: only the boot option can start systemd-boot.
  assert.ok(!fatPaths(img, esp.offset).includes('/EFI/BOOT/BOOTX64.EFI'));
  assert.ok(fatPaths(img, esp.offset).includes('/EFI/systemd/systemd-bootx64.efi'));
});

test('efiVars: OVMF with the store loads Boot0000 from the ESP by its GUID; with the template\'s store it finds nothing', { timeout: 400_000 }, () => {
  const img = image();
  const esp = parts(img)[0]!;
  const r = bootCheck(img, ['--uefi', '--timeout', '90', '--strict', '--ovmf-vars', `${img}.vars.fd`,
    '--expect', 'DISKIMAGE-BOOT-OK efi-vars', '--expect', 'DISKIMAGE-FILE DISKWRIGHT-SYSTEMD-BOOT-ROOT'], join(tmp.dir, 'run'));
  process.stdout.write(r.out.split('\n').filter((l) => /^(PASS|FAIL|WARN)/.test(l)).join('\n') + '\n');
  assert.ok(r.ok, r.out);
  const log = r.serial + readFileSync(join(tmp.dir, 'run', 'firmware-debug.log'), 'latin1');
  const line = /BdsDxe: loading Boot0000 "Linux Boot Manager" from (\S+)/.exec(log);
  assert.ok(line, `no Boot0000 line in:\n${log.split('\n').filter((l) => l.includes('BdsDxe')).join('\n')}`);
  assert.ok(line[1]!.toUpperCase().includes(`HD(1,GPT,${esp.uuid!},0x${esp.start.toString(16)},0x${esp.size.toString(16)})`.toUpperCase()), line[1]);
  assert.ok(line[1]!.endsWith('\\EFI\\systemd\\systemd-bootx64.efi'), line[1]);

  // The control: the template's empty store, and no removable-media path on the ESP.
  const c = bootCheck(img, ['--uefi', '--timeout', '60', '--expect', 'DISKIMAGE-BOOT-OK efi-vars'], join(tmp.dir, 'control'));
  assert.ok(!c.ok, 'booted without the boot option');
  assert.doesNotMatch(c.serial, /DISKIMAGE-BOOT-OK/);
});

const codeOf = (spec: Record<string, unknown>): string => {
  try { resolveSpec(spec, { baseDir: payload(), env: {} }); } catch (e) { return e instanceof DiskwrightError ? `${e.code} ${e.path}` : String(e); }
  return 'ok';
};

test('efiVars: errors name the spec path', () => {
  const v = (efiVars: Record<string, unknown>, table = 'gpt'): Record<string, unknown> =>
    ({ table, partitions: [{ name: 'ESP', type: 'esp', filesystem: 'vfat' }], bootloader: { efiVars: { template: 'ovmf/OVMF_VARS_4M.fd', ...efiVars } } });
  assert.equal(codeOf(v({})), 'ok');
  assert.equal(codeOf(v({}, 'mbr')), 'ok');
  assert.equal(codeOf(v({}, 'none')), 'E_BOOT_TABLE bootloader.efiVars');
  assert.equal(codeOf(v({ template: 'nope.fd' })), 'E_SOURCE bootloader.efiVars.template');
  assert.equal(codeOf(v({ output: '../x.fd' })), 'E_NAME bootloader.efiVars.output');
  assert.equal(codeOf(v({ loader: 'EFI/x.efi' })), 'E_BOOT_CONFIG bootloader.efiVars.loader');
  assert.equal(codeOf(v({ partition: 'nope' })), 'E_BOOT_TARGET bootloader.efiVars.partition');
});

test('efiVars: a template that is no variable store, and stdout as the output, are refused', () => {
  const dir = join(tmp.dir, 'bad');
  const r = buildYaml('table: gpt\npartitions: [{ name: ESP, type: esp, filesystem: vfat }]\nbootloader:\n  efiVars: { template: payload/vmlinuz }\n', dir, join(dir, 'x.img'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /E_EFIVARS_TEMPLATE: bootloader\.efiVars\.template/);
  const s = buildYaml('table: gpt\npartitions: [{ name: ESP, type: esp, filesystem: vfat }]\nbootloader:\n  efiVars: { template: payload/ovmf/OVMF_VARS_4M.fd }\n', dir, '-');
  assert.equal(s.status, 1);
  assert.match(s.stderr, /E_EFIVARS_OUTPUT/);
});
