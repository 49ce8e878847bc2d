/**
 * Worker pool benchmark (issue 8 item 4): our CompressionPool (src/container/pool.ts) against
 * tinypool (npm, maintained), on the same job streams through the same job dispatcher
 * (src/container/codecs.ts `encode`), compiled to plain JS under /tmp (outside the repo):
 *   zstd:    64 × 8 MiB frames at level 3 (48 of seeded, partly compressible data, 16 all-zero),
 *            4 jobs in flight, as FrameCompressor keeps them;
 *   deflate: 256 × 1 MiB qcow2 cluster jobs (64 KiB clusters, every eighth cluster zero), 6 in flight.
 * 2 workers each (threads, one job at a time per worker; tinypool: min = max = 2 threads,
 * concurrentTasksPerWorker 1, results moved back, not copied). Wall time includes starting and
 * closing the pool; median of BENCH_RUNS (default 3) runs, alternating the two pools.
 *
 *   node --import tsx bench/pool.bench.ts     # or: npm run bench -- pool
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { prng } from '../test/helpers/prng.js';
import { compiledCli } from './compiled-cli.js';

const ROOT = process.env.DISKWRIGHT_BENCH_DIR ?? '/tmp/diskwright-bench-pool';
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
mkdirSync(ROOT, { recursive: true });
compiledCli(ROOT);
const dist = (p: string): string => pathToFileURL(join(ROOT, 'dist', p)).href;

// The tinypool worker: the same dispatcher as ours, the result's buffer moved (transferred) back.
const tinyWorker = join(ROOT, 'tinypool-worker.mjs');
writeFileSync(tinyWorker, `import Tinypool from 'tinypool';
import { encode } from ${JSON.stringify(dist('container/codecs.js'))};
export default async function (job) {
  const r = await encode(job);
  return Tinypool.move({ [Tinypool.transferableSymbol]: r.data.buffer, [Tinypool.valueSymbol]: r });
}
`);

interface Job { codec: 'zstd' | 'deflate-qcow2'; level: number | undefined; data: Uint8Array; blockSize?: number }
interface Result { data: Uint8Array; sizes?: number[] }
interface Pool { run(job: Job): Promise<Result>; close(): Promise<void> }

type PoolCtor = new (size?: number, opts?: { processes?: boolean }) => Pool;
const { CompressionPool } = (await import(dist('container/pool.js'))) as { CompressionPool: PoolCtor };
const { default: Tinypool } = await import('tinypool');

function ours(): Pool { return new CompressionPool(2); }
function tiny(): Pool {
  const p = new Tinypool({ filename: tinyWorker, minThreads: 2, maxThreads: 2, concurrentTasksPerWorker: 1, idleTimeout: 60_000 });
  return {
    run: (job) => {
      const buf = job.data.buffer as ArrayBuffer;
      return p.run({ ...job, data: job.data }, { transferList: [buf] }) as Promise<Result>;
    },
    close: () => p.destroy(),
  };
}

/** Seeded bytes: 4 KiB random runs between runs of a small alphabet (compressible ~2:1). */
function mixed(seed: string, n: number): Uint8Array {
  const r = prng(seed);
  const out = r.bytes(n);
  for (let at = 0; at < n; at += 8192) for (let i = at; i < Math.min(n, at + 4096); i++) out[i]! &= 0x0f;
  return out;
}

const zstdSources = Array.from({ length: 12 }, (_, i) => mixed(`pool-zstd-${i}`, 8 << 20));
const zstdJobs = (): Job[] => Array.from({ length: 64 }, (_, i) => ({ codec: 'zstd', level: 3, data: i % 4 === 3 ? new Uint8Array(8 << 20) : zstdSources[i % 12]! }));
const deflateSource = mixed('pool-deflate', 16 << 20);
for (let c = 0; c < deflateSource.length; c += 8 << 16) deflateSource.fill(0, c, c + (64 << 10));
const deflateJobs = (): Job[] => Array.from({ length: 256 }, (_, i) => ({ codec: 'deflate-qcow2', level: undefined, blockSize: 64 << 10, data: deflateSource.subarray((i % 16) << 20, ((i % 16) + 1) << 20) }));

/** Run the jobs with `inFlight` outstanding, consuming results in order (as the writers do). */
async function stream(make: () => Pool, jobs: Job[], inFlight: number): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const pool = make();
  const queue: Promise<Result>[] = [];
  let bytes = 0;
  for (const j of jobs) {
    queue.push(pool.run({ ...j, data: new Uint8Array(j.data) })); // a copy of its own: the buffer is transferred
    while (queue.length >= inFlight) bytes += (await queue.shift()!).data.length;
  }
  while (queue.length) bytes += (await queue.shift()!).data.length;
  await pool.close();
  return { ms: performance.now() - t0, bytes };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log(`| job stream | CompressionPool (ours) | tinypool ${Tinypool.version} | ours / tinypool |`);
console.log('|---|---|---|---|');
for (const [label, jobs, inFlight] of [['64 × 8 MiB zstd -3 frames (16 zero), 4 in flight', zstdJobs, 4], ['256 × 1 MiB deflate-qcow2 cluster jobs, 6 in flight', deflateJobs, 6]] as const) {
  const t: Record<'ours' | 'tiny', number[]> = { ours: [], tiny: [] };
  const out = new Set<number>();
  for (let i = 0; i < RUNS; i++) {
    for (const [k, make] of [['ours', ours], ['tiny', tiny]] as const) {
      const r = await stream(make, jobs(), inFlight);
      t[k].push(r.ms);
      out.add(r.bytes);
    }
  }
  if (out.size !== 1) throw new Error(`${label}: the pools produced different output sizes: ${[...out].join(', ')}`);
  const a = median(t.ours);
  const b = median(t.tiny);
  const fmt = (xs: number[], m: number): string => `${(m / 1000).toFixed(2)} s (${xs.map((x) => (x / 1000).toFixed(2)).join(', ')})`;
  console.log(`| ${label} | ${fmt(t.ours, a)} | ${fmt(t.tiny, b)} | ${(a / b).toFixed(2)} |`);
}
