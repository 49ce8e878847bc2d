/**
 * Compression worker (node:worker_threads). Receives jobs from `pool.ts`, answers in the same
 * message order. Codecs load lazily, so a pool that only deflates never loads the WASM codecs.
 */
import { parentPort } from 'node:worker_threads';
import { encode, type Job, type JobResult } from './codecs.js';

if (!parentPort) throw new Error('worker.ts must run as a worker thread');
const port = parentPort;
port.on('message', (job: Job) => {
  encode(job).then(
    (r: JobResult) => {
      // Transfer a buffer of its own (codec outputs may be views into pooled or WASM memory).
      const own = r.data.byteOffset === 0 && r.data.byteLength === r.data.buffer.byteLength && r.data.buffer instanceof ArrayBuffer
        ? r.data : r.data.slice();
      port.postMessage({ ...r, data: own }, [own.buffer as ArrayBuffer]);
    },
    (e: unknown) => port.postMessage({ id: job.id, error: String((e as Error)?.stack ?? e) }),
  );
});
