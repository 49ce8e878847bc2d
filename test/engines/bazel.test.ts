/**
 * Bazel (issue 13): bazel/defs.bzl's diskwright_image rule built by the Bazel binary the npm
 * registry ships (@bazel/bazel, 2.1.0: the newest there), offline, in a workspace generated under a
 * temporary directory. Its inputs are declared labels only: the spec, the tree's files, the staged
 * node and diskwright package (nix/stage-runtime.mjs, as local repositories) and action.mjs; the
 * action runs in Bazel's sandbox, which presents exactly those inputs.
 *
 * The first build runs the two actions (the execution log says where: a sandbox) and fills a disk
 * cache; the EFI image is judged by sgdisk, sfdisk, e2fsck, debugfs, fsck.fat and mtools, the
 * qcow2 one by qemu-img. Then a copy of the workspace in another directory, with another output
 * base and only the disk cache shared, builds the same targets: every action must be a cache hit
 * (the execution log's remoteCacheHit, the "2 remote cache hit" summary) and the images the same
 * bytes — which holds only when no action key carries a path or anything else of the first
 * checkout, as a remote cache shared by many machines needs. Bazel runs with --batch: no server is
 * left behind.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from '../helpers/disk.js';
import { runOk, tempDir } from '../helpers/tools.js';
import { judgeEfiImage, notBuilt, sha256File, stageRuntime, writeInputs } from './helpers.js';

/** The Bazel binary of @bazel/bazel's platform package, or why there is none. */
function bazelBinary(): string | { skip: string } {
  try {
    const shim = createRequire(join(ROOT, 'package.json'))('@bazel/bazel') as { getNativeBinary(): string };
    return shim.getNativeBinary();
  } catch (e) {
    return { skip: `@bazel/bazel has no binary here (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); npm ci installs it on linux x64` };
  }
}
const found = bazelBinary();
const skip = (typeof found !== 'string' && found.skip) || notBuilt;

const { dir, cleanup } = tempDir('dw-bazel-');
after(cleanup);

interface Spawn { mnemonic?: string; runner?: string; remoteCacheHit?: boolean; remotable?: boolean; cacheable?: boolean; actualOutputs?: { path: string }[] }
/** The execution log: a stream of JSON objects, one per spawn. */
function spawns(file: string): Spawn[] {
  const text = readFileSync(file, 'utf8');
  const out: Spawn[] = [];
  let depth = 0; let start = -1; let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) { if (c === '\\') i++; else if (c === '"') inString = false; continue; }
    if (c === '"') inString = true;
    else if (c === '{') { if (depth++ === 0) start = i; }
    else if (c === '}' && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)) as Spawn);
  }
  return out.filter((s) => s.mnemonic === 'DiskwrightImage');
}

test('bazel builds diskwright_image in its sandbox, hermetically, then from the cache in another checkout', { skip }, () => {
  const bazel = join(dir, 'bazel');
  copyFileSync(found as string, bazel); // the package ships it without the executable bit
  runOk('chmod', ['0755', bazel]);
  const { pkg, node } = stageRuntime(join(dir, 'runtime'));
  const ws = join(dir, 'ws1');
  const inputs = writeInputs(ws);
  const str = JSON.stringify;
  writeFileSync(join(ws, 'WORKSPACE'), `workspace(name = "fleet")
local_repository(name = "diskwright_rules", path = ${str(join(ROOT, 'bazel'))})
new_local_repository(name = "diskwright_node", path = ${str(node)},
    build_file_content = 'alias(name = "node", actual = "bin/node", visibility = ["//visibility:public"])')
new_local_repository(name = "diskwright_package", path = ${str(pkg)},
    build_file_content = 'filegroup(name = "package", srcs = glob(["**"]), visibility = ["//visibility:public"])')
`);
  // A filesystem tree is a package: each file goes to its path below the package.
  const group = 'filegroup(name = "files", srcs = glob(["**"], exclude = ["BUILD.bazel"]), visibility = ["//visibility:public"])\n';
  writeFileSync(join(ws, 'tree/BUILD.bazel'), group);
  writeFileSync(join(ws, 'esp/BUILD.bazel'), group);
  writeFileSync(join(ws, 'BUILD.bazel'), `load("@diskwright_rules//:defs.bzl", "diskwright_image")
[diskwright_image(
    name = name,
    spec = "efi.yaml",
    contents = {"//tree:files": "root", "//esp:files": "boot"},
    data = ["hosts"],
    format = format,
) for name, format in [("efi", "raw"), ("efi-qcow2", "qcow2")]]
`);
  writeFileSync(join(ws, 'efi.yaml'), `layout: efi
bootSize: 64M
additionalSpace: 8M
sourceDateEpoch: 1
root:
  contents:
    - { source: hosts, target: /etc/hosts, mode: "0600", user: root, group: root }
`);
  const ws2 = join(dir, 'ws2');
  cpSync(ws, ws2, { recursive: true });

  const cache = join(dir, 'cache');
  const build = (workspace: string, base: string, log: string): string => {
    const r = spawnSync(bazel, [
      '--batch', `--output_base=${join(dir, base)}`, `--install_base=${join(dir, 'install')}`, '--nohome_rc', '--nosystem_rc',
      'build', `--disk_cache=${cache}`, `--execution_log_json_file=${join(dir, log)}`, '--noshow_progress', '//:efi', '//:efi-qcow2',
    ], { cwd: workspace, encoding: 'utf8', env: { ...process.env, HOME: join(dir, 'home') }, maxBuffer: 64 << 20 });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, `bazel build in ${workspace}:\n${r.stderr}`);
    return r.stderr;
  };

  const first = build(ws, 'base1', 'exec1.json');
  const ran = spawns(join(dir, 'exec1.json'));
  assert.equal(ran.length, 2, first);
  for (const s of ran) {
    assert.equal(s.remoteCacheHit ?? false, false);
    assert.match(s.runner ?? '', /sandbox/, `the action ran sandboxed (${s.runner})`);
    assert.equal(s.remotable, true);
    assert.equal(s.cacheable, true);
  }
  const img = join(ws, 'bazel-bin/efi.img');
  const scratch = join(dir, 'scratch');
  mkdirSync(scratch);
  judgeEfiImage(img, inputs, scratch);
  const report = JSON.parse(readFileSync(join(ws, 'bazel-bin/efi.report.json'), 'utf8')) as { sha256: string; format: string };
  assert.equal(report.sha256, sha256File(img));
  const qcow = join(ws, 'bazel-bin/efi-qcow2.qcow2');
  runOk('qemu-img', ['check', qcow]);
  runOk('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', img, qcow]);

  const second = build(ws2, 'base2', 'exec2.json');
  assert.match(second, /INFO: 2 processes: 2 remote cache hit\./);
  const hits = spawns(join(dir, 'exec2.json'));
  assert.equal(hits.length, 2);
  for (const s of hits) assert.equal(s.remoteCacheHit, true, `a cache hit: ${JSON.stringify(s.actualOutputs)}`);
  assert.equal(sha256File(join(ws2, 'bazel-bin/efi.img')), sha256File(img));
  assert.equal(sha256File(join(ws2, 'bazel-bin/efi-qcow2.qcow2')), sha256File(qcow));
});
