import { spawnSync } from 'node:child_process';
import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));

/**
 * The CLI compiled to plain JS under `root`/dist (tsx would add ~0.4 s of start-up to every run),
 * with node_modules linked so its imports resolve. Returns the command that runs it.
 */
export function compiledCli(root: string): string {
  const out = join(root, 'dist');
  spawnSync('npx', ['tsc', '-p', join(REPO, 'tsconfig.json'), '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'], { cwd: REPO, stdio: 'ignore' });
  const main = join(out, 'cli/main.js');
  if (!existsSync(main)) return `node --import tsx ${join(REPO, 'src/cli/main.ts')}`;
  if (!existsSync(join(root, 'node_modules'))) symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
  return `node ${main}`;
}
