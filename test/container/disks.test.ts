import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { buildImage } from '../../src/build.js';
import { parseImageSpec } from '../../src/spec/schema.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { pattern } from './fixtures.js';
import { QEMU_FORMAT, qemuCheck, qemuCompare, qemuConvertSha, qemuInfo, sha256Padded } from './oracle.js';

/**
 * Whole disks with ext4 and FAT partitions (prebuilt by mke2fs -d and mkfs.fat + mcopy, placed with
 * `filesystem: image`, and the same trees through our own ext4/FAT writers) in every container
 * format and compression, against the raw build.
 */
const FORMATS = ['qcow2', 'qcow2-compressed', 'vhd', 'vhd-fixed', 'vdi', 'vmdk'] as const;
const { dir, cleanup } = tempDir('dw-disks-');
mkdirSync(join(dir, 'again'));
test.after(cleanup);

function trees(): { root: string; esp: string } {
  const root = join(dir, 'rootfs');
  const esp = join(dir, 'esp');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'usr/lib'), { recursive: true });
  mkdirSync(join(esp, 'EFI/BOOT'), { recursive: true });
  writeFileSync(join(root, 'etc/hostname'), 'containers\n');
  writeFileSync(join(root, 'usr/lib/blob.bin'), pattern(3 << 20, 'rootfs-blob'));
  writeFileSync(join(esp, 'EFI/BOOT/BOOTX64.EFI'), pattern(300_000, 'efi'));
  return { root, esp };
}

function prebuilt(t: { root: string; esp: string }): { ext4: string; fat: string } {
  const ext4 = join(dir, 'root.ext4');
  runOk('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', t.root, '-E', 'root_owner=0:0', '-U', '2d6d5c1e-6a4f-4f5e-9d1a-0c1f6b6c1a01', ext4, '24M']);
  const fat = join(dir, 'esp.fat');
  runOk('mkfs.fat', ['-C', '-F', '32', '-i', '12345678', fat, String(40 * 1024)]);
  runOk('mcopy', ['-s', '-i', fat, join(t.esp, 'EFI'), '::/']);
  return { ext4, fat };
}

for (const kind of ['prebuilt', 'ours'] as const) {
  test(`GPT disk with FAT ESP and ext4 root (${kind} filesystems): every format equals the raw build`, async (t) => {
    const tr = trees();
    const pre = kind === 'prebuilt' ? prebuilt(tr) : undefined;
    const spec = {
      name: `disk-${kind}`, seed: 'containers', sourceDateEpoch: 1_700_000_000, table: 'gpt',
      partitions: [
        pre ? { name: 'ESP', type: 'esp', filesystem: 'image', image: pre.fat }
          : { name: 'ESP', type: 'esp', size: '40MiB', filesystem: 'vfat', label: 'ESP', contents: [{ source: tr.esp, target: '/' }] },
        pre ? { name: 'root', type: 'linux', filesystem: 'image', image: pre.ext4 }
          : { name: 'root', type: 'linux', filesystem: 'ext4', label: 'root', extraSpace: '4MiB', contents: [{ source: tr.root, target: '/' }] },
      ],
    };
    const raw = join(dir, `${kind}.img`);
    const report = await buildImage(parseImageSpec(spec), { output: raw, format: 'raw' });
    const size = report.size;
    runOk('sgdisk', ['-v', raw]);
    for (const format of FORMATS) {
      await t.test(format, async () => {
        const out = join(dir, `${kind}.${format}`);
        const r = await buildImage(parseImageSpec(spec), { output: out, format });
        qemuCheck(out, format);
        const info = qemuInfo(out, format);
        assert.equal(info.format, QEMU_FORMAT[format]);
        if (format !== 'vhd-fixed' || size % (1 << 20) === 0) assert.equal(info['virtual-size'], size);
        qemuCompare(raw, out, format);
        const backPath = join(dir, `${kind}.${format}.back`);
        const back = qemuConvertSha(out, format, backPath);
        assert.equal(back.sha256, sha256Padded(raw, back.size));
        if (format === 'qcow2') {
          // The filesystems qemu-img reads out of our qcow2 pass their own checkers.
          for (const p of report.partitions) {
            const part = join(dir, `${kind}.part${p.number}`);
            runOk('dd', [`if=${backPath}`, `of=${part}`, 'bs=512', `skip=${p.offset / 512}`, `count=${p.size / 512}`, 'status=none']);
            if (p.name === 'root') runOk('e2fsck', ['-fn', part]);
            else runOk('fsck.fat', ['-n', part]);
          }
        }
        const again = await buildImage(parseImageSpec(spec), { output: join(dir, 'again', `${kind}.${format}`), format });
        assert.equal(again.sha256, r.sha256, 'byte-identical second build');
      });
    }
    await t.test('compressed raw', async () => {
      for (const [compression, tool] of [['zstd', 'zstd'], ['xz', 'xz'], ['gzip', 'gzip'], ['bzip2', 'bzip2']] as const) {
        const out = join(dir, `${kind}.img.${compression}`);
        await buildImage(parseImageSpec(spec), { output: out, format: 'raw', compression });
        runOk(tool, ['-t', out]);
        const dec = join(dir, `${kind}.dec`);
        runOk('sh', ['-c', `${tool} -d -c < "${out}" > "${dec}"`]);
        assert.equal(sha256Padded(dec, size), sha256Padded(raw, size), compression);
      }
    });
  });
}
