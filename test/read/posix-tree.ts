/**
 * The source tree of the ISO 9660 and squashfs read tests: owners, modes with setuid/setgid/sticky,
 * symlinks (relative, absolute, long), hard links, devices and a FIFO (as root), xattrs, a sparse
 * file, a file of several blocks, a compressible file (zisofs, squashfs blocks), long names, and
 * directories deeper than 8 levels (Rock Ridge relocation). Times are whole seconds (both formats
 * keep seconds).
 */
import { closeSync, linkSync, mkdirSync, openSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../helpers/prng.js';
import { IS_ROOT } from '../helpers/root.js';
import { runOk } from '../helpers/tools.js';

export function posixTree(dir: string, name = 'posix-src'): string {
  const rand = prng('posix-tree');
  const root = join(dir, name);
  const deep = 'd1/d2/d3/d4/d5/d6/d7/d8/d9/d10';
  for (const d of ['etc', 'usr/bin', 'srv', 'home/alice', 'dev', 'var/tmp', deep]) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'etc/os-release'), 'ID=diskwright\n');
  writeFileSync(join(root, 'etc/empty'), '');
  writeFileSync(join(root, 'usr/bin/tool'), rand.bytes(300_000));
  linkSync(join(root, 'usr/bin/tool'), join(root, 'usr/bin/tool-link'));
  writeFileSync(join(root, 'srv/text.txt'), 'compressible line of text\n'.repeat(8000));
  writeFileSync(join(root, `srv/${'long-name-'.repeat(20)}end`), 'a long name\n');
  writeFileSync(join(root, deep, 'bottom.txt'), 'eleven levels down\n');
  symlinkSync('tool', join(root, 'usr/bin/short-link'));
  symlinkSync('/etc/os-release', join(root, 'usr/bin/absolute-link'));
  symlinkSync(`../../${'x'.repeat(200)}/target`, join(root, 'usr/bin/long-link'));
  const fd = openSync(join(root, 'srv/sparse.img'), 'w');
  writeSync(fd, rand.bytes(5000), 0, 5000, 0);
  writeSync(fd, Buffer.from('end'), 0, 3, (3 << 20) - 3);
  closeSync(fd);
  writeFileSync(join(root, 'home/alice/notes'), 'alice\n');
  runOk('chown', ['-R', '1000:1000', join(root, 'home/alice')]);
  runOk('chmod', ['4755', join(root, 'usr/bin/tool')]);
  runOk('chmod', ['2750', join(root, 'home/alice')]);
  runOk('chmod', ['1777', join(root, 'var/tmp')]);
  runOk('chmod', ['0600', join(root, 'etc/empty')]);
  runOk('setfattr', ['-n', 'user.comment', '-v', 'read back', join(root, 'etc/os-release')]);
  runOk('setfattr', ['-n', 'user.bin', '-v', '0x00ff10', join(root, 'usr/bin/tool')]);
  if (IS_ROOT) {
    runOk('mknod', [join(root, 'dev/null'), 'c', '1', '3']);
    runOk('mknod', [join(root, 'dev/sda'), 'b', '8', '0']);
    runOk('mkfifo', [join(root, 'dev/fifo')]);
  }
  runOk('find', [root, '-exec', 'touch', '-h', '-d', '2021-03-04 05:06:07', '{}', '+']);
  return root;
}
