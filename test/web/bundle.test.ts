// The browser build's inputs (issue 13): bundling src/web/index.ts and the page for platform
// 'browser' must reach no node: module except the pure ones replaced by browser packages
// (scripts/bundle-web.mjs ALLOWED). Shared modules that still import node:fs & co. at load are
// listed in PENDING_SEAMS, each to be split into an interface and a node implementation: a module
// not on the list that reaches a node: module fails this test, and so does a listed module that no
// longer does (take it off the list), so the list only shrinks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/disk.js';

/** Module → why it is reached from the browser entry (what it reaches the node: module for). */
const PENDING_SEAMS: Record<string, string> = {
  'src/extent/read.ts': 'ExtentReader reads file sources with node:fs (raw.ts, blocks.ts, content.ts import it); browser contents are bytes',
  'src/container/sink.ts': 'PacedSink/pace and yieldToEventLoop live beside FileSink (node:fs, node:crypto)',
  'src/container/temporaries.ts': 'imported by sink.ts',
  'src/fs/ext4/prepare.ts': 'host-file checks at plan time',
  'src/extent/holes.ts': 'SEEK_DATA/SEEK_HOLE on host files (imported by ext4/prepare.ts)',
  'src/fs/iso9660/boot.ts': 'El Torito boot images from host files',
  'src/fs/iso9660/options.ts': 'host paths in options (boot images, hybrid MBR)',
  'src/fs/iso9660/sparse.ts': 'SEEK_DATA on host files',
  'src/fs/iso9660/zisofs.ts': 'temporary files for compressed data',
  'src/fs/squashfs/data.ts': 'temporary files; the fs registry imports every handler',
  'src/spec/validate.ts': 'existsSync/statSync of sources, images and raw blobs',
  'src/tree/entries.ts': 'host paths of contents entries',
  'src/boot/index.ts': 'boot loaders read host files (validation imports resolveBootloader)',
  'src/boot/grub-bios.ts': 'as boot/index.ts', 'src/boot/read.ts': 'as boot/index.ts',
  'src/boot/resolve.ts': 'as boot/index.ts', 'src/boot/systemd-boot.ts': 'as boot/index.ts',
  'src/container/pool.ts': 'worker pool (the container registry loads every format; the codec table every codec)',
  'src/container/qcow2/compressed.ts': 'as pool.ts',
  'src/codec/bzip2.ts': 'codec table (container/registry.ts → codec/registry.ts)', 'src/codec/deflate.ts': 'codec table',
  'src/codec/gzip.ts': 'codec table', 'src/codec/lz4.ts': 'codec table', 'src/codec/output.ts': 'codec table',
  'src/codec/xz.ts': 'codec table', 'src/codec/xzblock.ts': 'codec table', 'src/codec/zstd.ts': 'codec table',
};
/** Packages reached only through the codec table (a native binding, WASM glue with a Node branch). */
const PENDING_PACKAGES = ['node_modules/@cloudpss/zstd/', 'node_modules/libdeflate/'];

test('the browser bundle reaches no node: module outside the allowed pure ones and the pending seams', async () => {
  const { bundleWeb, ALLOWED } = await import(pathToFileURL(join(ROOT, 'scripts/bundle-web.mjs')).href) as {
    bundleWeb(o: { write: boolean }): Promise<{ inputs: Record<string, { imports: { path: string }[] }>; outputs: Record<string, { imports: { path: string; external?: boolean }[] }> }>;
    ALLOWED: Record<string, string>;
  };
  const meta = await bundleWeb({ write: false });
  const reaching = new Map<string, Set<string>>();
  for (const [file, input] of Object.entries(meta.inputs)) {
    for (const imp of input.imports) {
      const m = /^(?:node-unavailable:)?(node:[^|]+)/.exec(imp.path);
      if (!m || ALLOWED[m[1]!]) continue;
      if (!reaching.has(file)) reaching.set(file, new Set());
      reaching.get(file)!.add(m[1]!);
    }
  }
  const unexpected = [...reaching].filter(([f]) => !(f in PENDING_SEAMS) && !PENDING_PACKAGES.some((p) => f.startsWith(p))).map(([f, s]) => `${f}: ${[...s].join(', ')}`);
  assert.deepEqual(unexpected, [], 'modules reached from src/web/index.ts that import node: modules (split them: an interface module and a node implementation)');
  const done = Object.keys(PENDING_SEAMS).filter((f) => !reaching.has(f));
  assert.deepEqual(done, [], 'these modules no longer reach node: modules: take them off PENDING_SEAMS');
  // Nothing is left as an import of a node: module in what the browser loads.
  for (const [file, out] of Object.entries(meta.outputs)) {
    assert.deepEqual(out.imports.filter((i) => i.external || i.path.startsWith('node:')).map((i) => i.path), [], `${file} imports node: modules`);
  }
  // The modules this work split stay free of node: modules.
  for (const f of ['src/web/index.ts', 'src/web/pipeline.ts', 'src/web/sinks.ts', 'src/web/sources.ts', 'src/tree/memory.ts', 'src/volumes.ts', 'src/report.ts', 'src/container/emit-to.ts', 'src/table/assemble.ts', 'src/util/ids.ts', 'src/fs/fat/plan.ts']) {
    assert.ok(meta.inputs[f], `${f} is in the browser bundle`);
    assert.equal(reaching.has(f), false, `${f} imports a node: module`);
  }
});
