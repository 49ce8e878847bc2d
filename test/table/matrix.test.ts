import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, type BuildReport } from '../../src/build.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { sfdiskJson, withDevice } from '../helpers/disk.js';
import { prng } from '../helpers/prng.js';
import { needsRoot } from '../helpers/root.js';

/**
 * Generated matrix (docs/ARCHITECTURE.md §5): table x sector size x scenario, every image judged by sfdisk,
 * sgdisk and fdisk, which must report no problem and agree with the spec and the report on every
 * offset, size, type, name, GUID and flag.
 */
const tables = ['gpt', 'mbr', 'hybrid'] as const;
const sectorSizes = [512, 4096] as const;
const scenarios = ['typed', 'blobs'] as const;

const { dir, cleanup } = tempDir('dw-matrix-');
after(cleanup);
const rand = prng(0x3a7);
const blob = rand.bytes(100 * 1024 + 17);
const fsImage = rand.bytes(3 * 1024 * 1024 + 4096);
writeFileSync(join(dir, 'spl.bin'), blob);
writeFileSync(join(dir, 'fs.img'), fsImage);

function specFor(table: string, ss: number, scenario: string): Record<string, unknown> {
  const gptLike = table !== 'mbr';
  if (scenario === 'typed') {
    return {
      name: `m-${table}-${ss}-${scenario}`, seed: 'matrix', table, sectorSize: ss, size: '96MiB',
      partitions: [
        { name: 'EFI system', type: 'esp', size: '16MiB', flags: gptLike ? ['required', 'no-auto'] : ['boot'] },
        { name: 'root', type: table === 'mbr' ? '0x83' : 'linux-root-x86-64', size: '32MiB', flags: table === 'hybrid' ? ['boot', 'legacy-bios-bootable', 'grow-fs'] : gptLike ? ['legacy-bios-bootable', 'grow-fs'] : [] },
        { name: 'swap', type: 'swap', size: '8MiB', offset: '64MiB', flags: gptLike ? ['read-only'] : [] },
        { name: 'data', type: table === 'mbr' ? '0x8e' : 'linux-lvm', size: 'fill' },
      ],
    };
  }
  return {
    name: `m-${table}-${ss}-${scenario}`, seed: 'matrix', table, sectorSize: ss, size: 'auto',
    ...(gptLike ? { gptLocation: '1MiB' } : {}),
    alignment: '4MiB',
    partitions: [
      { name: 'firmware', type: table === 'mbr' ? '0x0c' : 'basic-data', filesystem: 'image', image: 'fs.img' },
      { name: 'rest', type: 'linux', size: '5MiB' },
    ],
    raw: [{ source: 'spl.bin', offset: '8KiB' }],
  };
}

function gptAttrs(flags: string[]): string | undefined {
  const names: string[] = [];
  const bits: number[] = [];
  if (flags.includes('required')) names.push('RequiredPartition');
  if (flags.includes('legacy-bios-bootable')) names.push('LegacyBIOSBootable');
  for (const [f, b] of [['grow-fs', 59], ['read-only', 60], ['hidden', 62], ['no-auto', 63]] as const) if (flags.includes(f)) bits.push(b);
  if (bits.length) names.push(`GUID:${bits.join(',')}`);
  return names.length ? names.join(' ') : undefined;
}

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(length);
  readSync(fd, b, 0, length, offset);
  closeSync(fd);
  return b;
}

for (const table of tables) {
  for (const ss of sectorSizes) {
    for (const scenario of scenarios) {
      // sfdisk and sgdisk read a regular file as 512-byte sectors: 4096 needs a loop device (losetup -b 4096).
      test(`${table} × ${ss}-byte sectors × ${scenario}: sfdisk, sgdisk and fdisk agree with the spec`, { skip: ss === 512 ? false : needsRoot('losetup -b 4096') }, async () => {
        const spec = specFor(table, ss, scenario);
        const img = join(dir, `${spec.name}.img`);
        const report: BuildReport = await buildImage(spec, { output: img, baseDir: dir });
        assert.ok(existsSync(img));

        withDevice(img, ss, (dev) => {
          const v = run('sfdisk', ['--verify', dev]);
          assert.equal(v.status, 0, v.stdout + v.stderr);
          assert.match(v.stdout, /No errors detected/);
          assert.doesNotMatch(v.stdout + v.stderr, /warning|overlap|not aligned/i, "sfdisk --verify complains");
          const t = sfdiskJson(dev);
          assert.equal(t.label, table === 'mbr' ? 'dos' : 'gpt');
          if (t.sectorsize !== undefined) assert.equal(t.sectorsize, ss);
          assert.equal(t.partitions.length, report.partitions.length);
          report.partitions.forEach((p, i) => {
            const s = t.partitions[i]!;
            assert.equal(s.start * ss, p.offset, `partition ${i + 1} start`);
            assert.equal(s.size * ss, p.size, `partition ${i + 1} size`);
            if (table === 'mbr') {
              assert.equal(parseInt(s.type, 16), parseInt(p.type, 16), `partition ${i + 1} type`);
              assert.equal(s.bootable === true, p.flags.includes('boot'), `partition ${i + 1} boot flag`);
            } else {
              assert.equal(s.type, p.type.toUpperCase());
              assert.equal(s.uuid, p.uuid!.toUpperCase());
              assert.equal(s.name, p.name);
              assert.equal(s.attrs, gptAttrs(p.flags), `partition ${i + 1} attributes`);
            }
          });
          if (table !== 'mbr') {
            assert.equal(t.id, report.diskUuid!.toUpperCase());
            const sg = runOk('sgdisk', ['-v', dev]);
            assert.match(sg, /No problems found/);
            const sp = runOk('sgdisk', ['-p', dev]);
            for (const p of report.partitions) assert.match(sp, new RegExp(`\\s${p.name}\\s*$`, 'm'));
          } else {
            assert.equal(t.id, report.mbrId);
          }
          const f = runOk('fdisk', ['-l', dev]);
          assert.match(f, new RegExp(`Sector size \\(logical/physical\\): ${ss} bytes`));
          if (table === 'hybrid') {
            // the MBR half: 0xEE first, then the mirrored partitions with their MBR types and boot flags
            const dos = runOk('fdisk', ['-l', '-t', 'dos', dev]);
            const rows = dos.split('\n').filter((l) => l.startsWith(dev));
            assert.match(rows[0]!, /\see\s/);
            assert.equal(rows.length, 1 + Math.min(3, report.partitions.length));
            report.partitions.slice(0, 3).forEach((p, i) => {
              const cols = rows[i + 1]!.replace('*', ' * ').trim().split(/\s+/);
              const boot = cols[1] === '*';
              const nums = cols.filter((c) => /^\d+$/.test(c)).map(Number);
              assert.equal(boot, p.flags.includes('boot'), `hybrid MBR boot flag of ${p.name}`);
              assert.equal(nums[0]! * ss, p.offset, `hybrid MBR start of ${p.name}`);
            });
          }
        });
        if (scenario === 'blobs') {
          const fw = report.partitions[0]!;
          assert.equal(createHash('sha256').update(readAt(img, fw.offset, fsImage.length)).digest('hex'), createHash('sha256').update(fsImage).digest('hex'));
          assert.deepEqual(readAt(img, 8192, blob.length), blob);
        }
      });
    }
  }
}
