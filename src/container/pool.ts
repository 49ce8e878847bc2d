import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Job, JobResult } from './codecs.js';

/**
 * Start a worker thread running `script` (a module URL of this package, `.js` when compiled). From
 * TypeScript sources (tests, benchmarks under tsx) the worker first registers tsx's loader: module
 * hooks of the main thread do not reach workers on Node 20.
 */
export function startWorker(script: URL, options: { workerData?: unknown } = {}): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(script.href.replace(/\.ts$/, '.js')), options);
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const ts = script.href.replace(/\.js$/, '.ts');
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`, { ...options, eval: true });
}

/**
 * A small pool of compression workers (docs/ARCHITECTURE.md §6: compression is the only CPU-heavy stage; both
 * cores work). Each job goes to the worker with the fewest queued jobs; callers keep their own
 * order, so the output is deterministic whatever runs where or finishes first.
 */
export class CompressionPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { worker: number; resolve: (r: JobResult) => void; reject: (e: Error) => void }>();
  /** Jobs queued on each worker: a new job goes to the least busy one (frames differ in cost). */
  private readonly load: number[] = [];
  private nextId = 0;
  private failed: Error | undefined;
  private closing = false;
  private readonly dead = new Set<Worker>();

  constructor(size = Math.min(2, Math.max(1, availableParallelism()))) {
    for (let i = 0; i < size; i++) {
      this.workers.push(this.spawn(i));
      this.load.push(0);
    }
  }

  /**
   * Start worker `i`. A worker that ends on its own (a codec runtime may call exit) is replaced on
   * the next job; if it owed answers, the build fails rather than waiting forever.
   */
  private spawn(i: number): Worker {
    const w = startWorker(new URL('./worker.js', import.meta.url));
    w.on('message', (r: JobResult) => this.settle(r));
    w.on('error', (e) => this.fail(e));
    w.on('exit', (code) => {
      if (this.closing) return;
      this.dead.add(w);
      if ([...this.pending.values()].some((p) => p.worker === i)) this.fail(new Error(`compression worker exited with code ${code} with jobs pending`));
    });
    return w;
  }

  get size(): number { return this.workers.length; }

  /** Compress on a worker. `job.data` is transferred: the caller must not use it afterwards. */
  run(job: Omit<Job, 'id'>): Promise<JobResult> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const full: Job = { ...job, id };
    let worker = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[worker]!) worker = i;
    this.load[worker]!++;
    if (this.dead.has(this.workers[worker]!)) {
      this.dead.delete(this.workers[worker]!);
      this.workers[worker] = this.spawn(worker);
    }
    return new Promise<JobResult>((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      const buf = job.data.buffer;
      const transfer = buf instanceof ArrayBuffer && job.data.byteOffset === 0 && job.data.byteLength === buf.byteLength ? [buf] : [];
      this.workers[worker]!.postMessage(full, transfer);
    });
  }

  private settle(r: JobResult): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    this.load[p.worker]!--;
    if (r.error) p.reject(new Error(`compression failed: ${r.error}`));
    else p.resolve({ ...r, data: new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength) });
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.closing = true;
    // terminate() settles on the worker's 'exit' event; while a thread stops, its handle no longer
    // keeps the event loop alive, so a ref'd timer holds the loop open until every 'exit' arrived
    // (bounded: a worker that never reports back is not waited for past 10 s).
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => { timer = setTimeout(resolve, 10_000); });
    try {
      await Promise.race([Promise.all(this.workers.map((w) => w.terminate())), limit]);
    } finally {
      clearTimeout(timer);
    }
    this.workers.length = 0;
  }

}
