import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { CLI } from '../helpers/disk.js';

/**
 * Seeded pseudo-random bytes (AES-128-CTR keystream keyed by sha256(seed)): incompressible,
 * deterministic, fast. Never Math.random.
 */
export function prngStream(seed: string): (n: number) => Buffer {
  const c = createCipheriv('aes-128-ctr', createHash('sha256').update(seed).digest().subarray(0, 16), Buffer.alloc(16));
  return (n) => c.update(Buffer.alloc(n));
}

/** Write `bytes` seeded random bytes to `path`. */
export function writeRandomFile(path: string, seed: string, bytes: number): void {
  const next = prngStream(seed);
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes;) {
      const n = Math.min(4 << 20, bytes - done);
      writeSync(fd, next(n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Compressible but not trivial bytes: numbered text lines. */
export function writeTextFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  try {
    let line = 0;
    for (let done = 0; done < bytes;) {
      const parts: string[] = [];
      let len = 0;
      while (len < 1 << 20) { const l = `line ${line++} of a compressible region: ${(line * 2654435761) % 1000003}\n`; parts.push(l); len += l.length; }
      const buf = Buffer.from(parts.join('')).subarray(0, Math.min(1 << 20, bytes - done));
      writeSync(fd, buf);
      done += buf.length;
    }
  } finally {
    closeSync(fd);
  }
}

/** A small seeded generator (mulberry32) for random points and choices in tests. */
export function seeded(seed: string): () => number {
  let a = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Run { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Spawn the CLI (from source, as test/helpers/disk.ts does). */
export function spawnCli(args: string[], opts: { cwd?: string; stdout?: 'pipe' | 'ignore'; tmpdir?: string } = {}): { child: ChildProcess; done: Promise<Run> } {
  // `tmpdir`: the CLI's scratch files go there (TMPDIR), apart from other processes' ones.
  const env = opts.tmpdir ? { ...process.env, TMPDIR: opts.tmpdir } : process.env;
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: opts.cwd, env, stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Run the CLI to completion. */
export function runCli(args: string[], opts: { cwd?: string; tmpdir?: string } = {}): Promise<Run> {
  return spawnCli(args, opts).done;
}

/** Run async jobs at most `limit` at a time. */
export async function limited<T>(limit: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, async () => {
    while (next < jobs.length) { const i = next++; out[i] = await jobs[i]!(); }
  }));
  return out;
}

/**
 * True once the CLI's own signal handlers are in place. Node itself catches SIGINT and SIGTERM
 * from the start (to restore the terminal), so the CLI's SIGHUP handler, installed in the same
 * loop as its SIGINT/SIGTERM ones (src/cli/signals.ts), is the mark: SigCgt bit 0.
 */
export function handlersInstalled(pid: number): boolean {
  try {
    const m = /SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m !== null && (BigInt(`0x${m[1]}`) & 1n) === 1n;
  } catch {
    return false;
  }
}

export async function waitHandlers(child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!handlersInstalled(child.pid!)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('the CLI ended before its signal handlers were installed');
    if (Date.now() - t0 > timeoutMs) throw new Error('the CLI did not install its signal handlers');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export function sha256File(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(4 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}
