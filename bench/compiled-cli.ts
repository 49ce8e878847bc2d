import { spawnSync } from 'node:child_process';
import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));

/**
 * The CLI as `npm run build` makes it, under `root`/dist: compiled to plain JS (tsx would add
 * ~0.4 s of start-up to every run), then bundled with its launcher (scripts/bundle.mjs), with
 * node_modules linked so the packages it loads at run time resolve. Returns the command that runs
 * it. Its V8 code cache is the user's (~/.cache/diskwright), as for an installed diskwright.
 */
export function compiledCli(root: string): string {
  const out = join(root, 'dist');
  spawnSync('npx', ['tsc', '-p', join(REPO, 'tsconfig.json'), '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'], { cwd: REPO, stdio: 'ignore' });
  const main = join(out, 'cli/main.js');
  if (!existsSync(main)) return `node --import tsx ${join(REPO, 'src/cli/main.ts')}`;
  const bundled = spawnSync(process.execPath, [join(REPO, 'scripts/bundle.mjs'), out], { cwd: REPO, stdio: 'inherit' });
  if (bundled.status !== 0) throw new Error('scripts/bundle.mjs failed');
  if (!existsSync(join(root, 'node_modules'))) symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
  return `node ${main}`;
}
