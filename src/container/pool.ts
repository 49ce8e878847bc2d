import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { codecs } from '../codec/registry.js';
import type { FrameCodec } from '../codec/types.js';
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

/** What the pool needs of a worker, a thread or a process. */
interface Runner {
  post(job: Job, transfer: ArrayBuffer[]): void;
  stop(): Promise<unknown>;
}

/** Compression processes alive in this process: killed when it exits, however it exits. */
const children = new Set<ChildProcess>();
let killOnExit = false;

/**
 * Start the worker script as a child process (structured-clone IPC). Used for the codecs that ask
 * for it (`isolation: 'process'`): native addon code that runs for seconds at a time (xz,
 * node-liblzma: a worker thread stopped in the middle of such a call, as process.exit on
 * SIGINT/SIGTERM does to every thread, ends the whole process in a fatal N-API error, and exit
 * waits for the call; a child process is simply killed), or that keeps one context for the whole
 * process (zstd, @cloudpss/zstd: two threads compressing at once crash it).
 */
function startProcess(script: URL): ChildProcess {
  const ts = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(ts ? script.href.replace(/\.js$/, '.ts') : script.href.replace(/\.ts$/, '.js'));
  const execArgv = ts ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href] : [];
  const child = fork(file, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (!killOnExit) {
    killOnExit = true;
    process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });
  }
  return child;
}

/**
 * A small pool of compression workers (docs/ARCHITECTURE.md §6: compression is the only CPU-heavy stage; both
 * cores work). Each job goes to the worker with the fewest queued jobs; callers keep their own
 * order, so the output is deterministic whatever runs where or finishes first.
 */
export class CompressionPool {
  private readonly workers: Runner[] = [];
  private readonly pending = new Map<number, { worker: number; resolve: (r: JobResult) => void; reject: (e: Error) => void }>();
  /** Jobs queued on each worker: a new job goes to the least busy one (frames differ in cost). */
  private readonly load: number[] = [];
  private nextId = 0;
  private failed: Error | undefined;
  private closing = false;
  private readonly dead = new Set<Runner>();

  private processes: boolean | undefined;

  /**
   * `processes`: run the workers as child processes instead of threads (see startProcess). When not
   * given, the first job decides: processes for a codec that asks for them (`isolation: 'process'`
   * in src/codec: native code that must not share its process with other compressing threads),
   * threads otherwise; the workers start then.
   */
  constructor(private readonly workerCount = Math.min(2, Math.max(1, availableParallelism())), opts: { processes?: boolean } = {}) {
    this.processes = opts.processes;
    if (this.processes !== undefined) this.start();
  }

  private start(): void {
    for (let i = 0; i < this.workerCount; i++) {
      this.workers.push(this.spawn(i));
      this.load.push(0);
    }
  }

  /**
   * Start worker `i`. A worker that ends on its own (a codec runtime may call exit) is replaced on
   * the next job; if it owed answers, the build fails rather than waiting forever.
   */
  private spawn(i: number): Runner {
    const script = new URL('./worker.js', import.meta.url);
    let runner: Runner;
    const onExit = (code: number | null): void => {
      if (this.closing) return;
      this.dead.add(runner);
      if ([...this.pending.values()].some((p) => p.worker === i)) this.fail(new Error(`compression worker exited with code ${code} with jobs pending`));
    };
    if (this.processes) {
      const c = startProcess(script);
      c.on('message', (r: JobResult) => this.settle(r));
      c.on('error', (e) => this.fail(e));
      c.on('exit', (code) => onExit(code));
      runner = {
        post: (job) => { c.send(job); },
        stop: () => new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) { resolve(); return; }
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
      };
    } else {
      const w = startWorker(script);
      w.on('message', (r: JobResult) => this.settle(r));
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => onExit(code));
      runner = { post: (job, transfer) => w.postMessage(job, transfer), stop: () => w.terminate() };
    }
    return runner;
  }

  get size(): number { return this.workerCount; }

  /** Compress on a worker. `job.data` is transferred: the caller must not use it afterwards. */
  run(job: Omit<Job, 'id'>): Promise<JobResult> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.processes === undefined) {
      this.processes = (codecs[job.codec] as FrameCodec).isolation === 'process';
      this.start();
    }
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
      this.workers[worker]!.post(full, transfer);
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
      await Promise.race([Promise.all(this.workers.map((w) => w.stop())), limit]);
    } finally {
      clearTimeout(timer);
    }
    this.workers.length = 0;
  }

}
