import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cli, CLI, sfdiskJson } from '../helpers/disk.js';
import { runOk, tempDir } from '../helpers/tools.js';

const { dir, cleanup } = tempDir('dw-cli-');
after(cleanup);
const spec = join(dir, 'disk.yaml');
writeFileSync(spec, `name: clitest
seed: cli
sourceDateEpoch: 1700000000
size: 48MiB
table: gpt
partitions:
  - { name: ESP, type: esp, size: 16MiB, filesystem: vfat, label: ESP, contents: [{ target: /hello.txt, text: "hello\\n" }] }
  - { name: root, type: linux, size: fill, flags: [grow-fs] }
`);

test('--help works for every command', () => {
  for (const args of [['--help'], ['build', '--help'], ['ext4', '--help'], ['fat', '--help']]) {
    const r = cli(args);
    assert.equal(r.status, 0, args.join(' '));
    assert.match(r.stdout, /Usage:/);
    // cac's implied default of a --no-x option is not shown: "--no-journal ... (default: true)" read as "no journal by default".
    assert.doesNotMatch(r.stdout, /\(default: true\)/, args.join(' '));
  }
  assert.match(cli(['ext4', '--help']).stdout, /^\s+--no-journal\s+No jbd2 journal\s*$/m);
});

test('build writes the image and a report that matches sfdisk and sha256sum', () => {
  const out = join(dir, 'disk.img');
  const rep = join(dir, 'disk.json');
  const r = cli(['build', spec, '-o', out, '--report', rep]);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(readFileSync(rep, 'utf8'));
  assert.equal(report.sha256, runOk('sha256sum', [out]).split(' ')[0]);
  assert.equal(report.size, 48 * 2 ** 20);
  const t = sfdiskJson(out);
  assert.equal(t.id, report.diskUuid.toUpperCase());
  report.partitions.forEach((p: { offset: number; size: number; uuid: string; type: string; name: string }, i: number) => {
    assert.equal(t.partitions[i]!.start * 512, p.offset);
    assert.equal(t.partitions[i]!.size * 512, p.size);
    assert.equal(t.partitions[i]!.uuid, p.uuid.toUpperCase());
    assert.equal(t.partitions[i]!.type, p.type);
    assert.equal(t.partitions[i]!.name, p.name);
  });
  assert.equal(report.partitions[0].label, 'ESP');
  assert.match(report.partitions[0].fsUuid, /^[0-9A-F]{4}-[0-9A-F]{4}$/i);
});

test('the same spec built twice gives the same sha256; -o - streams the same bytes', () => {
  const a = join(dir, 'a.img'), b = join(dir, 'b.img');
  assert.equal(cli(['build', spec, '-o', a, '-q']).status, 0);
  assert.equal(cli(['build', spec, '-o', b, '-q']).status, 0);
  const ha = runOk('sha256sum', [a]).split(' ')[0];
  assert.equal(runOk('sha256sum', [b]).split(' ')[0], ha);
  const piped = runOk('sh', ['-c', `${process.execPath} ${CLI.join(' ')} build ${spec} -o - -q | sha256sum`]).split(' ')[0];
  assert.equal(piped, ha);
});

test('the raw output is sparse: allocated blocks track the data, not the disk size', () => {
  const big = join(dir, 'big.yaml');
  writeFileSync(big, `size: 8GiB\npartitions:\n  - { name: data, type: linux, size: fill }\n`);
  const out = join(dir, 'big.img');
  assert.equal(cli(['build', big, '-o', out, '-q']).status, 0);
  const [blocks, bytes] = runOk('stat', ['-c', '%b %s', out]).trim().split(' ').map(Number);
  assert.equal(bytes, 8 * 2 ** 30);
  assert.ok(blocks! * 512 < 1024 * 1024, `allocated ${blocks! * 512} bytes`);
});

test('--dry-run prints the layout table and writes nothing', () => {
  const out = join(dir, 'dry.img');
  const r = cli(['build', spec, '-o', out, '--dry-run']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /gpt table, 512-byte sectors/);
  assert.match(r.stdout, /ESP\s+2048\s+34815/);
  assert.equal(existsSync(out), false);
});

test('--dry-run shows the disk and partition GUIDs that sgdisk -i reports for the real build', () => {
  const dry = cli(['build', spec, '--dry-run']);
  assert.equal(dry.status, 0, dry.stderr);
  const out = join(dir, 'guids.img');
  assert.equal(cli(['build', spec, '-o', out, '-q']).status, 0);
  const disk = /^Disk identifier \(GUID\): (\S+)$/m.exec(runOk('sgdisk', ['-p', out]))?.[1];
  assert.ok(disk);
  assert.match(dry.stdout, new RegExp(`^disk GUID ${disk}$`, 'mi'));
  const header = dry.stdout.split('\n').find((l) => l.startsWith('#  '))!;
  assert.match(header, /\bpartition GUID\b/);
  for (const [n, name] of [[1, 'ESP'], [2, 'root']] as const) {
    const info = runOk('sgdisk', ['-i', String(n), out]);
    const guid = /^Partition unique GUID: (\S+)$/m.exec(info)?.[1];
    assert.ok(guid, info);
    const row = dry.stdout.split('\n').find((l) => l.startsWith(`${n}  ${name} `));
    assert.ok(row, dry.stdout);
    // The column under the header's "partition GUID".
    assert.equal(row.slice(header.indexOf('partition GUID')).split(/\s+/)[0]!.toUpperCase(), guid);
  }
});

test('an interrupted build (SIGINT) exits non-zero and leaves no output or temporary file', async () => {
  const outDir = join(dir, 'sigint');
  mkdirSync(outDir);
  const slow = join(dir, 'slow.yaml');
  // a 64 GiB sparse disk hashed as zeros takes tens of seconds: long enough to interrupt
  writeFileSync(slow, `size: 64GiB\npartitions:\n  - { name: data, type: linux, size: fill }\n`);
  const child = spawn(process.execPath, [...CLI, 'build', slow, '-o', join(outDir, 'slow.img'), '--sha256', '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  let done = false;
  void exited.then(() => { done = true; });
  // Wait for the temporary output to appear (start-up takes longer on a loaded machine), then interrupt.
  for (let waited = 0; !done && readdirSync(outDir).length === 0 && waited < 60_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
  assert.ok(!done, `the build ended before it could be interrupted: ${stderr}`);
  assert.ok(readdirSync(outDir).length === 1, 'a temporary file exists while building');
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, 130, stderr);
  assert.deepEqual(readdirSync(outDir), []);
});

test('a failing build exits 1 with a one-line error naming the spec path', () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, `partitions:\n  - { name: a, size: 1MiB, flags: [bogus] }\n`);
  const r = cli(['build', bad, '-o', join(dir, 'bad.img')]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /E_ENUM: partitions\[0\]\.flags\[0\]: "bogus" is not one of/);
  assert.equal(existsSync(join(dir, 'bad.img')), false);
});
