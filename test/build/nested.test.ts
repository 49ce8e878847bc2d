import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/disk.js';
import { prng } from '../helpers/prng.js';
import { run, runOk, tempDir } from '../helpers/tools.js';

/**
 * Nested filesystems (`{ target, filesystem }` contents entries): a filesystem built by the same
 * run and stored as a file of its parent, streamed in place (docs/ARCHITECTURE.md §2.1). Judged by
 * the parent's and the child's own reference tools on the bytes extracted from the parent.
 */
const { dir, cleanup } = tempDir('dw-nested-');
after(cleanup);
const rand = prng('nested');
const esp = join(dir, 'esp');
mkdirSync(join(esp, 'EFI/BOOT'), { recursive: true });
const loader = rand.bytes(300_000);
writeFileSync(join(esp, 'EFI/BOOT/BOOTX64.EFI'), loader);
writeFileSync(join(esp, 'EFI/BOOT/grub.cfg'), 'search --file /boot/grub/grub.cfg\n');

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function build(name: string, spec: object): { img: string; report: { size: number; partitions: { offset: number; size: number; nested?: { target: string; fs: { type: string; size: number; label?: string } }[] }[]; sha256: string } } {
  const specFile = join(dir, `${name}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
  const img = join(dir, `${name}.img`);
  const rep = join(dir, `${name}.report.json`);
  const r = cli(['build', specFile, '-o', img, '--report', rep, '-q']);
  assert.equal(r.status, 0, r.stderr);
  return { img, report: JSON.parse(readFileSync(rep, 'utf8')) };
}

/** A file of an ext4 image, through debugfs. */
function ext4File(img: string, path: string, out: string): Buffer {
  runOk('debugfs', ['-R', `dump ${path} ${out}`, img]);
  return readFileSync(out);
}

const espEntry = {
  target: '/boot/grub/efiboot.img',
  filesystem: {
    type: 'vfat', label: 'EFIBOOT',
    contents: [
      { source: esp, target: '/' },
      { target: '/inner.img', filesystem: { type: 'ext4', label: 'inner', contents: [{ target: '/etc/marker', text: 'INNER-MARKER\n' }] } },
    ],
  },
};

test('an ext4 root holding a vfat image holding an ext4 image: each passes its own checker and reads back', () => {
  const { img, report } = build('two-levels', {
    name: 'two-levels', sourceDateEpoch: 1_700_000_000, table: 'none',
    partitions: [{ name: 'root', filesystem: 'ext4', contents: [{ target: '/etc/hostname', text: 'nested\n' }, espEntry] }],
  });
  runOk('e2fsck', ['-fn', img]);
  const nested = report.partitions[0]!.nested!;
  assert.deepEqual(nested.map((n) => [n.target, n.fs.type]), [['/inner.img', 'ext4'], ['/boot/grub/efiboot.img', 'vfat']]);

  const fat = join(dir, 'efiboot.img');
  const fatBytes = ext4File(img, '/boot/grub/efiboot.img', fat);
  assert.equal(fatBytes.length, nested[1]!.fs.size, 'the file is the planned volume, whole');
  const fsck = run('fsck.fat', ['-n', fat]);
  assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
  assert.match(runOk('minfo', ['-i', fat, '::']), /disk label="EFIBOOT /);
  const out = join(dir, 'esp-out');
  runOk('mcopy', ['-s', '-n', '-i', fat, '::/EFI', out]);
  assert.equal(sha(readFileSync(join(out, 'BOOT/BOOTX64.EFI'))), sha(loader));

  const inner = join(dir, 'inner.img');
  runOk('mcopy', ['-n', '-i', fat, '::/inner.img', inner]);
  runOk('e2fsck', ['-fn', inner]);
  assert.equal(runOk('debugfs', ['-R', 'cat /etc/marker', inner]), 'INNER-MARKER\n');
  assert.match(runOk('dumpe2fs', ['-h', inner]), /Filesystem volume name:\s+inner/);
});

test('a nested volume\'s holes stay holes in its parent (ext4 allocates only its data blocks)', () => {
  const { img } = build('sparse', {
    name: 'sparse', table: 'none',
    partitions: [{ name: 'root', filesystem: 'ext4', contents: [{ target: '/big.img', filesystem: { type: 'ext4', size: '256MiB', contents: [{ target: '/a', text: 'a' }] } }] }],
  });
  runOk('e2fsck', ['-fn', img]);
  const stat = runOk('debugfs', ['-R', 'stat /big.img', img]);
  const size = Number(/Size: (\d+)/.exec(stat)![1]);
  const sectors = Number(/Blockcount: (\d+)/.exec(stat)![1]);
  assert.equal(size, 256 << 20);
  assert.ok(sectors * 512 < 32 << 20, `a 256 MiB ext4 with one file takes ${sectors * 512} bytes in its parent, not all of it`);
  const big = join(dir, 'big.img');
  ext4File(img, '/big.img', big);
  runOk('e2fsck', ['-fn', big]);
  assert.equal(runOk('debugfs', ['-R', 'cat /a', big]), 'a');
});

test('a vfat partition holding an ext4 image, on a GPT disk; the same spec twice gives the same bytes', () => {
  const spec = {
    name: 'fat-parent', sourceDateEpoch: 1_600_000_000, table: 'gpt',
    partitions: [{ name: 'esp', filesystem: 'vfat', contents: [{ source: esp, target: '/' }, { target: '/rootfs.img', filesystem: { type: 'ext4', contents: [{ target: '/x', text: 'x\n', mode: '0600', user: 7, group: 9 }] } }] }],
  };
  const a = build('fat-a', spec);
  const b = build('fat-b', spec);
  assert.equal(a.report.sha256, b.report.sha256);
  assert.equal(sha(readFileSync(a.img)), sha(readFileSync(b.img)));
  assert.equal(run('sgdisk', ['-v', a.img]).stdout.includes('No problems found'), true);
  const part = a.report.partitions[0]!;
  const fat = join(dir, 'fat-part.img');
  writeFileSync(fat, readFileSync(a.img).subarray(part.offset, part.offset + part.size));
  assert.equal(run('fsck.fat', ['-n', fat]).status, 0);
  const inner = join(dir, 'rootfs.img');
  runOk('mcopy', ['-n', '-i', fat, '::/rootfs.img', inner]);
  assert.ok(statSync(inner).size > 0);
  runOk('e2fsck', ['-fn', inner]);
  const st = runOk('debugfs', ['-R', 'stat /x', inner]);
  assert.match(st, /User:\s+7\s+Group:\s+9/);
  assert.match(st, /Mode:\s+0600/);
});
