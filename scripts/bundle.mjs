#!/usr/bin/env node
// Bundles the CLI (src/cli/main.ts) into one script, dist/cli/diskwright.cjs, and writes the
// `diskwright` bin, dist/cli/main.js: the compiled src/cli/launch.ts with the bundle's hash filled
// in, which runs the bundle with a V8 code cache. `npm run build` runs this after tsc, whose
// per-module output stays the library (dist/index.js) and the worker threads' code
// (dist/container/worker.js, dist/cli/inspect-worker.js). Why and what it saves: BENCHMARKS.md
// "Start-up".
//
//   node scripts/bundle.mjs [DIST]     (default: dist/ of this repository; DIST/cli/launch.js must exist)
//
// Rules the bundle keeps:
// - Each module's `import.meta.url` is the URL its own compiled file has under DIST, so workers,
//   `createRequire` and relative URLs resolve exactly as they do for the unbundled modules.
// - Packages are bundled only when pure JavaScript and listed in BUNDLED. Every other package
//   (native addons, WASM loaders) stays in node_modules and is loaded on first use with
//   `import()`, which the launcher performs (`__dwImport`); a static import of such a package is
//   an error here, as it would load a native addon on every start.
// - Modules reached only through `import()` (spec parsing, the build pipeline, readers, codecs)
//   are wrapped by esbuild and initialised on first use: `--help` runs none of them.
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const DIST = resolve(process.argv[2] ?? join(ROOT, 'dist'));
/** Pure-JS packages compiled into the bundle (all MIT or ISC; their notices are kept, see below). */
const BUNDLED = ['cac', 'valibot', 'yaml', '@valibot/to-json-schema', '@noble/hashes'];
const packageOf = (spec) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

const dwPlugin = {
  name: 'diskwright',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (!args.path.startsWith(SRC)) return undefined;
      const rel = relative(SRC, args.path).replace(/\.ts$/, '.js');
      let text = await readFile(args.path, 'utf8');
      text = text.replaceAll('import.meta.url', `__dwUrl(${JSON.stringify(rel)})`);
      text = text.replace(/\bimport\((\s*)(['"])([^'"]+)\2(\s*)\)/g, (m, a, q, spec, b) => {
        if (spec.startsWith('.') || spec.startsWith('node:') || BUNDLED.includes(packageOf(spec))) return m;
        return `__dwImport(${a}${q}${spec}${q}${b})`;
      });
      return { contents: text, loader: 'ts' };
    });
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      const pkg = packageOf(args.path);
      if (args.path.startsWith('node:') || builtinModules.includes(pkg) || BUNDLED.includes(pkg)) return undefined;
      return { errors: [{ text: `${relative(ROOT, args.importer)}: import of ${args.path}, which is not bundled (BUNDLED in scripts/bundle.mjs): load it on first use with import(), or bundle it if it is pure JavaScript` }] };
    });
  },
};

const result = await esbuild.build({
  entryPoints: [join(SRC, 'cli/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  write: false,
  outfile: join(DIST, 'cli/diskwright.cjs'),
  plugins: [dwPlugin],
  metafile: true,
  logLevel: 'warning',
  legalComments: 'eof',
  banner: { js: `// diskwright CLI bundle (scripts/bundle.mjs). Run through dist/cli/main.js. Includes ${BUNDLED.join(', ')} (MIT/ISC; their licences in node_modules/<package>/).` },
});
const out = result.outputFiles[0];
// Shebang lines are not JavaScript inside the launcher's function wrapper. The script is kept
// ASCII, so the launcher reads it as latin1 into a one-byte string (a UTF-8 decode of ~1 MB into a
// two-byte string cost ~5 ms of every start): esbuild escapes strings, regexes and names itself
// (charset 'ascii'); what is left is in comments, and an escape is as good there.
const code = out.text.replace(/^(\/\/.*\n)?#!.*\n/, '$1')
  .replace(/[^\x00-\x7f]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
if (/[^\x00-\x7f]/.test(code)) throw new Error('the bundle is not ASCII');
const left = Object.values(result.metafile.outputs).flatMap((o) => o.imports).filter((i) => i.kind === 'dynamic-import' && i.external);
if (left.length) throw new Error(`dynamic imports left in the bundle (the launcher's script has no module loader): ${left.map((i) => i.path).join(', ')}`);
writeFileSync(out.path, code);

const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
const launcher = readFileSync(join(DIST, 'cli/launch.js'), 'utf8');
if (!launcher.includes('__DISKWRIGHT_BUNDLE_HASH__')) throw new Error(`${join(DIST, 'cli/launch.js')}: no bundle hash placeholder`);
const main = join(DIST, 'cli/main.js');
writeFileSync(main, `#!/usr/bin/env node\n${launcher.replace('__DISKWRIGHT_BUNDLE_HASH__', hash).replace(/^\/\/# sourceMappingURL=.*$/m, '')}`);
chmodSync(main, 0o755);
console.error(`bundled ${relative(ROOT, out.path) || out.path} (${(code.length / 1024).toFixed(0)} KiB, ${hash}) and ${relative(ROOT, main) || main}`);
