#!/usr/bin/env node
// Stages what a build engine needs to run diskwright, as plain directories to add to its store
// (Nix: builtins.path / nix-store --add; Bazel: a local repository), for hosts without nixpkgs or
// a Node.js toolchain of the engine's own:
//
//   node nix/stage-runtime.mjs OUT
//
//   OUT/diskwright/  the npm package as installed: package.json, dist/ (the bundled CLI and the
//                    modules its workers load; no .map or .d.ts) and node_modules/ with the
//                    production dependencies only (the native and WASM packages the bundle loads
//                    on first use), found by walking `dependencies` and the `optionalDependencies`
//                    installed here, resolved as Node resolves them
//   OUT/node/        bin/node (this node) and lib/: its ELF interpreter and every shared library
//                    `ldd` lists, so it runs as
//                    OUT/node/lib/ld-linux-x86-64.so.2 --library-path OUT/node/lib OUT/node/bin/node
//                    in a sandbox that has nothing of the host (the Nix sandbox has no /lib)
//
// Needs a built package (`npm run build`). Copies are byte copies; mtimes do not matter (Nix's NAR
// and Bazel's digests hash contents and the executable bit only).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

function die(msg) {
  process.stderr.write(`stage-runtime: ${msg}\n`);
  process.exit(1);
}

/** The directory Node would load package `name` from, starting at `from` (a package directory). */
function resolvePackage(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const p = join(dir, 'node_modules', name);
    if (existsSync(join(p, 'package.json'))) return p;
    if (dir === dirname(dir)) return undefined;
  }
}

/** Production dependency directories of the package at `root`, each once. */
function productionPackages(root) {
  const found = new Set();
  const queue = [root];
  while (queue.length) {
    const dir = queue.pop();
    const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const names = [...Object.keys(pj.dependencies ?? {}), ...Object.keys(pj.optionalDependencies ?? {})];
    for (const name of names) {
      const p = resolvePackage(name, dir);
      if (p === undefined) {
        // An optional dependency for another platform is not installed; a missing required one is an error.
        if (pj.optionalDependencies?.[name] !== undefined) continue;
        die(`${name}, a dependency of ${dir}, is not installed (npm ci)`);
      }
      if (!found.has(p)) { found.add(p); queue.push(p); }
    }
  }
  return [...found].sort();
}

/** Stage the npm package (package.json, dist/, production node_modules/) at `dest`. */
export function stagePackage(dest, root = ROOT) {
  if (!existsSync(join(root, 'dist/cli/diskwright.cjs'))) die(`${join(root, 'dist/cli/diskwright.cjs')} is missing: run npm run build first`);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  cpSync(join(root, 'package.json'), join(dest, 'package.json'));
  cpSync(join(root, 'dist'), join(dest, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') && !src.endsWith('.d.ts') });
  for (const pkg of productionPackages(root)) {
    const rel = pkg.slice(root.length + 1);
    // A package's own nested node_modules are staged as packages of their own when depended on.
    cpSync(pkg, join(dest, rel), { recursive: true, verbatimSymlinks: true, filter: (src) => src === pkg || !src.slice(pkg.length).startsWith('/node_modules') });
  }
}

/** Stage `node` (default: this one) with its ELF interpreter and shared libraries at `dest`. */
export function stageNode(dest, node = process.execPath) {
  const ldd = spawnSync('ldd', [node], { encoding: 'utf8' });
  if (ldd.status !== 0) die(`ldd ${node} failed: ${ldd.stderr.trim()} (a statically linked node needs no staging)`);
  const libs = [...ldd.stdout.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]);
  if (!libs.some((l) => basename(l).startsWith('ld-linux'))) die(`ldd ${node}: no ELF interpreter listed`);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(join(dest, 'bin'), { recursive: true });
  mkdirSync(join(dest, 'lib'));
  cpSync(node, join(dest, 'bin/node'), { dereference: true });
  for (const lib of libs) cpSync(lib, join(dest, 'lib', basename(lib)), { dereference: true });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out || process.argv.length > 3) die('usage: node nix/stage-runtime.mjs OUT');
  stagePackage(join(resolve(out), 'diskwright'));
  stageNode(join(resolve(out), 'node'));
  process.stdout.write(`${join(resolve(out), 'diskwright')}\n${join(resolve(out), 'node')}\n`);
}
