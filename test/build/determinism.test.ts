import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, ROOT } from '../helpers/disk.js';
import { runOk, tempDir } from '../helpers/tools.js';

/**
 * docs/ARCHITECTURE.md §4: same spec + same inputs give the same bytes whatever the time zone, umask or
 * locale of the build (FAT times are UTC, nothing reads the clock). The example EFI disk has a
 * FAT ESP and an ext4 root; it is built in three environments and in two containers.
 */
const { dir, cleanup } = tempDir('dw-determinism-');
after(cleanup);

function build(out: string, env: Record<string, string>, umask: string, format = 'raw'): string {
  const cmd = `umask ${umask} && exec ${JSON.stringify(process.execPath)} ${CLI.map((a) => JSON.stringify(a)).join(' ')} build ${JSON.stringify(join(ROOT, 'examples/efi-disk.yaml'))} -o ${JSON.stringify(out)} --format ${format} -q`;
  const r = spawnSync('sh', ['-c', cmd], { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return runOk('sha256sum', [out]).split(' ')[0]!;
}

test('the same image in every time zone, umask and locale', () => {
  const a = build(join(dir, 'a.img'), { TZ: 'UTC', LANG: 'C' }, '022');
  const b = build(join(dir, 'b.img'), { TZ: 'Pacific/Kiritimati', LANG: 'de_DE.UTF-8' }, '077');
  const c = build(join(dir, 'c.img'), { TZ: 'America/St_Johns', LC_ALL: 'tr_TR.UTF-8' }, '000');
  assert.equal(b, a);
  assert.equal(c, a);
  const q1 = build(join(dir, 'a.qcow2'), { TZ: 'UTC' }, '022', 'qcow2');
  const q2 = build(join(dir, 'b.qcow2'), { TZ: 'Asia/Kathmandu' }, '077', 'qcow2');
  assert.equal(q2, q1);
});
