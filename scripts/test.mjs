#!/usr/bin/env node
// Runs every test file under test/ with Node's test runner and tsx. Files run one at a time
// (boot tests must not overlap; oracle tests are I/O bound). Pass file filters as arguments:
//   npm test -- ext4 fat
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
// The oracles (sfdisk, sgdisk, e2fsck, fsck.fat, mtools, qemu-img, qemu-system, ...) come from
// Debian packages; install them first if any is missing.
const oracles = ['sfdisk', 'sgdisk', 'parted', 'e2fsck', 'debugfs', 'fsck.fat', 'mcopy', 'qemu-img', 'qemu-system-x86_64', 'zstd', 'xz', 'bzip2', 'cpio', 'getfattr'];
const missing = oracles.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
if (missing.length) {
  console.error(`installing reference tools (missing: ${missing.join(' ')})`);
  const r = spawnSync('bash', ['scripts/install-oracles.sh'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const filters = process.argv.slice(2);
const files = find('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) { console.error('no test files match', filters); process.exit(1); }
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
