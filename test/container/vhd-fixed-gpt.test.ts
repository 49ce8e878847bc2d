import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../../src/build.js';
import { parseImageSpec } from '../../src/spec/schema.js';
import { run, runOk, tempDir } from '../helpers/tools.js';

// A fixed VHD stores whole MiB (Azure's rule), so the disk is rounded before the table is laid out:
// the GPT backup header must sit at the last LBA of the virtual disk qemu-img (and Hyper-V) sees.
const { dir, cleanup } = tempDir('dw-vhdfixed-');
test.after(cleanup);
const tree = join(dir, 'tree');
mkdirSync(join(tree, 'etc'), { recursive: true });
writeFileSync(join(tree, 'etc', 'hostname'), 'box\n');

const MiB = 1 << 20;
const cases: { name: string; size: number | 'auto'; root: number | 'auto' | 'fill'; alignment?: number }[] = [
  { name: 'whole MiB, fixed size', size: 16 * MiB, root: 'fill' },
  { name: 'not whole MiB, fixed size', size: 16 * MiB + 7 * 512, root: 'fill' },
  { name: 'not whole MiB, auto size', size: 'auto', root: 'auto', alignment: 4096 },
];

for (const c of cases) {
  test(`vhd-fixed GPT disk, ${c.name}: payload passes sgdisk -v, equals the raw build of the rounded size`, async () => {
    const spec = (format: string, size: number | 'auto') => ({
      name: 'vf', seed: 'vhd-fixed', sourceDateEpoch: 1_700_000_000, table: 'gpt', format, size,
      ...(c.alignment ? { alignment: c.alignment } : {}),
      partitions: [
        { name: 'esp', type: 'esp', size: 3 * MiB + 512, filesystem: 'none' },
        { name: 'root', type: 'linux', size: c.root, filesystem: 'ext4', contents: [{ source: tree, target: '/' }] },
      ],
    });
    const vhd = join(dir, `${c.name.replace(/\W+/g, '-')}.vhd`);
    const report = await buildImage(parseImageSpec(spec('vhd-fixed', c.size)), { output: vhd });
    assert.equal(report.size % MiB, 0, 'virtual size is whole MiB');
    if (typeof c.size === 'number') assert.equal(report.size, Math.ceil(c.size / MiB) * MiB);
    assert.equal(statSync(vhd).size, report.size + 512, 'data then one footer sector');

    const info = JSON.parse(runOk('qemu-img', ['info', '--output=json', '-f', 'vpc', vhd])) as { 'virtual-size': number };
    assert.equal(info['virtual-size'], report.size);
    const payload = join(dir, 'payload.raw');
    runOk('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', vhd, payload]);
    const v = run('sgdisk', ['-v', payload]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /No problems found/);
    assert.doesNotMatch(v.stdout + v.stderr, /backup header|secondary header|overlap|damaged/i);

    // The raw build at the rounded size is the same disk.
    const raw = join(dir, 'rounded.raw');
    await buildImage(parseImageSpec(spec('raw', report.size)), { output: raw });
    const cmp = run('qemu-img', ['compare', '-f', 'raw', '-F', 'vpc', raw, vhd]);
    assert.equal(cmp.status, 0, cmp.stdout + cmp.stderr);
  });
}
