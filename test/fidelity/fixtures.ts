/** Shared pieces of the fidelity tests: root checks, an ext4 scratch mount, oracle listings. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { needsRoot } from '../helpers/root.js';
import { run, runOk } from '../helpers/tools.js';

/** node:test `skip` for the tests that chown, set trusted.* xattrs and file capabilities, and loop-mount. */
export const SKIP_UNLESS_ROOT = needsRoot('chown, trusted.* xattrs, setcap, loop mounts');

/** `sh -c` that must succeed. */
export function sh(cmd: string, cwd?: string): string {
  return runOk('sh', ['-c', cmd], cwd === undefined ? {} : { cwd });
}

/**
 * An ext4 filesystem of `mib` MiB made by mkfs.ext4 and mounted read-write through a loop device:
 * a source tree whose filesystem keeps every xattr namespace and ACLs, whatever /tmp is (tmpfs
 * keeps user.* only on recent kernels). `ea_inode` lets it hold values larger than a block (the
 * too-large case). Returns the mount point and an unmount-and-forget function.
 */
export function scratchExt4(dir: string, name: string, mib: number, extra: string[] = []): { mnt: string; umount: () => void } {
  const img = join(dir, `${name}.ext4`);
  const mnt = join(dir, name);
  mkdirSync(mnt, { recursive: true });
  runOk('mkfs.ext4', ['-q', '-F', '-b', '4096', '-I', '256', ...extra, img, `${mib}M`]);
  runOk('mount', ['-o', 'loop,rw', img, mnt]);
  let mounted = true;
  return { mnt, umount: () => { if (mounted) { run('umount', [mnt]); mounted = false; } } };
}

/** Mount an image read-only (loop; `offset` for a partition), run fn, always unmount. */
export function withRoMount<T>(img: string, mnt: string, type: 'ext4' | 'vfat', fn: (dir: string) => T, offset?: number): T {
  mkdirSync(mnt, { recursive: true });
  runOk('mount', ['-o', `loop,ro${offset !== undefined ? `,offset=${offset}` : ''}`, '-t', type, img, mnt]);
  try {
    return fn(mnt);
  } finally {
    runOk('umount', [mnt]);
  }
}

/** getfattr -R output as sorted "path name=value" lines (readdir and list orders differ by fs). */
export function xattrLines(dir: string): string[] {
  const outText = runOk('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '.'], { cwd: dir });
  const lines: string[] = [];
  let file = '';
  for (const l of outText.split('\n')) {
    if (l.startsWith('# file: ')) file = l.slice(8);
    else if (l.includes('=')) lines.push(`${file} ${l}`);
  }
  return lines.sort();
}

/** getfacl -R blocks, sorted, lost+found left out (the image has its own). */
export function aclBlocks(dir: string): string[] {
  return runOk('getfacl', ['-R', '-P', '-p', '-n', '.'], { cwd: dir }).split('\n\n').map((b) => b.trim()).filter((b) => b !== '' && !b.startsWith('# file: ./lost+found')).sort();
}

/** getcap -r lines, sorted. */
export const capLines = (dir: string): string[] => runOk('getcap', ['-r', '.'], { cwd: dir }).split('\n').filter(Boolean).sort();

/** `uid:gid mode type path` of every node under dir, lost+found left out, sorted. */
export function listing(dir: string, owners: 'host' | 'root'): string[] {
  return runOk('find', ['.', '-path', './lost+found', '-prune', '-o', '-printf', '%U:%G %#m %y %p\\n'], { cwd: dir }).split('\n').filter(Boolean)
    .map((l) => (owners === 'root' ? l.replace(/^\d+:\d+/, '0:0') : l)).sort();
}
