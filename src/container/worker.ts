/**
 * Compression worker (node:worker_threads). Receives jobs from `pool.ts` and answers each with its
 * id. Jobs run strictly one at a time, in arrival order: the WASM codecs share one heap, and a job
 * must own its result before the next one starts. Codecs load lazily, so a pool that only deflates
 * never loads the WASM codecs.
 */
import { parentPort } from 'node:worker_threads';
import { encode, type Job, type JobResult } from './codecs.js';

/** The pool's side: the thread's parent port, or the IPC channel of a child process (pool.ts startProcess). */
const port: { postMessage(m: unknown, transfer?: ArrayBuffer[]): void; on(e: 'message', fn: (job: Job) => void): void } = parentPort
  ?? (process.send
    ? { postMessage: (m) => { process.send!(m); }, on: (_e, fn) => { process.on('message', (m) => fn(m as Job)); } }
    : (() => { throw new Error('worker.ts must run as a worker thread or a forked process'); })());
// A child process whose parent went away (killed) has nothing left to do.
if (!parentPort) process.on('disconnect', () => process.exit(0));
const queue: Job[] = [];
let busy = false;

async function drain(): Promise<void> {
  busy = true;
  try {
    for (let job = queue.shift(); job; job = queue.shift()) {
      let r: JobResult;
      try {
        r = await encode(job);
      } catch (e) {
        port.postMessage({ id: job.id, error: String((e as Error)?.stack ?? e) });
        continue;
      }
      // encode() returns buffers of their own (codecs.ts copies codec output at once); transfer it.
      const data = r.data.byteOffset === 0 && r.data.byteLength === r.data.buffer.byteLength && r.data.buffer instanceof ArrayBuffer ? r.data : r.data.slice();
      try {
        port.postMessage({ ...r, data }, [data.buffer as ArrayBuffer]);
      } catch (e) {
        port.postMessage({ id: job.id, error: String((e as Error)?.stack ?? e) });
      }
    }
  } finally {
    busy = false;
  }
}

port.on('message', (job: Job) => {
  queue.push(job);
  if (!busy) void drain();
});
