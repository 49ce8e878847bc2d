// The browser ES module build (issue 13): src/web/index.ts → dist/web/diskwright.js (the library)
// and web/page.ts → dist/web/page.js with web/index.html beside it (the page). Platform browser:
// Buffer comes from the npm `buffer` package and setImmediate from src/web/globals.ts (esbuild
// `inject`); node:path, pure computation, from `path-browserify`. No other node: module may be
// reached from the entry (test/web/bundle.test.ts): those still imported by shared modules that
// have not been split yet are listed in that test's PENDING_SEAMS, and are bundled as modules
// whose functions throw "not available in the browser" when called, so a browser path that
// reaches one fails with that message instead of the page failing to load.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** node: modules that are pure computation, replaced by maintained browser packages. */
export const ALLOWED = { 'node:buffer': 'buffer', 'node:path': 'path-browserify' };

/** The names a module imports from `spec` (`import { a, b as c } from 'node:fs'`; types skipped). */
function importedNames(file, spec) {
  const text = readFileSync(file, 'utf8');
  const names = new Set();
  const re = new RegExp(`import\\s+(?:type\\s+)?(\\*\\s+as\\s+\\w+|\\{[^}]*\\}|\\w+)\\s+from\\s+['"]${spec.replace(/[/]/g, '\\/')}['"]`, 'g');
  for (const m of text.matchAll(re)) {
    if (/^import\s+type\b/.test(m[0])) continue;
    const what = m[1];
    if (what.startsWith('{')) {
      for (const part of what.slice(1, -1).split(',')) {
        const p = part.trim();
        if (p && !p.startsWith('type ')) names.add(p.split(/\s+as\s+/)[0].trim());
      }
    } else names.add('default');
  }
  return [...names];
}

const builtins = new Set(builtinModules.filter((n) => !n.startsWith('_')));

/**
 * Every import of a Node builtin, `node:fs` or a bare `fs` that resolves to no package (WASM glue
 * of codec packages requires `fs` and `path` in a Node-only branch): the ALLOWED ones go to their
 * browser package, the others to a module that fails when called.
 */
const builtinImports = {
  name: 'node-builtins',
  setup(build) {
    build.onResolve({ filter: /^[a-z_:/]+$/ }, async (args) => {
      if (args.pluginData?.plain) return undefined;
      const prefixed = args.path.startsWith('node:');
      const name = prefixed ? args.path : `node:${args.path}`;
      if (!builtins.has(name.slice(5))) return undefined;
      if (!prefixed) {
        // A package of that name (the npm `buffer`) wins, as it would for any browser bundler.
        const plain = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { plain: true } });
        if (plain.errors.length === 0) return plain;
      }
      if (ALLOWED[name]) return build.resolve(ALLOWED[name], { kind: args.kind, resolveDir: root, pluginData: { plain: true } });
      return { path: `${name}|${args.importer}`, namespace: 'node-unavailable' };
    });
    build.onLoad({ filter: /.*/, namespace: 'node-unavailable' }, (args) => {
      const [spec, importer] = args.path.split('|');
      const fail = (n) => `() => { throw new Error(${JSON.stringify(`${spec} ${n} is not available in the browser (imported by ${relative(root, importer)})`)}); }`;
      const lines = [];
      for (const n of importedNames(importer, spec)) {
        // createRequire runs at module load in the codecs: the require it returns fails when called.
        const value = n === 'createRequire' ? `() => (${fail('require')})` : n === 'constants' ? '{}' : fail(n);
        lines.push(n === 'default' ? `export default ${value};` : `export const ${n} = ${value};`);
      }
      return { contents: lines.join('\n') || 'export {};', loader: 'js' };
    });
  },
};

/** Bundle the browser build; returns esbuild's metafile (the test reads its inputs). */
export async function bundleWeb({ write = true, outdir = join(root, 'dist/web') } = {}) {
  if (write) rmSync(outdir, { recursive: true, force: true });
  const r = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { diskwright: 'src/web/index.ts', page: 'web/page.ts' },
    bundle: true, platform: 'browser', format: 'esm', target: 'es2022', splitting: true,
    outdir, write, metafile: true, minify: true, sourcemap: write, logLevel: 'warning',
    chunkNames: 'chunks/[name]-[hash]',
    inject: ['src/web/globals.ts'],
    define: { 'process.env.NODE_DEBUG': 'undefined' },
    plugins: [builtinImports],
  });
  if (write) {
    mkdirSync(outdir, { recursive: true });
    copyFileSync(join(root, 'web/index.html'), join(outdir, 'index.html'));
    writeFileSync(join(outdir, 'meta.json'), JSON.stringify(r.metafile));
  }
  return r.metafile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleWeb();
