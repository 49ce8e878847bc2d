/** FAT type and cluster size chosen as mkfs.fat (the oracle, run on the same sizes) chooses them. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chooseGeometry } from '../../src/fs/fat/geometry.js';
import { run, runOk, tempDir } from '../helpers/tools.js';

const tmp = tempDir('dw-fat-geo-');
after(() => tmp.cleanup());

const CASES: [12 | 16 | 32 | undefined, number][] = [];
for (const mib of [1, 4, 8, 9, 16, 33, 64, 128, 129, 256, 257, 260, 300, 511, 512, 1024, 8192, 8193, 20000]) CASES.push([undefined, mib]);
for (const mib of [1, 8, 32, 64]) CASES.push([12, mib]);
for (const mib of [16, 100, 512, 2048]) CASES.push([16, mib]);
for (const mib of [40, 64, 256, 300, 1024]) CASES.push([32, mib]);

test('fat: geometry matches mkfs.fat (FAT type, cluster size) across sizes', () => {
  const img = join(tmp.dir, 'g.img');
  for (const [fatType, mib] of CASES) {
    run('rm', ['-f', img]);
    runOk('mkfs.fat', ['-C', ...(fatType ? ['-F', String(fatType)] : []), img, String(mib * 1024)]);
    const o = run('fsck.fat', ['-nv', img]).stdout;
    const cs = Number(/(\d+) bytes per cluster/.exec(o)![1]);
    const bits = Number(/(\d+) bit entries/.exec(o)![1]);
    const g = chooseGeometry({ totalSectors: mib * 2048, bytesPerSector: 512, fatType, rootEntriesNeeded: 0 });
    assert.deepEqual([g.fatType, g.clusterSize], [bits, cs], `${mib} MiB${fatType ? ` -F ${fatType}` : ''}: mkfs.fat chose FAT${bits} with ${cs}-byte clusters`);
  }
});
