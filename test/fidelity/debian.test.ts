/**
 * Issue 15 on a real tree: a debootstrap'd Debian (minbase + iputils-ping, whose postinst gives
 * ping cap_net_raw) built with `owners: host` must mount with the same owners (root:shadow 0640
 * /etc/shadow, setgid-shadow unix_chkpwd and chage, setuid su/passwd), modes, xattrs and file
 * capabilities, and equal its source tree file by file (test/helpers/compare-tree.ts).
 *
 * debootstrap fetches from the Debian mirror apt is configured with on this machine (the only
 * network the project uses); when it cannot, the test is skipped, saying why.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildImage } from '../../src/build.js';
import { buildTree } from '../../src/tree/build.js';
import { assertFsckClean } from '../ext4/ext4-helpers.js';
import { compareTreeToDir } from '../helpers/compare-tree.js';
import { run } from '../helpers/tools.js';
import { capLines, listing, SKIP_UNLESS_ROOT, withRoMount, xattrLines } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'dw-fid-debian-'));
const target = join(dir, 'root');

after(() => {
  // debootstrap mounts proc/sys in its target while it runs: never let a removal cross a mount.
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(dir + '/')).sort().reverse();
  for (const m of mounts) run('umount', ['-l', m]);
  run('rm', ['-rf', '--one-file-system', dir]);
});

/** The Debian mirror and suite apt uses here (deb822 or one-line sources), or why there is none. */
function aptMirror(): { uri: string; suite: string } | string {
  const codename = /^VERSION_CODENAME=(\S+)/m.exec(existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '')?.[1];
  if (!codename) return 'not a Debian host (no VERSION_CODENAME)';
  const texts = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'].filter(existsSync).map((f) => readFileSync(f, 'utf8'));
  for (const t of texts) {
    const deb822 = /^URIs:\s*(\S+)\s*\nSuites:\s*([^\n]*)/m.exec(t);
    if (deb822 && deb822[2]!.split(/\s+/).includes(codename)) return { uri: deb822[1]!, suite: codename };
    const line = new RegExp(`^deb\\s+(?:\\[[^\\]]*\\]\\s+)?(\\S+)\\s+${codename}\\s`, 'm').exec(t);
    if (line) return { uri: line[1]!, suite: codename };
  }
  return `no apt source for ${codename}`;
}

function why(): string | false {
  if (SKIP_UNLESS_ROOT) return SKIP_UNLESS_ROOT;
  if (run('sh', ['-c', 'command -v debootstrap']).status !== 0) return 'debootstrap is not installed (scripts/install-oracles.sh installs it)';
  const m = aptMirror();
  return typeof m === 'string' ? m : false;
}

test('a debootstrap\'d Debian tree keeps owners, modes, xattrs and capabilities with owners: host', { skip: why(), timeout: 600_000 }, async (t) => {
  const m = aptMirror() as { uri: string; suite: string };
  const r = run('timeout', ['300', 'debootstrap', '--variant=minbase', '--include=iputils-ping,libcap2-bin', m.suite, target, m.uri]);
  if (r.status !== 0) {
    t.skip(`debootstrap from ${m.uri} failed (exit ${r.status}; no network to the mirror?): ${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 200)}`);
    return;
  }
  // The source is what the issue describes.
  const src = listing(target, 'host');
  assert.ok(src.includes('0:42 0640 f ./etc/shadow'), 'shadow is root:shadow 0640');
  assert.ok(src.some((l) => /^0:42 02755 f \.\/usr\/sbin\/unix_chkpwd$/.test(l)), 'unix_chkpwd is setgid shadow');
  const caps = capLines(target);
  assert.ok(caps.some((l) => /ping cap_net_raw=e?p/.test(l)), caps.join('\n'));

  const img = join(dir, 'debian.img');
  const report = await buildImage({ name: 'debian', table: 'none', partitions: [{ name: 'root', filesystem: 'ext4', contents: [{ source: target, target: '/', owners: 'host' }] }] }, { output: img, env: {} });
  assert.equal(report.warnings, undefined);
  assertFsckClean(img);
  const tree = buildTree([{ source: target, target: '/', owners: 'host' }], { baseDir: '/', epoch: undefined, specPath: 'contents' });
  const xattrs = xattrLines(target);
  withRoMount(img, join(dir, 'mnt'), 'ext4', (mnt) => {
    assert.deepEqual(listing(mnt, 'host'), src);
    assert.deepEqual(capLines(mnt), caps);
    assert.deepEqual(xattrLines(mnt), xattrs);
    assert.deepEqual(compareTreeToDir(tree, mnt, { ignore: ['/lost+found'] }), []);
  });
});
