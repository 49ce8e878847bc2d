/**
 * Source trees for the file-command tests: everything ext4 keeps (modes with setuid/setgid/sticky,
 * owners, nanosecond times, hard links, short, long, absolute and dangling symlinks, a sparse
 * file, a directory large enough to be hashed (htree), xattrs and an ACL, devices and a fifo when
 * root), and what FAT keeps (long and mixed-case names, nested directories, times).
 */
import { closeSync, linkSync, mkdirSync, openSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../helpers/prng.js';
import { IS_ROOT } from '../helpers/root.js';
import { runOk } from '../helpers/tools.js';

/** A time well inside a microsecond (utimes keeps microseconds through a double). */
const NS_TIME = '2021-03-04 05:06:07.123456789';

export function ext4Tree(dir: string): string {
  const rand = prng('ext4-tree');
  const root = join(dir, 'ext4-src');
  for (const d of ['etc', 'usr/bin', 'srv/big', 'home/alice', 'dev', 'var/tmp']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'etc/os-release'), 'ID=diskwright\n');
  writeFileSync(join(root, 'etc/empty'), '');
  writeFileSync(join(root, 'usr/bin/tool'), rand.bytes(150_000));
  linkSync(join(root, 'usr/bin/tool'), join(root, 'usr/bin/tool-link'));
  writeFileSync(join(root, `usr/${'long-name-'.repeat(24)}end`), 'a name of 253 bytes\n');
  writeFileSync(Buffer.concat([Buffer.from(join(root, 'etc/')), Buffer.from('caf\xe9-latin1', 'latin1')]), 'not UTF-8\n');
  symlinkSync('tool', join(root, 'usr/bin/short-link'));
  symlinkSync(`../../${'x'.repeat(90)}/target`, join(root, 'usr/bin/slow-link'));
  symlinkSync('/etc/os-release', join(root, 'usr/bin/absolute-link'));
  symlinkSync('nowhere', join(root, 'usr/bin/dangling'));
  for (let i = 0; i < 400; i++) writeFileSync(join(root, 'srv/big', `entry-${String(i).padStart(4, '0')}-${'n'.repeat(i % 40)}`), String(i));
  // A sparse file: data at its start, in its middle and at its end, holes between.
  const fd = openSync(join(root, 'srv/sparse.img'), 'w');
  writeSync(fd, rand.bytes(5000), 0, 5000, 0);
  writeSync(fd, rand.bytes(4096), 0, 4096, 9 << 20);
  writeSync(fd, Buffer.from('end'), 0, 3, (24 << 20) - 3);
  closeSync(fd);
  writeFileSync(join(root, 'home/alice/notes'), 'alice\n');
  runOk('chown', ['-R', '1000:1000', join(root, 'home/alice')]);
  runOk('chmod', ['4755', join(root, 'usr/bin/tool')]);
  runOk('chmod', ['2750', join(root, 'home/alice')]);
  runOk('chmod', ['1777', join(root, 'var/tmp')]);
  runOk('chmod', ['0600', join(root, 'etc/empty')]);
  runOk('setfattr', ['-n', 'user.comment', '-v', 'read back', join(root, 'etc/os-release')]);
  runOk('setfattr', ['-n', 'user.bin', '-v', '0x00ff10', join(root, 'usr/bin/tool')]);
  runOk('setfacl', ['-m', 'u:1000:rx', join(root, 'srv')]);
  if (IS_ROOT) {
    runOk('setfattr', ['-n', 'trusted.note', '-v', 'root only', join(root, 'etc/os-release')]);
    runOk('mknod', [join(root, 'dev/null'), 'c', '1', '3']);
    runOk('mknod', [join(root, 'dev/sda'), 'b', '8', '0']);
    runOk('mknod', [join(root, 'dev/big'), 'c', '300', '70000']);
    runOk('mkfifo', [join(root, 'dev/fifo')]);
  }
  // Times last (writing into a directory changes its mtime), without following symlinks.
  runOk('find', [root, '-exec', 'touch', '-h', '-d', NS_TIME, '{}', '+']);
  return root;
}

export function fatTree(dir: string): string {
  const rand = prng('fat-tree');
  const root = join(dir, 'fat-src');
  for (const d of ['EFI/BOOT', 'loader/entries', 'Mixed Case Dir/sub dir']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'EFI/BOOT/BOOTX64.EFI'), rand.bytes(70_000));
  writeFileSync(join(root, 'loader/loader.conf'), 'timeout 3\n');
  writeFileSync(join(root, 'loader/entries/a long entry name.conf'), 'title A\n');
  writeFileSync(join(root, 'Mixed Case Dir/sub dir/README.txt'), 'mixed\n');
  writeFileSync(join(root, 'Mixed Case Dir/lower.txt'), '');
  for (let i = 0; i < 40; i++) writeFileSync(join(root, 'loader/entries', `entry ${i}.conf`), `title ${i}\n`);
  runOk('find', [root, '-exec', 'touch', '-d', '2022-06-07 08:09:10', '{}', '+']);
  return root;
}
