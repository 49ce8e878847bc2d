import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { emit } from '../../src/container/emit.js';
import { convertImage } from '../../src/container/convert.js';
import { vhdFixedSize } from '../../src/container/vhd.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { fixtures } from './fixtures.js';
import { qemuCheck, qemuCompare, sha256Padded } from './oracle.js';

const FORMATS = ['qcow2', 'qcow2-compressed', 'vhd', 'vhd-fixed', 'vdi', 'vmdk'] as const;
const { dir, cleanup } = tempDir('dw-convert-');
test.after(cleanup);
const [small] = fixtures(dir);
const raw = join(dir, 'small.raw');
const rawSize = Math.ceil(small!.volume.size / 512) * 512;

test('convert: raw to every format and back to raw, checked by qemu-img', async () => {
  await emit(small!.volume, raw, { format: 'raw', compression: 'none', seed: 's', epoch: 1 });
  const want = sha256Padded(raw, rawSize);
  for (const format of FORMATS) {
    const out = join(dir, `conv.${format}`);
    const r = await convertImage(raw, out, { format });
    assert.equal(r.inputFormat, 'raw');
    qemuCheck(out, format);
    qemuCompare(raw, out, format);
    const back = join(dir, `conv.${format}.raw`);
    const b = await convertImage(out, back, { format: 'raw' });
    assert.equal(b.inputFormat, format === 'qcow2-compressed' ? 'qcow2' : format);
    const size = format === 'vhd-fixed' ? vhdFixedSize(small!.volume.size) : rawSize;
    assert.equal(statSync(back).size, size, `${format}: size back`);
    assert.equal(sha256Padded(back, size), sha256Padded(raw, size), `${format}: bytes back`);
    if (format !== 'vhd-fixed') assert.equal(sha256Padded(back, rawSize), want);
  }
});

test('convert: images made by qemu-img (qcow2, qcow2 -c, vpc, vdi, vmdk sparse and streamOptimized) read back as the same disk', async () => {
  const made: [string, string[]][] = [
    ['qcow2', ['-O', 'qcow2']],
    ['qcow2c', ['-O', 'qcow2', '-c']],
    ['vpc', ['-O', 'vpc']],
    ['vpcfixed', ['-O', 'vpc', '-o', 'subformat=fixed']],
    ['vdi', ['-O', 'vdi']],
    ['vmdk', ['-O', 'vmdk']],
    ['vmdkstream', ['-O', 'vmdk', '-o', 'subformat=streamOptimized']],
  ];
  for (const [name, args] of made) {
    const img = join(dir, `qemu.${name}`);
    runOk('qemu-img', ['convert', '-f', 'raw', ...args, raw, img]);
    const back = join(dir, `qemu.${name}.raw`);
    await convertImage(img, back, { format: 'raw' });
    // qemu's vpc rounds the size up to its CHS geometry; the extra sectors are zeros.
    const r = run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', raw, back]);
    assert.equal(r.status, 0, `${name}: ${r.stdout}${r.stderr}`);
  }
});

test('convert: compressed inputs (zstd, xz, gzip, bzip2 streams of a raw image) and compressed output', async () => {
  for (const [tool, suffix] of [['zstd', 'zst'], ['xz', 'xz'], ['gzip', 'gz'], ['bzip2', 'bz2']] as const) {
    const packed = join(dir, `small.raw.${suffix}`);
    runOk('sh', ['-c', `${tool} -c < "${raw}" > "${packed}"`]);
    const out = join(dir, `from-${tool}.qcow2`);
    const r = await convertImage(packed, out, { format: 'qcow2' });
    assert.equal(r.inputFormat, 'raw');
    qemuCompare(raw, out, 'qcow2');
  }
  const out = join(dir, 'small.vdi.xz');
  await convertImage(raw, out, { format: 'vdi', compression: 'xz' });
  runOk('xz', ['-t', out]);
  const back = join(dir, 'from-vdi-xz.raw');
  const r = await convertImage(out, back, { format: 'raw' });
  assert.equal(r.inputFormat, 'vdi');
  assert.equal(sha256Padded(back, rawSize), sha256Padded(raw, rawSize));
});

test('convert CLI: diskwright convert IN OUT --format F', () => {
  const out = join(dir, 'cli.vhd');
  runOk(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'convert', raw, out, '--format', 'vpc', '-q']);
  qemuCompare(raw, out, 'vhd');
  const bad = run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'convert', raw, join(dir, 'x'), '--format', 'qed']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /E_FORMAT/);
});
