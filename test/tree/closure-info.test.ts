import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../../src/build.js';
import { runOk, tempDir } from '../helpers/tools.js';

/**
 * A Nix closureInfo (store-paths + registration) lands as make-ext4-fs.nix lays it out: every
 * store path at its own path, the registration at /nix-path-registration. Read back with debugfs.
 */
test('closureInfo: store paths and nix-path-registration in an ext4 image (debugfs)', async () => {
  const { dir, cleanup } = tempDir('dw-closure-');
  const store = '/nix/store';
  const paths = [`${store}/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p-diskwright-test-a-${process.pid}`, `${store}/zz1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p-diskwright-test-b-${process.pid}`];
  try {
    mkdirSync(join(paths[0]!, 'bin'), { recursive: true });
    writeFileSync(join(paths[0]!, 'bin', 'hello'), '#!/bin/sh\necho hello\n', { mode: 0o555 });
    mkdirSync(paths[1]!, { recursive: true });
    writeFileSync(join(paths[1]!, 'data'), 'b\n');
    const ci = join(dir, 'closure-info');
    mkdirSync(ci);
    writeFileSync(join(ci, 'store-paths'), paths.slice().reverse().join('\n') + '\n');
    writeFileSync(join(ci, 'registration'), `${paths[0]}\nsha256:0\n0\n\n0\n`);
    const img = join(dir, 'root.img');
    await buildImage({ sourceDateEpoch: 1, table: 'none', partitions: [{ name: 'root', filesystem: 'ext4', contents: [{ closureInfo: ci }] }] }, { output: img, baseDir: dir });
    runOk('e2fsck', ['-fn', img]);
    const ls = runOk('debugfs', ['-R', `ls -p ${store}`, img]);
    for (const p of paths) assert.ok(ls.includes(p.slice(store.length + 1)), `${p} in /nix/store:\n${ls}`);
    assert.equal(runOk('debugfs', ['-R', `cat ${paths[0]}/bin/hello`, img]), '#!/bin/sh\necho hello\n');
    assert.match(runOk('debugfs', ['-R', `stat ${paths[0]}/bin/hello`, img]), /Mode:\s+0555/);
    assert.equal(runOk('debugfs', ['-R', 'cat /nix-path-registration', img]), `${paths[0]}\nsha256:0\n0\n\n0\n`);
  } finally {
    for (const p of paths) rmSync(p, { recursive: true, force: true });
    cleanup();
  }
});
