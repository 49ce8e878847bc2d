import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { truncateSync, writeFileSync, closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../../src/build.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { sfdiskJson, withDevice, type SfdiskTable } from '../helpers/disk.js';
import { prng } from '../helpers/prng.js';
import { needsRoot } from '../helpers/root.js';

/**
 * The NixOS presets against make-disk-image.nix itself: the same parted + sgdisk commands it runs
 * (nixos/lib/make-disk-image.nix, partitionDiskScript with deterministic = true) on a blank file
 * of the same size; every partition start, end, type, name and GUID must match.
 */
const DISK_GUID_ARG = '97FD5997-D90B-4AA3-8D16-C1723AEA73C';
const P1 = '1C06F03B-704E-4657-B9CD-681A087A2FDC';
const P2 = '970C694F-AFD0-4B99-B750-CDB7A329AB6F';
const ROOT = 'F222513B-DED1-49FA-B591-20CE86A2FE7F';

function makeDiskImageNix(img: string, layout: string, bootSize: string): void {
  const parted = (...args: string[]): void => { runOk('parted', ['--script', img, '--', ...args]); };
  const sgdisk = (...guids: string[]): void => {
    runOk('sgdisk', [`--disk-guid=${DISK_GUID_ARG}`, ...guids.map((g, i) => `--partition-guid=${i + 1}:${g}`), img]);
  };
  switch (layout) {
    case 'legacy':
      parted('mklabel', 'msdos', 'mkpart', 'primary', 'ext4', '1MiB', '-1');
      break;
    case 'legacy+gpt':
      parted('mklabel', 'gpt', 'mkpart', 'no-fs', '1MB', '2MB', 'set', '1', 'bios_grub', 'on', 'align-check', 'optimal', '1', 'mkpart', 'primary', 'ext4', '2MB', '-1', 'align-check', 'optimal', '2', 'print');
      // make-disk-image also names a partition 3 here, which sgdisk cannot set on a 2-partition table
      runOk('sgdisk', [`--disk-guid=${DISK_GUID_ARG}`, `--partition-guid=1:${P1}`, `--partition-guid=2:${P2}`, img]);
      break;
    case 'efi':
      parted('mklabel', 'gpt', 'mkpart', 'ESP', 'fat32', '8MiB', bootSize, 'set', '1', 'boot', 'on', 'mkpart', 'primary', 'ext4', bootSize, '-1');
      sgdisk(P1, ROOT);
      break;
    case 'hybrid':
      parted('mklabel', 'gpt', 'mkpart', 'ESP', 'fat32', '8MiB', bootSize, 'set', '1', 'boot', 'on', 'mkpart', 'no-fs', '0', '1024KiB', 'set', '2', 'bios_grub', 'on', 'mkpart', 'primary', 'ext4', bootSize, '-1');
      sgdisk(P1, P2, ROOT);
      break;
  }
}

function compare(ours: SfdiskTable, theirs: SfdiskTable, what: string): void {
  assert.equal(ours.label, theirs.label, `${what}: label`);
  if (ours.label === 'gpt') assert.equal(ours.id, theirs.id, `${what}: disk GUID`);
  assert.equal(ours.partitions.length, theirs.partitions.length, `${what}: partition count`);
  ours.partitions.forEach((p, i) => {
    const q = theirs.partitions[i]!;
    assert.equal(p.start, q.start, `${what}: partition ${i + 1} start`);
    assert.equal(p.size, q.size, `${what}: partition ${i + 1} size`);
    assert.equal(p.type, q.type, `${what}: partition ${i + 1} type`);
    if (ours.label === 'gpt') {
      assert.equal(p.uuid, q.uuid, `${what}: partition ${i + 1} GUID`);
      assert.equal(p.name, q.name, `${what}: partition ${i + 1} name`);
    }
  });
}

const { dir, cleanup } = tempDir('dw-nixos-');
after(cleanup);
const rootImage = join(dir, 'root.img');
writeFileSync(rootImage, prng(0x1a7).bytes(5 * 1024 * 1024 + 1536));

const cases: { layout: string; size: number | 'auto'; bootSize?: string; sectorSize?: number }[] = [];
for (const size of [64 * 2 ** 20, 1000 * 2 ** 20, 100000256, 67 * 2 ** 20 + 512]) {
  cases.push({ layout: 'legacy', size }, { layout: 'legacy+gpt', size });
}
for (const [size, bootSize] of [[64 * 2 ** 20, '32M'], [64 * 2 ** 20, '32MiB'], [300 * 2 ** 20, '256M'], [4 * 2 ** 30, '1G'], [4 * 2 ** 30, '512MiB'], [2 ** 30 + 3 * 512, '256M']] as const) {
  cases.push({ layout: 'efi', size, bootSize }, { layout: 'hybrid', size, bootSize });
}
for (const layout of ['legacy', 'legacy+gpt', 'efi', 'hybrid']) cases.push({ layout, size: 'auto', bootSize: '256M' });
// 4096-byte sectors: parted and sgdisk run on a loop device with that logical sector size
for (const layout of ['legacy', 'legacy+gpt', 'efi', 'hybrid']) {
  cases.push({ layout, size: 300 * 2 ** 20, bootSize: '256M', sectorSize: 4096 }, { layout, size: 'auto', bootSize: '100MiB', sectorSize: 4096 });
}

for (const c of cases) {
  const ss = c.sectorSize ?? 512;
  test(`layout ${c.layout}, ${ss}-byte sectors, disk ${c.size}${c.bootSize ? `, bootSize ${c.bootSize}` : ''}: same table as make-disk-image's parted + sgdisk`, { skip: ss === 512 ? false : needsRoot('losetup -b 4096') }, async () => {
    const ours = join(dir, 'ours.img');
    const spec: Record<string, unknown> = {
      layout: c.layout, size: c.size, sectorSize: ss,
      root: c.size === 'auto' ? { filesystem: 'image', image: rootImage } : { filesystem: 'none' },
    };
    if (c.layout === 'efi' || c.layout === 'hybrid') {
      spec.bootSize = c.bootSize;
      spec.boot = { filesystem: 'none' };
    }
    const report = await buildImage(spec, { output: ours, baseDir: dir });
    const theirs = join(dir, 'theirs.img');
    closeSync(openSync(theirs, 'w'));
    truncateSync(theirs, report.size);
    let theirTable: SfdiskTable;
    if (ss === 512) {
      makeDiskImageNix(theirs, c.layout, c.bootSize ?? '256M');
      theirTable = sfdiskJson(theirs);
    } else {
      const dev = runOk('losetup', ['-f', '--show', '-b', String(ss), theirs]).trim();
      try {
        makeDiskImageNix(dev, c.layout, c.bootSize ?? '256M');
        theirTable = sfdiskJson(dev);
      } finally {
        run('losetup', ['-d', dev]);
      }
    }
    withDevice(ours, ss, (dev) => {
      compare(sfdiskJson(dev), theirTable, c.layout);
      assert.equal(run('sfdisk', ['--verify', dev]).status, 0);
      if (c.layout !== 'legacy') assert.match(runOk('sgdisk', ['-v', dev]), /No problems found/);
    });
    if (c.size === 'auto') {
      const root = report.partitions[report.partitions.length - 1]!;
      assert.ok(root.size >= 5 * 1024 * 1024 + 1536, 'root partition holds the root image');
    }
  });
}

test('layout none: the root filesystem is the whole image, no table', async () => {
  const out = join(dir, 'none.img');
  const report = await buildImage({ layout: 'none', root: { filesystem: 'image', image: rootImage } }, { output: out, baseDir: dir });
  assert.equal(report.table, 'none');
  assert.equal(report.size, 5 * 1024 * 1024 + 1536);
  assert.notEqual(run('sfdisk', ['--json', out]).status === 0 && JSON.parse(run('sfdisk', ['--json', out]).stdout || '{}').partitiontable?.partitions?.length > 0, true);
});
