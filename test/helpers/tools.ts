import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Run a reference tool; returns stdout/stderr/status (never throws on a non-zero exit). */
export function run(cmd: string, args: string[], opts: { input?: string | Buffer; cwd?: string } = {}): { status: number; stdout: string; stderr: string } {
  const r: SpawnSyncReturns<string> = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, input: opts.input, cwd: opts.cwd });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Run and require exit 0, else throw with the tool's output. */
export function runOk(cmd: string, args: string[], opts: { input?: string | Buffer; cwd?: string } = {}): string {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'dw-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
