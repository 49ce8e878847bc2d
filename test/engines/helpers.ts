/**
 * What the build-engine tests share: the staged runtime an engine runs diskwright with
 * (nix/stage-runtime.mjs: the npm package with its production node_modules, and this node with its
 * shared libraries), a small input tree, and the verdict on an EFI image made from it — by the
 * reference tools only (sfdisk, sgdisk, e2fsck, debugfs, fsck.fat, mtools), never by our reader.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, sfdiskJson } from '../helpers/disk.js';
import { prng } from '../helpers/prng.js';
import { runOk } from '../helpers/tools.js';

/** Why the engine tests cannot run without a built package, or false. */
export const notBuilt = !existsSync(join(ROOT, 'dist/cli/diskwright.cjs')) && 'the CLI is not bundled: run npm run build first (the engines run the built package)';

/** Stage the package and node under `dir` (dir/diskwright, dir/node); returns both paths. */
export function stageRuntime(dir: string): { pkg: string; node: string } {
  runOk(process.execPath, [join(ROOT, 'nix/stage-runtime.mjs'), dir]);
  return { pkg: join(dir, 'diskwright'), node: join(dir, 'node') };
}

/** The test's inputs: a root tree, a file with its own mode, an ESP tree. Seeded, so rebuilds are identical. */
export interface Inputs { tree: string; hosts: string; esp: string; blob: Buffer }
export function writeInputs(dir: string): Inputs {
  const tree = join(dir, 'tree');
  const esp = join(dir, 'esp');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  mkdirSync(join(tree, 'usr/share/doc'), { recursive: true });
  mkdirSync(join(esp, 'EFI/BOOT'), { recursive: true });
  const blob = prng('engines').bytes(150_000);
  writeFileSync(join(tree, 'etc/motd'), 'built by a build engine\n');
  writeFileSync(join(tree, 'usr/share/doc/blob'), blob);
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, '127.0.0.1 localhost\n');
  writeFileSync(join(esp, 'EFI/BOOT/BOOTX64.EFI'), 'not really an EFI binary\n');
  return { tree, hosts, esp, blob };
}

function copyRange(img: string, start: number, length: number, out: string): void {
  const fdIn = openSync(img, 'r');
  const fdOut = openSync(out, 'w');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let done = 0; done < length;) {
      const n = readSync(fdIn, buf, 0, Math.min(buf.length, length - done), start + done);
      assert.ok(n > 0, `${img}: short read at ${start + done}`);
      writeSync(fdOut, buf, 0, n);
      done += n;
    }
  } finally { closeSync(fdIn); closeSync(fdOut); }
}

/**
 * Judge a raw image of `layout: efi` built from writeInputs' files: GPT valid (sgdisk -v), an ESP
 * and a Linux partition with make-disk-image's fixed GUIDs (sfdisk --json), the ext4 root clean
 * (e2fsck -fn) holding the files with the modes asked (debugfs), the ESP clean (fsck.fat -n) with
 * BOOTX64.EFI (mcopy). Partitions are copied out at the offsets sfdisk reports.
 */
export function judgeEfiImage(img: string, inputs: Inputs, scratch: string): void {
  assert.match(runOk('sgdisk', ['-v', img]), /No problems found/);
  const table = sfdiskJson(img);
  assert.equal(table.label, 'gpt');
  assert.equal(table.id.toUpperCase(), '97FD5997-F390-0B4A-A3F8-D106C1723AEA');
  const [esp, root] = table.partitions;
  assert.ok(esp && root && table.partitions.length === 2, `two partitions: ${JSON.stringify(table.partitions)}`);
  assert.equal(esp.type.toUpperCase(), 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  assert.equal(esp.uuid?.toUpperCase(), '1C06F03B-704E-4657-B9CD-681A087A2FDC');
  assert.equal(esp.start, 8 * 2048, 'the ESP starts at 8 MiB');
  assert.equal(root.uuid?.toUpperCase(), 'F222513B-DED1-49FA-B591-20CE86A2FE7F');

  const rootImg = join(scratch, 'root.ext4');
  copyRange(img, root.start * 512, root.size * 512, rootImg);
  runOk('e2fsck', ['-fn', rootImg]);
  assert.match(runOk('dumpe2fs', ['-h', rootImg]), /Filesystem UUID:\s+f222513b-ded1-49fa-b591-20ce86a2fe7f/);
  assert.match(runOk('dumpe2fs', ['-h', rootImg]), /Filesystem volume name:\s+nixos/);
  assert.equal(runOk('debugfs', ['-R', 'cat /etc/motd', rootImg]), 'built by a build engine\n');
  assert.equal(runOk('debugfs', ['-R', 'cat /etc/hosts', rootImg]), '127.0.0.1 localhost\n');
  const blobOut = join(scratch, 'blob');
  runOk('debugfs', ['-R', `dump /usr/share/doc/blob ${blobOut}`, rootImg]);
  assert.equal(createHash('sha256').update(readFileSync(blobOut)).digest('hex'), createHash('sha256').update(inputs.blob).digest('hex'));
  const hostsStat = runOk('debugfs', ['-R', 'stat /etc/hosts', rootImg]);
  assert.match(hostsStat, /Mode:\s+0600/);
  assert.match(hostsStat, /User:\s+0\s+Group:\s+0/);

  const espImg = join(scratch, 'esp.fat');
  copyRange(img, esp.start * 512, esp.size * 512, espImg);
  runOk('fsck.fat', ['-n', espImg]);
  assert.equal(runOk('mtype', ['-i', espImg, '::/EFI/BOOT/BOOTX64.EFI']).replace(/\r/g, ''), 'not really an EFI binary\n');
}

/** sha256 of a file, hex. */
export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
