/**
 * `diskwright iso` and ISO specs through the CLI: the quick form's flags; the same bytes from trees
 * created in different orders under different time zones; every container format and whole-file
 * compression applying to an ISO as to a disk; El Torito images placed where the catalog says,
 * with the boot info table patched in; the cloud-init NoCloud example read back; errors naming
 * their flags.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { cli, ROOT } from '../helpers/disk.js';
import { prng } from '../helpers/prng.js';
import { IS_ROOT } from '../helpers/root.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { EPOCH, isoinfoD, isoinfoListing, lsdl, xorrisoClean } from './iso-helpers.js';

const tmp = tempDir('dw-iso-cli-');
after(() => tmp.cleanup());
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
const rand = prng('iso-cli');
const FILES: [string, Buffer][] = [
  ['etc/hostname', Buffer.from('box\n')], ['boot/bios.img', rand.bytes(30000)], ['boot/efi.img', rand.bytes(256 * 1024)],
  ['usr/share/big.txt', Buffer.from('a fairly compressible line of text\n'.repeat(5000))], ['z-last', rand.bytes(10)],
  ['a-first', rand.bytes(4097)], ['usr/bin/tool', rand.bytes(12345)],
];

/** The same tree, its files and directories created in the given order, times and modes set after. */
function makeTree(dir: string, reverse: boolean): void {
  const files = reverse ? [...FILES].reverse() : FILES;
  for (const [p, data] of files) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), data);
    chmodSync(join(dir, p), p.startsWith('usr/bin') ? 0o755 : 0o644);
  }
  const dirs = ['usr/bin', 'usr/share', 'usr', 'etc', 'boot', ''];
  for (const d of dirs) chmodSync(join(dir, d), 0o755);
  [...FILES.map(([p]) => p), ...dirs].forEach((p, i) => utimesSync(join(dir, p), 1600000000 + i, 1600000000 + i));
}

function iso(args: string[], env: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try { return cli(['iso', ...args, '-q']); } finally { process.env = saved; }
}

test('cli: the same bytes from trees made in different orders, in different time zones', () => {
  const a = join(tmp.dir, 'a'), b = join(tmp.dir, 'b');
  makeTree(a, false);
  makeTree(b, true);
  const flags = ['--label', 'SAME', '--joliet', '--zisofs', '--epoch', String(EPOCH)];
  const ia = join(tmp.dir, 'a.iso'), ib = join(tmp.dir, 'b.iso');
  assert.equal(iso([a, '-o', ia, ...flags], { TZ: 'UTC' }).status, 0);
  assert.equal(iso([b, '-o', ib, ...flags], { TZ: 'Pacific/Kiritimati', LC_ALL: 'tr_TR.UTF-8' }).status, 0);
  assert.equal(sha(ia), sha(ib));
  xorrisoClean(ia);
  assert.equal(isoinfoD(ia).get('Volume id'), 'SAME');
  const streams = runOk('xorriso', ['-indev', ia, '-find', '/usr/share/big.txt', '-exec', 'show_stream', '--']);
  assert.match(streams, /--zisofs-decode:pz:32k/);
});

test('cli: --owners host keeps the host owners; the default makes them root', { skip: IS_ROOT ? false : 'needs root (chown)' }, () => {
  const dir = join(tmp.dir, 'owners');
  mkdirSync(dir);
  writeFileSync(join(dir, 'f'), 'x');
  chownSync(join(dir, 'f'), 1234, 5678);
  const host = join(tmp.dir, 'host.iso'), root = join(tmp.dir, 'root.iso');
  assert.equal(iso([dir, '-o', host, '--owners', 'host']).status, 0);
  assert.equal(iso([dir, '-o', root]).status, 0);
  assert.match(lsdl(host).get('/f')!, /^-rw-r--r-- 1 1234 5678 /);
  assert.match(lsdl(root).get('/f')!, /^-rw-r--r-- 1 0 0 /);
});

test('cli: container formats and whole-file compression apply to an ISO as to a disk', () => {
  const dir = join(tmp.dir, 'a');
  const raw = join(tmp.dir, 'fmt.iso');
  assert.equal(iso([dir, '-o', raw, '--epoch', String(EPOCH)]).status, 0);
  const qcow = join(tmp.dir, 'fmt.qcow2');
  assert.equal(iso([dir, '-o', qcow, '--epoch', String(EPOCH), '--format', 'qcow2']).status, 0);
  runOk('qemu-img', ['check', qcow]);
  runOk('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', raw, qcow]);
  const zst = join(tmp.dir, 'fmt.iso.zst');
  assert.equal(iso([dir, '-o', zst, '--epoch', String(EPOCH), '--compression', 'zstd']).status, 0);
  runOk('zstd', ['-d', '-q', '-f', zst, '-o', join(tmp.dir, 'unz.iso')]);
  assert.equal(sha(join(tmp.dir, 'unz.iso')), sha(raw));
});

test('cli: El Torito images sit where the catalog says, the BIOS one with its boot info table', () => {
  const dir = join(tmp.dir, 'a');
  const img = join(tmp.dir, 'boot.iso');
  const r = iso([dir, '-o', img, '--bios-boot', '/boot/bios.img', '--efi-boot', 'boot/efi.img', '--epoch', String(EPOCH)]);
  assert.equal(r.status, 0, r.stderr);
  const report = xorrisoClean(img);
  const lba = (p: string): number => Number(new RegExp(`^File data lba:\\s+0 ,\\s+(\\d+) ,.*'${p}'$`, 'm').exec(report)![1]);
  const boot = [...report.matchAll(/^El Torito boot img :\s+(\d+)\s+(BIOS|UEFI)\s+y\s+none\s+0x0000\s+0x00\s+(\d+)\s+(\d+)$/gm)].map((m) => [m[2], Number(m[3]), Number(m[4])]);
  assert.deepEqual(boot, [['BIOS', 4, lba('/boot/bios.img')], ['UEFI', 256 * 1024 / 512, lba('/boot/efi.img')]]);
  assert.match(report, /^El Torito cat path : \/boot\.catalog$/m);
  assert.match(report, /^El Torito img opts :\s+1\s+boot-info-table$/m);
  // The boot info table (bytes 8-23: PVD 16, the file's LBA, its length) over the file's bytes; the rest as in the tree.
  const bytes = readFileSync(img).subarray(lba('/boot/bios.img') * 2048, lba('/boot/bios.img') * 2048 + 30000);
  const src = FILES.find(([p]) => p === 'boot/bios.img')![1];
  assert.deepEqual([bytes.readUInt32LE(8), bytes.readUInt32LE(12), bytes.readUInt32LE(16)], [16, lba('/boot/bios.img'), 30000]);
  assert.ok(bytes.subarray(64).equals(src.subarray(64)) && bytes.subarray(0, 8).equals(src.subarray(0, 8)));
  // The catalog is a file of the tree too.
  assert.ok(isoinfoListing(img, ['-R']).some((e) => e.dir === '/' && e.name === 'boot.catalog' && e.size === 2048));
});

test('cli: errors name the flag', () => {
  const dir = join(tmp.dir, 'a');
  const cases: [string[], string][] = [
    [['--bios-boot', '/no/such/file'], 'error E_ISO_BOOT: --bios-boot:'],
    [['--efi-boot', '/etc'], 'error E_ISO_BOOT: --efi-boot:'],
    [['--label', 'x'.repeat(33)], 'error E_ISO_LABEL: --label:'],
    [['--hybrid-mbr', join(tmp.dir, 'nope.img')], 'error E_ISO_HYBRID: --hybrid-mbr:'],
    // A missing file is found by validation, before planning (E_SOURCE, like every host path of a spec).
    [['--bios-boot', '/boot/bios.img', '--hybrid-mbr', join(tmp.dir, 'nope.img')], 'error E_SOURCE: --hybrid-mbr:'],
    [['--uuid', '1234-5678'], 'error E_ISO_OPTION: --uuid:'],
  ];
  for (const [args, expect] of cases) {
    const out = join(tmp.dir, 'err.iso');
    const r = iso([dir, '-o', out, ...args]);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.includes(expect), `${args.join(' ')}: ${r.stderr}`);
  }
});

test('example: the cloud-init NoCloud seed (examples/cidata.yaml)', () => {
  const spec = join(ROOT, 'examples/cidata.yaml');
  const img = join(tmp.dir, 'seed.iso');
  const r = cli(['build', spec, '-o', img, '-q']);
  assert.equal(r.status, 0, r.stderr);
  xorrisoClean(img);
  const d = isoinfoD(img);
  assert.equal(d.get('Volume id'), 'cidata');
  assert.ok(d.has('Joliet with UCS level 3 found') && d.has('Rock Ridge signatures version 1 found'));
  // blkid (what cloud-init asks) finds the label, the Joliet one included.
  assert.match(runOk('blkid', ['-p', '-o', 'export', img]), /^LABEL=cidata$/m);
  const contents = (parseYaml(readFileSync(spec, 'utf8')) as { partitions: { contents: { target: string; text: string }[] }[] }).partitions[0]!.contents;
  for (const read of [[], ['-read_fs', 'norock']]) {
    const out = join(tmp.dir, `seed-out${read.length}`);
    runOk('osirrox', [...read, '-indev', img, '-extract', '/', out]);
    for (const c of contents) assert.equal(readFileSync(join(out, c.target), 'utf8'), c.text, `${c.target} ${read.join(' ')}`);
  }
});
