#!/usr/bin/env node
// Type-checks src, test and bench (tsconfig.test.json), then runs every test file under test/ with
// Node's test runner and tsx, in two lanes (below): the QEMU boots one at a time beside every other
// file one at a time. Pass file filters as arguments:
//   npm test -- ext4 fat
// As root, missing reference tools are installed first (scripts/install-oracles.sh, apt-get).
// As any other user nothing is installed and sudo is never called: the missing tools are listed,
// and tests that need root (loop mounts, losetup, mknod) skip with that reason.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
// Test files are not part of the build's tsconfig: without this they would never be type-checked.
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.test.json'], { stdio: 'inherit' });
if (tsc.status !== 0) { console.error('type errors (npm run typecheck): not running the tests'); process.exit(tsc.status ?? 1); }

// The oracles (sfdisk, sgdisk, e2fsck, fsck.fat, mtools, qemu-img, qemu-system, ...) come from
// Debian packages; install them first if any is missing (as root only).
const oracles = ['sfdisk', 'sgdisk', 'parted', 'e2fsck', 'debugfs', 'fsck.fat', 'mcopy', 'qemu-img', 'qemu-system-x86_64', 'zstd', 'xz', 'bzip2', 'cpio', 'getfattr', 'setfacl', 'getcap', '/usr/bin/time', 'nix-build'];
const missing = oracles.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const isRoot = process.getuid?.() === 0;
if (missing.length && isRoot) {
  console.error(`installing reference tools (missing: ${missing.join(' ')})`);
  const r = spawnSync('bash', ['scripts/install-oracles.sh'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
} else if (missing.length) {
  console.error(`reference tools missing: ${missing.join(' ')}`);
  console.error('installing them needs root (as root: bash scripts/install-oracles.sh); running the tests anyway: those that use them will fail');
}
if (!isRoot) console.error('not root: tests that need loop devices, losetup or mknod are skipped (run as root to include them)');

const filters = process.argv.slice(2);
const files = find('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) { console.error('no test files match', filters); process.exit(1); }

// Two lanes, so both cores work: the QEMU boots (one emulated CPU each, mostly waiting on TCG) run
// one after another in one lane, every other file one after another in the other. Boots never
// overlap each other, and no two oracle files share the disk at once either. The boot lane's
// report is held back and printed after the other's, so the log reads file by file.
const isBoot = (f) => /(^|\/)boot\/|boot-qcow2|iso9660\/kernel/.test(f);
const lanes = [files.filter((f) => !isBoot(f)), files.filter(isBoot)].filter((l) => l.length > 0);
const args = (l) => ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...l];
if (lanes.length === 1 || process.env.DISKWRIGHT_TEST_LANES === '1') {
  const r = spawnSync(process.execPath, args(files), { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const { spawn } = await import('node:child_process');
const { createWriteStream, mkdtempSync, readFileSync } = await import('node:fs');
const { tmpdir } = await import('node:os');
const held = join(mkdtempSync(join(tmpdir(), 'diskwright-test-')), 'boot-lane.log');
const run = (l, out) => new Promise((done) => {
  const child = spawn(process.execPath, args(l), { stdio: out ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  if (out) { const w = createWriteStream(out); child.stdout.pipe(w); child.stderr.pipe(w); }
  child.on('close', (code, signal) => done(code ?? (signal ? 1 : 0)));
});
const [main, boots] = await Promise.all([run(lanes[0]), run(lanes[1], held)]);
process.stdout.write(`\n# boot lane (${lanes[1].length} files, run beside the others)\n`);
process.stdout.write(readFileSync(held));
process.exit(main || boots);
