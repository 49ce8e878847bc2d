import type { Volume } from '../extent/extent.js';
import { blockRuns } from './blocks.js';
import type { Codec, JobResult } from './codecs.js';
import { CompressionPool } from './pool.js';

/** Jobs in flight per worker: enough to keep both cores busy, few enough to bound memory. */
const IN_FLIGHT_PER_WORKER = 3;

/** One compressed block of a volume (`stored`: kept uncompressed because compression did not help). */
export interface CompressedBlock {
  block: number;
  data: Uint8Array;
  stored: boolean;
}

/**
 * Compress every allocated, non-zero `blockSize` block of `vol` on worker threads and yield them in
 * block order (qcow2 compressed clusters, VMDK grains). All-zero blocks are dropped. Memory is
 * bounded by the jobs in flight, whatever the disk size.
 */
export async function* compressedBlocks(vol: Volume, blockSize: number, opts: { codec: Codec; level: number | undefined; jobBytes?: number; pool?: CompressionPool }): AsyncGenerator<CompressedBlock> {
  const pool = opts.pool ?? new CompressionPool();
  const jobBytes = Math.max(blockSize, opts.jobBytes ?? 1 << 20);
  const queue: { first: number; result: Promise<JobResult> }[] = [];
  const limit = pool.size * IN_FLIGHT_PER_WORKER;
  try {
    const drainOne = function* (r: JobResult, first: number): Generator<CompressedBlock> {
      let at = 0;
      for (let i = 0; i < r.sizes!.length; i++) {
        const size = r.sizes![i]!;
        if (size === -1) continue;
        const len = size === -2 ? blockSize : size;
        yield { block: first + i, data: r.data.subarray(at, at + len), stored: size === -2 };
        at += len;
      }
    };
    for (const run of blockRuns(vol, blockSize, jobBytes)) {
      queue.push({ first: run.first, result: pool.run({ codec: opts.codec, level: opts.level, data: run.data.slice(), blockSize }) });
      while (queue.length >= limit) {
        const q = queue.shift()!;
        yield* drainOne(await q.result, q.first);
      }
    }
    while (queue.length > 0) {
      const q = queue.shift()!;
      yield* drainOne(await q.result, q.first);
    }
  } finally {
    // Settle what is still running before the workers go, so no rejection is left unhandled.
    await Promise.allSettled(queue.map((q) => q.result));
    if (!opts.pool) await pool.close();
  }
}
