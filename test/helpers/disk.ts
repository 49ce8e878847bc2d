import { IS_ROOT } from './root.js';
import { run, runOk } from './tools.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const CLI = ['--import', join(ROOT, 'node_modules/tsx/dist/esm/index.mjs'), join(ROOT, 'src/cli/main.ts')];

/** Run the diskwright CLI from source. */
export function cli(args: string[], opts: { cwd?: string; input?: string } = {}): { status: number; stdout: string; stderr: string } {
  return run(process.execPath, [...CLI, ...args], opts);
}

/**
 * Give a reference tool a view of an image with its logical sector size: the file itself for 512,
 * a read-only loop device (losetup -b 4096) for 4096-byte sectors, since sfdisk and sgdisk take a
 * regular file as 512-byte sectors.
 */
export function withDevice<T>(img: string, sectorSize: number, fn: (dev: string) => T): T {
  if (sectorSize === 512) return fn(img);
  if (!IS_ROOT) throw new Error('withDevice with 4096-byte sectors needs root (losetup); mark the test { skip: needsRoot(\'losetup -b 4096\') }');
  const dev = runOk('losetup', ['-f', '--show', '-r', '-b', String(sectorSize), img]).trim();
  try {
    return fn(dev);
  } finally {
    run('losetup', ['-d', dev]);
  }
}

export interface SfdiskPartition {
  node: string; start: number; size: number; type: string; uuid?: string; name?: string; attrs?: string; bootable?: boolean;
}
export interface SfdiskTable {
  label: string; id: string; firstlba?: number; lastlba?: number; sectorsize?: number; partitions: SfdiskPartition[];
}

export function sfdiskJson(dev: string): SfdiskTable {
  return (JSON.parse(runOk('sfdisk', ['--json', dev])) as { partitiontable: SfdiskTable }).partitiontable;
}
