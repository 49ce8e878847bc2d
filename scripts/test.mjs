#!/usr/bin/env node
// Type-checks src, test and bench (tsconfig.test.json), then runs every test file under test/ with
// Node's test runner and tsx. Files run one at a time (boot tests must not overlap; oracle tests
// are I/O bound). Pass file filters as arguments:
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
const oracles = ['sfdisk', 'sgdisk', 'parted', 'e2fsck', 'debugfs', 'fsck.fat', 'mcopy', 'qemu-img', 'qemu-system-x86_64', 'zstd', 'xz', 'bzip2', 'cpio', 'getfattr', 'setfacl', 'getcap', '/usr/bin/time'];
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
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
