/**
 * Compression worker (node:worker_threads). Receives jobs from `pool.ts` and answers each with its
 * id. Jobs run strictly one at a time, in arrival order: the WASM codecs share one heap, and a job
 * must own its result before the next one starts. Codecs load lazily, so a pool that only deflates
 * never loads the WASM codecs.
 */
import { parentPort } from 'node:worker_threads';
import { encode, type Job, type JobResult } from './codecs.js';

if (!parentPort) throw new Error('worker.ts must run as a worker thread');
const port = parentPort;
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
