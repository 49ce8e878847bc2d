/**
 * Issue 14 items 1, 5 and 8 at unit level: the WASM codecs (one initialisation per thread, output
 * owned before the next call, no heap leak), the worker (one job at a time), the frame pipeline
 * (every frame once, in order, whatever the timing; a wrong frame or count fails the output), and
 * the VMDK CID (unsigned, 8 hex digits).
 */
import { test, after } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { compressFrame, bzip2Codec, type Codec, type JobResult } from '../../src/container/codecs.js';
import { FrameCompressor, checkFrame, checkFrameStats, type FramePool } from '../../src/container/compress.js';
import { emit } from '../../src/container/emit.js';
import { CompressionPool } from '../../src/container/pool.js';
import { zstdWasm } from '../../src/codec/zstd.js';
import { vmdkCid, vmdkDescriptor } from '../../src/container/vmdk.js';
import { VolumeBuilder } from '../../src/extent/extent.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { prngStream, seeded } from './helpers.js';

const { dir, cleanup } = tempDir('dw-integrity-codecs-');
after(cleanup);

// Count WebAssembly instantiations from here on (this file runs in a process of its own).
let instantiations = 0;
// (The WebAssembly global is not in this project's type libraries: typed here as far as used.)
const wasm = (globalThis as unknown as { WebAssembly: { instantiate: (...args: unknown[]) => unknown } }).WebAssembly;
const realInstantiate = wasm.instantiate;
wasm.instantiate = (...args: unknown[]) => {
  instantiations++;
  return realInstantiate.apply(wasm, args);
};
after(() => { wasm.instantiate = realInstantiate; });

function runBinary(tool: string, data: Uint8Array): Buffer {
  const r = spawnSync(tool, ['-d', '-c'], { input: Buffer.from(data), maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${tool} -d failed: ${r.stderr?.toString()}`);
  return r.stdout;
}

test('zstd: one WASM instance per thread however many frames arrive while it initialises; every frame decodes', async () => {
  const next = prngStream('zstd-init');
  const frames = [next(4 << 20), new Uint8Array(4 << 20), next(1 << 20), next(3 << 20)];
  // The WebAssembly build directly: on this (main) thread `compressFrame` takes the native addon
  // where it has a binary (src/codec/zstd.ts); worker threads take this build.
  const wasmFrame = async (f: Uint8Array): Promise<Uint8Array> => (await zstdWasm()).compress(f, 3).slice();
  // All four start before the codec is ready (the worker got several jobs at once).
  const first = await Promise.all(frames.map((f) => wasmFrame(f)));
  // Later frames, after every instantiation that was started has finished.
  await new Promise((r) => setTimeout(r, 300));
  const later = [];
  for (const f of frames) later.push(await wasmFrame(f));
  assert.equal(instantiations, 1, 'the zstd module is instantiated once');
  [...first, ...later].forEach((c, i) => {
    assert.ok(Buffer.from(runBinary('zstd', c)).equals(Buffer.from(frames[i % frames.length]!)), `frame ${i} decodes to its input`);
  });
});

test('bzip2 levels 1 and 3: concurrent frames own their bytes, decode with bzip2(1), and the WASM heap does not grow per frame', async () => {
  const next = prngStream('bzip2-levels');
  const inputs = [next(8_100_000), new Uint8Array(8_100_000), next(1_000_000)];
  for (const level of [1, 3]) {
    const outs = await Promise.all(inputs.map((d) => compressFrame('bzip2', d, level)));
    outs.forEach((c, i) => {
      assert.ok(c.buffer instanceof ArrayBuffer && c.byteOffset === 0 && c.byteLength === c.buffer.byteLength, 'a buffer of its own');
      assert.ok(runBinary('bzip2', c).equals(Buffer.from(inputs[i]!)), `level ${level} frame ${i} decodes to its input`);
    });
  }
  const m = await bzip2Codec();
  const before = m.heap().byteLength;
  // (Zeros compress fast; the module allocated, and leaked, an input-sized output buffer per call.)
  for (let i = 0; i < 8; i++) await compressFrame('bzip2', inputs[1]!, 1);
  assert.ok(m.heap().byteLength <= before, `heap stays at ${before} bytes (now ${m.heap().byteLength}): compressBZ2's output buffers are freed`);
});

test('a compression worker runs its jobs one at a time: a burst of WASM jobs comes back intact', async () => {
  const pool = new CompressionPool(1);
  try {
    const next = prngStream('worker-burst');
    const inputs = [next(8_100_000), new Uint8Array(8_100_000), next(2_000_000), next(8 << 20), new Uint8Array(8 << 20), next(1 << 20)].map((b) => new Uint8Array(b));
    const codecs: Codec[] = ['bzip2', 'bzip2', 'bzip2', 'zstd', 'zstd', 'zstd'];
    // (The job's buffer is transferred to the worker: give it a copy.)
    const results = await Promise.all(inputs.map((d, i) => pool.run({ codec: codecs[i]!, level: codecs[i] === 'bzip2' ? 1 : 3, data: d.slice() })));
    results.forEach((r, i) => assert.ok(runBinary(codecs[i]!, r.data).equals(Buffer.from(inputs[i]!)), `job ${i} (${codecs[i]}) decodes to its input`));
  } finally {
    await pool.close();
  }
});

/** A pool that gzips on the main thread and answers after seeded random delays (any order). */
function jitterPool(seed: string, opts: { corrupt?: number } = {}): FramePool {
  const rnd = seeded(seed);
  let n = 0;
  return {
    size: 2,
    run(job) {
      const k = n++;
      const data = opts.corrupt === k ? new Uint8Array(64) : gzipSync(job.data, { level: 1 });
      return new Promise<JobResult>((resolve) => setTimeout(() => resolve({ id: k, data }), Math.floor(rnd() * 8)));
    },
    close: async () => undefined,
  };
}

test('the frame pipeline writes every frame exactly once, in order, whatever the worker timing (zero frames shared)', async () => {
  const frameSize = 64 << 10;
  for (let s = 0; s < 40; s++) {
    const rnd = seeded(`pipeline-${s}`);
    const next = prngStream(`pipeline-data-${s}`);
    // Random, zero and partial pieces, some larger than a frame, written and skipped.
    const pieces: { data?: Uint8Array; zeros?: number }[] = [];
    for (let i = 0; i < 30; i++) {
      const len = Math.floor(rnd() * 3 * frameSize);
      pieces.push(rnd() < 0.45 ? { zeros: len } : { data: next(len) });
    }
    const out: Buffer[] = [];
    const fc = new FrameCompressor((d) => { out.push(Buffer.from(d)); }, 'gzip', 1, frameSize, undefined, () => jitterPool(`timing-${s}`));
    const expected: Buffer[] = [];
    for (const p of pieces) {
      if (p.data) { await fc.push(p.data); expected.push(Buffer.from(p.data)); } else { await fc.pushZeros(p.zeros!); expected.push(Buffer.alloc(p.zeros!)); }
    }
    const stats = await fc.end();
    const input = Buffer.concat(expected);
    assert.ok(gunzipSync(Buffer.concat(out)).equals(input), `seed ${s}: the stream decodes to the input`);
    assert.equal(out.length, Math.max(1, Math.ceil(input.length / frameSize)), `seed ${s}: one frame per ${frameSize} bytes`);
    checkFrameStats(stats, input.length, `seed ${s}`);
  }
});

test('a wrong frame or a missing frame fails the output', async () => {
  const written: number[] = [];
  const fc = new FrameCompressor((d) => { written.push(d.length); }, 'gzip', 1, 64 << 10, undefined, () => jitterPool('corrupt', { corrupt: 2 }));
  await assert.rejects((async () => { await fc.push(prngStream('x')(5 * (64 << 10))); await fc.end(); })(), { code: 'E_COMPRESSION_INTEGRITY' });
  assert.equal(written.length, 2, 'nothing is written from the bad frame on');
  assert.throws(() => checkFrameStats({ frameSize: 100, bytesIn: 1000, frames: 9, bytesOut: 900 }, 1000, 'x'), { code: 'E_COMPRESSION_INTEGRITY' });
  assert.throws(() => checkFrameStats({ frameSize: 100, bytesIn: 1000, frames: 10, bytesOut: 1000 }, 1100, 'x'), { code: 'E_COMPRESSION_INTEGRITY' });
  // checkFrame reads what each codec records of its input.
  const data = prngStream('y')(100_000);
  assert.equal(checkFrame('gzip', gzipSync(data), data.length), undefined);
  assert.match(checkFrame('gzip', gzipSync(data), data.length + 1)!, /ISIZE/);
  const z = await compressFrame('zstd', data, 3);
  assert.equal(checkFrame('zstd', z, data.length), undefined);
  assert.match(checkFrame('zstd', z, 12345)!, /content size/);
  assert.match(checkFrame('zstd', data.subarray(0, 1000), 1000)!, /magic/);
  assert.equal(checkFrame('xz', await compressFrame('xz', data, 0), data.length), undefined);
  assert.equal(checkFrame('bzip2', await compressFrame('bzip2', data, 1), data.length), undefined);
});

test('VMDK CID: 1,000 seeds, all unsigned and written as 8 hex digits; qemu-img accepts high CIDs', async () => {
  let high = 0;
  for (let i = 0; i < 1000; i++) {
    const cid = vmdkCid(`seed-${i}`);
    assert.ok(Number.isInteger(cid) && cid >= 0 && cid < 2 ** 32, `seed-${i}: ${cid}`);
    if (cid >= 2 ** 31) high++;
    const m = /^CID=([0-9a-f]+)$/m.exec(vmdkDescriptor(cid, 2048, 'x.vmdk'));
    assert.ok(m && m[1]!.length === 8 && parseInt(m[1]!, 16) === cid, `seed-${i}: ${m?.[0]}`);
  }
  assert.ok(high > 400, `about half the CIDs have the top bit set (${high})`);
  // A signed value given to the descriptor is still written as its unsigned 32-bit form.
  assert.match(vmdkDescriptor(-5, 2048, 'x.vmdk'), /^CID=fffffffb$/m);

  const seeds: string[] = [];
  for (let i = 0; seeds.length < 3; i++) if (vmdkCid(`qemu-${i}`) >= 2 ** 31) seeds.push(`qemu-${i}`);
  const vb = new VolumeBuilder();
  vb.addBytes(1 << 20, prngStream('vmdk-data')(200_000));
  const vol = vb.finish(8 << 20);
  for (const seed of seeds) {
    const out = join(dir, `${seed}.vmdk`);
    await emit(vol, out, { format: 'vmdk', compression: 'none', seed, epoch: 0 });
    const r = run('qemu-img', ['check', out]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(runOk('qemu-img', ['info', out]), /vmdk/);
  }
});
