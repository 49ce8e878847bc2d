/**
 * The CLI as a fuzz test or a benchmark runs it many times: the sources transpiled once (esbuild,
 * one module per file, so workers and `import.meta.url` resolve as in dist/) into a temporary
 * directory, then each run is a plain `node main.js` (~0.2 s of CPU instead of ~0.8 s through tsx).
 * Every run is bounded: a time limit (killed with SIGKILL, reported as a hang), V8's heap limit,
 * and its peak resident memory measured by /usr/bin/time (`%M`, KiB).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/disk.js';

export interface BoundedRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed at the time limit. */
  timedOut: boolean;
  /** Peak resident set size in bytes (undefined when /usr/bin/time reported none). */
  peakRss: number | undefined;
  ms: number;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Transpile src/ into `outDir` (node_modules linked beside it); returns the CLI entry. */
export async function transpileCli(outDir: string): Promise<string> {
  const esbuild = await import('esbuild');
  mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: sources(join(ROOT, 'src')), outdir: join(outDir, 'dist'), outbase: join(ROOT, 'src'),
    format: 'esm', platform: 'node', target: 'node20', logLevel: 'error',
  });
  symlinkSync(join(ROOT, 'node_modules'), join(outDir, 'node_modules'));
  return join(outDir, 'dist/cli/main.js');
}

export interface RunLimits {
  /** Wall-clock limit in milliseconds. */
  timeoutMs: number;
  /** V8 old-space limit in MiB. */
  heapMiB: number;
  env?: NodeJS.ProcessEnv;
  /** Node options before the script (`--import` a hook). */
  nodeArgs?: string[];
}

/** Run the transpiled CLI with `args` under the limits. */
export function runBounded(main: string, args: string[], limits: RunLimits, scratch: string): Promise<BoundedRun> {
  const timeFile = join(scratch, `time-${process.pid}-${Math.floor(performance.now() * 1000)}`);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', timeFile, process.execPath, `--max-old-space-size=${limits.heapMiB}`, ...(limits.nodeArgs ?? []), main, ...args], {
      env: { ...process.env, ...limits.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    let stdout = '', stderr = '', timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { if (stdout.length < 1 << 20) stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 1 << 20) stderr += d; });
    // /usr/bin/time forwards no signal: kill the whole process group it leads.
    const timer = setTimeout(() => { timedOut = true; try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, limits.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let peakRss: number | undefined;
      let status = code;
      try {
        const text = readFileSync(timeFile, 'utf8');
        rmSync(timeFile, { force: true });
        // "Command terminated by signal N" / "Command exited with non-zero status N" precede the figure.
        const m = /(\d+)\s*$/.exec(text);
        if (m) peakRss = Number(m[1]) * 1024;
        const sig = /terminated by signal (\d+)/.exec(text);
        if (sig) {
          status = null;
          signal = (Object.entries(osConstants.signals).find(([, n]) => n === Number(sig[1]))?.[0] ?? `SIG${sig[1]}`) as NodeJS.Signals;
        }
      } catch { /* killed before it wrote */ }
      resolve({ status, signal, stdout, stderr, timedOut, peakRss, ms: performance.now() - t0 });
    });
  });
}
