import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { emit } from '../../src/container/emit.js';
import { vhdFixedSize } from '../../src/container/vhd.js';
import { tempDir } from '../helpers/tools.js';
import { fixtures } from './fixtures.js';
import { qemuCheck, qemuCompare, qemuConvertSha, qemuInfo, sha256Padded } from './oracle.js';

const FORMATS = ['qcow2', 'qcow2-compressed', 'vhd', 'vhd-fixed', 'vdi', 'vmdk'] as const;
const opts = { compression: 'none', seed: 'container-test', epoch: 1_700_000_000 };

/** The virtual size each format gives a disk of `size` bytes. */
function virtualSize(format: string, size: number): number {
  return format === 'vhd-fixed' ? vhdFixedSize(size) : Math.ceil(size / 512) * 512;
}

const { dir, cleanup } = tempDir('dw-container-');
const { dir: dir2, cleanup: cleanup2 } = tempDir('dw-container-again-');
test.after(() => { cleanup(); cleanup2(); });
const fx = fixtures(dir);

for (const f of fx) {
  test(`${f.name} disk: every format passes qemu-img check/info/compare/convert and builds byte-identical twice`, async (t) => {
    const raw = join(dir, `${f.name}.raw`);
    await emit(f.volume, raw, { ...opts, format: 'raw', hash: false });
    for (const format of FORMATS) {
      await t.test(format, async () => {
        const out = join(dir, `${f.name}.${format}`);
        const first = await emit(f.volume, out, { ...opts, format, hash: !(f.name === 'big' && format === 'vhd-fixed') });
        const vsize = virtualSize(format, f.volume.size);
        qemuCheck(out, format);
        const info = qemuInfo(out, format);
        assert.equal(info['virtual-size'], vsize, 'virtual size');
        if (format === 'vmdk') assert.equal(info['format-specific']?.data['create-type'], 'streamOptimized');
        if (format.startsWith('qcow2')) assert.equal(info['format-specific']?.data.compat, '1.1'); // version 3
        qemuCompare(raw, out, format);
        // Converting our output back to raw with qemu-img gives our raw output's bytes.
        // (On the 5 GiB disk only once: hashing 5 GiB of zeros twice per format costs seconds.)
        if (f.name !== 'big' || format === 'qcow2') {
          const conv = join(dir, `${f.name}.${format}.conv`);
          const back = qemuConvertSha(out, format, conv);
          assert.equal(back.size, vsize);
          assert.equal(back.sha256, sha256Padded(raw, vsize));
          rmSync(conv);
        }
        if (f.name === 'big' && format === 'vhd-fixed') return; // a 5 GiB file of holes: covered by the small disk
        // Same output name (a VMDK descriptor records it), another directory.
        const again = await emit(f.volume, join(dir2, `${f.name}.${format}`), { ...opts, format });
        assert.equal(again.sha256, first.sha256, 'byte-identical second build');
        rmSync(join(dir2, `${f.name}.${format}`));
      });
    }
  });
}

test('qcow2 and qcow2-compressed with 512 B, 4 KiB and 2 MiB clusters pass qemu-img check and compare', async () => {
  const small = fx[0]!;
  const raw = join(dir, 'small-cs.raw');
  await emit(small.volume, raw, { ...opts, format: 'raw', hash: false });
  for (const clusterSize of [512, 4096, 2 << 20]) {
    for (const format of ['qcow2', 'qcow2-compressed']) {
      const out = join(dir, `small-cs${clusterSize}.${format}`);
      await emit(small.volume, out, { ...opts, format, clusterSize, hash: false });
      qemuCheck(out, format);
      assert.equal(qemuInfo(out, format)['cluster-size'], clusterSize);
      qemuCompare(raw, out, format);
      rmSync(out);
    }
  }
});
