import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bunzip2File } from '../../codec/bzip2.js';
import { gunzipFile } from '../../codec/gzip.js';
import { SparseOut } from '../../codec/output.js';
import type { StreamCodec } from '../../codec/registry.js';
import type { Decode } from '../../codec/types.js';
import { unxzFile } from '../../codec/xz.js';
import { unzstdFile } from '../../codec/zstd.js';
import { DiskwrightError } from '../../errors.js';
import { registerTemporary } from '../sink.js';

/**
 * Streams that cannot be read at random (xz, gzip, bzip2, and zstd without per-frame sizes) are
 * decoded front to back, once, into a sparse scratch file (src/codec/output.ts: zero blocks are
 * holes), which is then read as the image. The data written is capped by the free space of the
 * scratch directory's filesystem (less a reserve), so a small hostile stream that inflates without
 * end stops with an error instead of filling the disk.
 */
const DECODERS = { zstd: unzstdFile, xz: unxzFile, gzip: gunzipFile, bzip2: bunzip2File } as const satisfies Record<StreamCodec, Decode>;
/** Left free on the scratch filesystem. */
const RESERVE = 256 << 20;

/** A SparseOut that stops once more than `cap` bytes of data (holes not counted) were produced. */
class CappedOut extends SparseOut {
  private fed = 0;
  private holeBytes = 0;
  private holesCounted = 0;
  /** The cap's error once thrown: a stream pipeline reports it as an abort, so it is kept here. */
  failure: DiskwrightError | undefined;
  constructor(path: string, private readonly cap: number, private readonly what: () => DiskwrightError) { super(path); }
  override write(b: Uint8Array): void {
    this.fed += b.length;
    // Holes are merged as they grow: every complete one counted once, the last one as it stands.
    while (this.holesCounted < this.holes.length - 1) { const h = this.holes[this.holesCounted++]!; this.holeBytes += h.end - h.start; }
    const last = this.holes[this.holes.length - 1];
    const open = last && this.holesCounted === this.holes.length - 1 ? last.end - last.start : 0;
    if (this.fed - this.holeBytes - open > this.cap) throw (this.failure = this.what());
    super.write(b);
  }
}

export interface Scratch { path: string; cleanup(): void }

/**
 * Decode `input` (compressed with `codec`) into a new scratch file; E_DECOMPRESS naming the
 * compressed byte on damage, E_SCRATCH_SPACE when its data would not fit. Nothing is left behind
 * on failure; call `cleanup` when done with it.
 */
export async function decodeToScratch(codec: StreamCodec, input: string): Promise<Scratch> {
  const dir = mkdtempSync(join(tmpdir(), 'diskwright-input-'));
  const forget = registerTemporary(dir);
  const cleanup = (): void => { rmSync(dir, { recursive: true, force: true }); forget(); };
  const path = join(dir, 'image');
  const fs = statfsSync(dir);
  const cap = Math.max(0, fs.bavail * fs.bsize - RESERVE);
  const progress = { read: 0 };
  let out: CappedOut | undefined;
  try {
    out = new CappedOut(path, cap, () => new DiskwrightError('E_SCRATCH_SPACE',
      `${input}: decoding it (${codec}) needs more scratch space than the ${cap} bytes free in ${tmpdir()} (at compressed byte ${progress.read}): set TMPDIR to a filesystem with more room`, { value: input }));
    await DECODERS[codec](input, out, progress);
    out.finish();
    return { path, cleanup };
  } catch (e) {
    const failure = out?.failure;
    out?.close();
    out = undefined;
    cleanup();
    if (failure) throw failure;
    if (e instanceof DiskwrightError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err && typeof err.code === 'string' && err.syscall) {
      throw new DiskwrightError('E_DECOMPRESS', `cannot decompress ${input} into ${path}: ${err.code} (${err.syscall})`, { value: input, cause: e });
    }
    throw new DiskwrightError('E_DECOMPRESS', `${codec} data of ${input} is corrupt or truncated (at compressed byte ${progress.read}): ${err?.message ?? String(e)}`, { value: input, cause: e });
  } finally {
    out?.close();
  }
}
