/**
 * Nix (issue 13): nix/make-disk-image.nix, make-disk-image's arguments run through diskwright in
 * one derivation, built by the real `nix-build` (Debian's nix-bin 2.8) with no nixpkgs: the
 * derivation's only inputs are store paths the test adds — this node with its shared libraries and
 * the built npm package (nix/stage-runtime.mjs) — and the contents' sources. Each run uses a
 * fresh chroot store under a temporary directory (`--store DIR`, so the host's /nix is never
 * touched and runs are independent), which builds in the Nix sandbox: no network, no /bin/sh,
 * nothing of the host visible; substituters are off.
 *
 * Judged by the reference tools: the EFI image by sgdisk, sfdisk, e2fsck, debugfs, fsck.fat and
 * mtools; the qcow2-compressed hybrid image by qemu-img check, then sgdisk on its raw conversion.
 * hydra-build-products must be make-disk-image's line. A second nix-build with max-jobs 0 (Nix may
 * build nothing) must give the same out paths from the store, and `--check` rebuilds the EFI image
 * and requires the same bytes.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/disk.js';
import { needsRoot } from '../helpers/root.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { judgeEfiImage, notBuilt, sha256File, stageRuntime, writeInputs } from './helpers.js';

const noNix = spawnSync('sh', ['-c', 'command -v nix-build']).status !== 0
  && 'nix-build is not installed (Debian package nix-bin; scripts/install-oracles.sh installs it as root)';
const skip = noNix || notBuilt || needsRoot('a Nix chroot store builds in the Nix sandbox, which needs root here');

const { dir, cleanup } = tempDir('dw-nix-');
after(cleanup);

/** nix-build against the test's own store, configuration and cache; never the host's. */
function nixBuild(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, NIX_CONF_DIR: join(dir, 'conf'), XDG_CACHE_HOME: join(dir, 'cache'), XDG_CONFIG_HOME: join(dir, 'config') };
  delete env.NIX_REMOTE;
  delete env.NIX_PATH;
  const r = spawnSync('nix-build', [
    '--store', join(dir, 'store'),
    '--option', 'substituters', '', '--option', 'sandbox', 'true', '--option', 'build-users-group', '',
    '--no-out-link', ...args,
  ], { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** Where a /nix/store path of the chroot store is on this host. */
const onHost = (storePath: string): string => join(dir, 'store', storePath);

test('nix-build makes make-disk-image layouts with diskwright in the sandbox, then serves them from the store', { skip }, () => {
  mkdirSync(join(dir, 'conf'));
  const { pkg, node } = stageRuntime(join(dir, 'runtime'));
  const inputs = writeInputs(join(dir, 'inputs'));
  const ld = readdirSync(join(node, 'lib')).find((n) => n.startsWith('ld-linux'));
  assert.ok(ld, 'the staged node has its ELF interpreter');
  const nix = join(dir, 'images.nix');
  const str = JSON.stringify;
  writeFileSync(nix, `
let
  rt = builtins.path { path = ${str(node)}; name = "host-node"; };
  diskwright = builtins.path { path = ${str(pkg)}; name = "diskwright"; };
  makeDiskImage = import ${str(join(ROOT, 'nix/make-disk-image.nix'))};
  common = {
    inherit diskwright;
    nodeCommand = [ "\${rt}/lib/${ld}" "--library-path" "\${rt}/lib" "\${rt}/bin/node" ];
    additionalSpace = "8M";
    bootSize = "64M";
    contents = [
      { source = ${inputs.tree}; target = "/"; }
      { source = ${inputs.hosts}; target = "/etc/hosts"; mode = "0600"; user = "root"; group = "root"; }
    ];
    bootContents = [ { source = ${inputs.esp}; target = "/"; } ];
  };
in {
  efi = makeDiskImage (common // { name = "efi-raw"; partitionTableType = "efi"; });
  hybrid = makeDiskImage (common // { name = "hybrid-qcow2"; partitionTableType = "hybrid"; format = "qcow2-compressed"; });
}
`);

  const first = nixBuild([nix]);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /these 2 derivations will be built/);
  const [efiOut, hybridOut] = first.stdout.trim().split('\n');
  assert.match(efiOut ?? '', /^\/nix\/store\/[0-9a-z]{32}-efi-raw$/);
  assert.match(hybridOut ?? '', /^\/nix\/store\/[0-9a-z]{32}-hybrid-qcow2$/);

  // make-disk-image's product line, then diskwright's report.
  assert.equal(readFileSync(onHost(`${efiOut}/nix-support/hydra-build-products`), 'utf8'),
    `file raw-image ${efiOut}/nixos.img\nfile json ${efiOut}/report.json\n`);
  assert.equal(readFileSync(onHost(`${hybridOut}/nix-support/hydra-build-products`), 'utf8'),
    `file qcow2-image ${hybridOut}/nixos.qcow2\nfile json ${hybridOut}/report.json\n`);

  const efiImg = onHost(`${efiOut}/nixos.img`);
  const scratch = join(dir, 'scratch');
  mkdirSync(scratch);
  judgeEfiImage(efiImg, inputs, scratch);
  const report = JSON.parse(readFileSync(onHost(`${efiOut}/report.json`), 'utf8')) as { sha256: string };
  assert.equal(report.sha256, sha256File(efiImg), 'the report names the image it came with');

  const qcow = onHost(`${hybridOut}/nixos.qcow2`);
  runOk('qemu-img', ['check', qcow]);
  assert.equal((JSON.parse(runOk('qemu-img', ['info', '--output=json', qcow])) as { format: string }).format, 'qcow2');
  const hybridRaw = join(scratch, 'hybrid.raw');
  runOk('qemu-img', ['convert', '-O', 'raw', qcow, hybridRaw]);
  assert.match(runOk('sgdisk', ['-v', hybridRaw]), /No problems found/);
  const parts = runOk('sgdisk', ['-p', hybridRaw]);
  assert.match(parts, /\n\s+1\s+16384\s+\d+.*EF00\s+ESP/);
  assert.match(parts, /\n\s+2\s+34\s+2048\s.*EF02\s+no-fs/);

  // Again: everything comes from the store. max-jobs 0 forbids building anything locally, so a
  // derivation that was not already valid would fail here.
  const again = nixBuild(['--option', 'max-jobs', '0', nix]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout, first.stdout);
  assert.doesNotMatch(again.stderr, /will be built|building '/);

  // --check runs the builder once more and fails unless the output is bit-identical (determinism).
  const check = nixBuild(['--check', '-A', 'efi', nix]);
  assert.equal(check.status, 0, check.stderr);
  assert.equal(check.stdout.trim(), efiOut);
});
