/**
 * Id references in text (issue 10 item 2): `${partuuid:NAME}`, `${fsuuid:NAME}`, `${label:NAME}` in
 * `text:` contents are replaced by the ids the image really carries, judged by util-linux on the
 * built image: `partx` for partition UUIDs (GPT GUIDs; `<signature>-<number>` on an MBR, as Linux
 * forms PARTUUID), `blkid -p` at each partition's offset for filesystem UUIDs and labels. The texts
 * are read back with debugfs (ext4) and mtools (FAT). `$${` escapes; shell `${VAR:-x}` stays.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildImage } from '../../src/build.js';
import { DiskwrightError } from '../../src/errors.js';
import { resolveSpec } from '../../src/spec/validate.js';
import { runOk, tempDir } from '../helpers/tools.js';

const tmp = tempDir('dw-boot-refs-');
after(() => tmp.cleanup());
process.env.MTOOLS_SKIP_CHECK = '1';

/** partx's view of the table: number → { uuid, start (sectors) }. */
function partx(img: string): Map<number, { uuid: string; start: number }> {
  const out = new Map<number, { uuid: string; start: number }>();
  for (const line of runOk('partx', ['-g', '-o', 'NR,UUID,START', img]).trim().split('\n')) {
    const [nr, uuid, start] = line.trim().split(/\s+/);
    out.set(Number(nr), { uuid: uuid!, start: Number(start) });
  }
  return out;
}

/** blkid's probe of the filesystem at `offset`: its UUID and LABEL. */
function blkid(img: string, offset: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of runOk('blkid', ['-p', '-O', String(offset), '-o', 'export', img]).split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** A file of the ext4 filesystem at `offset`, by debugfs on a copy of that partition. */
function ext4File(img: string, offset: number, size: number, path: string): string {
  const part = join(tmp.dir, `part-${offset}.img`);
  const buf = Buffer.alloc(size);
  const fd = openSync(img, 'r');
  try { readSync(fd, buf, 0, size, offset); } finally { closeSync(fd); }
  writeFileSync(part, buf);
  return runOk('debugfs', ['-R', `cat ${path}`, part]);
}

const FSTAB = [
  'PARTUUID=${partuuid:root} / ext4 defaults 0 1',
  'UUID=${fsuuid:root} / ext4 defaults 0 1',
  'LABEL=${label:root} / ext4 defaults 0 1',
  'UUID=${fsuuid:ESP} /boot vfat defaults 0 2',
  'LABEL=${label:ESP} /boot vfat defaults 0 2',
  'PARTUUID=${partuuid:ESP} /boot vfat defaults 0 2',
  '# literal: $${partuuid:root}, shell: ${HOME:-/root} ${x}',
  '',
].join('\n');

test('refs: GPT ids in ext4 and FAT text contents are the ones partx and blkid read from the image', async () => {
  const img = join(tmp.dir, 'gpt.img');
  await buildImage({
    name: 'refs-gpt', sourceDateEpoch: 1700000000, table: 'gpt',
    partitions: [
      // FAT stores labels in upper case: the reference gives what blkid reads (ESP), not the spec's spelling.
      { name: 'ESP', type: 'esp', filesystem: 'vfat', label: 'esp', size: '8MiB', contents: [{ target: '/loader/root.txt', text: 'root=PARTUUID=${partuuid:root}\n' }] },
      { name: 'root', filesystem: 'ext4', label: 'rootfs', contents: [{ target: '/etc/fstab', text: FSTAB }], extraSpace: '1MiB' },
    ],
  }, { output: img, baseDir: tmp.dir });
  const parts = partx(img);
  const esp = parts.get(1)!, root = parts.get(2)!;
  const espFs = blkid(img, esp.start * 512), rootFs = blkid(img, root.start * 512);
  assert.equal(espFs.TYPE, 'vfat');
  assert.equal(rootFs.TYPE, 'ext4');
  assert.equal(espFs.LABEL, 'ESP');
  assert.equal(rootFs.LABEL, 'rootfs');
  const rootSize = (Number(runOk('partx', ['-g', '-o', 'SECTORS', '-n', '2', img]).trim())) * 512;
  const fstab = ext4File(img, root.start * 512, rootSize, '/etc/fstab');
  assert.equal(fstab, [
    `PARTUUID=${root.uuid} / ext4 defaults 0 1`,
    `UUID=${rootFs.UUID} / ext4 defaults 0 1`,
    'LABEL=rootfs / ext4 defaults 0 1',
    `UUID=${espFs.UUID} /boot vfat defaults 0 2`,
    'LABEL=ESP /boot vfat defaults 0 2',
    `PARTUUID=${esp.uuid} /boot vfat defaults 0 2`,
    '# literal: ${partuuid:root}, shell: ${HOME:-/root} ${x}',
    '',
  ].join('\n'));
  assert.match(root.uuid, /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/);
  const loader = runOk('mtype', ['-i', `${img}@@${esp.start * 512}`, '::/loader/root.txt']);
  assert.equal(loader, `root=PARTUUID=${root.uuid}\n`);
});

test('refs: on an MBR, PARTUUID is the disk signature and the partition number, as partx reads it', async () => {
  const img = join(tmp.dir, 'mbr.img');
  await buildImage({
    name: 'refs-mbr', table: 'mbr', mbrId: '0x1d15c0de',
    partitions: [
      { name: 'swap', type: 'swap', size: '1MiB' },
      { name: 'root', filesystem: 'ext4', contents: [{ target: '/cmdline', text: 'root=PARTUUID=${partuuid:root} resume=PARTUUID=${partuuid:swap}' }] },
    ],
  }, { output: img, baseDir: tmp.dir });
  const parts = partx(img);
  assert.equal(parts.get(2)!.uuid, '1d15c0de-02');
  const size = Number(runOk('partx', ['-g', '-o', 'SECTORS', '-n', '2', img]).trim()) * 512;
  assert.equal(ext4File(img, parts.get(2)!.start * 512, size, '/cmdline'), `root=PARTUUID=${parts.get(2)!.uuid} resume=PARTUUID=${parts.get(1)!.uuid}`);
});

const codeOf = (spec: unknown): string => {
  try { resolveSpec(spec, { baseDir: tmp.dir, env: {}, checkFiles: false }); } catch (e) { return e instanceof DiskwrightError ? `${e.code} ${e.path}` : String(e); }
  return 'ok';
};

test('refs: an unknown partition, a table without PARTUUIDs and a filesystem without ids are E_REF at the entry', () => {
  const text = (t: string): unknown => ({ table: 'gpt', partitions: [{ name: 'root', filesystem: 'ext4', contents: [{ target: '/a', text: 'x' }, { target: '/b', text: t }] }, { name: 'raw', size: '1MiB' }] });
  assert.equal(codeOf(text('${partuuid:nope}')), 'E_REF partitions[0].contents[1].text');
  assert.equal(codeOf(text('${fsuuid:raw}')), 'E_REF partitions[0].contents[1].text');
  assert.equal(codeOf(text('${label:root}')), 'E_REF partitions[0].contents[1].text');
  assert.equal(codeOf(text('$${partuuid:nope} ${nope:x} ${partuuid}')), 'ok');
  assert.equal(codeOf({ table: 'none', partitions: [{ name: 'root', filesystem: 'ext4', contents: [{ target: '/b', text: '${partuuid:root}' }] }] }), 'E_REF partitions[0].contents[0].text');
  // Inside a nested filesystem's contents too.
  assert.equal(codeOf({ partitions: [{ name: 'root', filesystem: 'ext4', contents: [{ target: '/esp.img', filesystem: { type: 'vfat', contents: [{ target: '/x', text: '${fsuuid:nope}' }] } }] }] }), 'E_REF partitions[0].contents[0].filesystem.contents[0].text');
  // With a layout preset, the path is the user's key.
  assert.equal(codeOf({ layout: 'efi', root: { contents: [{ target: '/x', text: '${fsuuid:nope}' }] } }), 'E_REF root.contents[0].text');
});
