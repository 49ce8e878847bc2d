import { constants, inflateRawSync, inflateSync } from 'node:zlib';
import { corruptAt, type InputFile } from './file.js';

/**
 * One run of a guest range as a container maps it: zeros (a hole: unallocated, or a zero
 * cluster), bytes of the input at `at`, or a compressed cluster/grain whose inflated bytes hold
 * the run from `skip` on.
 */
export type Run =
  | { kind: 'zero'; length: number }
  | { kind: 'data'; length: number; at: number }
  | {
    kind: 'deflate'; length: number; at: number; size: number; skip: number; zlib: boolean; clusterSize: number;
    /** What to name in errors, and where it starts in the file. */
    structure: string; structureAt: number;
  };

/**
 * How a container maps guest bytes to its file: `map` returns the runs covering
 * `[offset, offset + length)` exactly, in order, looking up and checking only the table entries it
 * needs (qemu's model: no full map in memory, so a 20 GiB sparse image costs its tables only).
 */
export interface Mapping {
  map(offset: number, length: number): Run[];
}

/**
 * A disk image of any container as a random-access disk (issue 11, "one read path"): its virtual
 * size, its bytes, and its holes. `read` returns zeros for holes without touching the file;
 * `runs` says which ranges hold data, so hashing and converting skip what is not there.
 */
export interface VirtualDisk {
  /** The image file, as named in messages. */
  readonly path: string;
  /** Container format as detected ('raw', 'qcow2', 'vhd', 'vhd-fixed', 'vdi', 'vmdk'). */
  readonly format: string;
  /** Whole-file compression the container was found in, if any. */
  readonly compression: string | undefined;
  readonly size: number;
  /** Bytes `[offset, offset + length)` clipped to the disk; holes read as zeros. */
  read(offset: number, length: number): Uint8Array;
  /** The runs covering `[offset, offset + length)` (clipped to the disk). */
  runs(offset: number, length: number): Run[];
  close(): void;
}

/** A mapped run is inflated at most once while it stays the last one read. */
interface Inflated { at: number; data: Uint8Array }

/**
 * A VirtualDisk over a container's Mapping of `file`. Compressed clusters are inflated on demand,
 * the last one cached (sequential reads touch each once), each bounded by its cluster size.
 */
export class MappedDisk implements VirtualDisk {
  private last: Inflated | undefined;
  constructor(
    private readonly file: InputFile, private readonly mapping: Mapping, readonly format: string, readonly size: number,
    readonly compression: string | undefined, private readonly onClose: () => void = () => undefined,
  ) {}

  get path(): string { return this.file.path; }
  /** The file on disk holding the container's bytes as they are (the input, or its decoded copy), if any. */
  get plainPath(): string | undefined { return this.file.plainPath; }
  /** Size of the container file (the decoded stream when compressed). */
  get fileSize(): number { return this.file.size; }

  runs(offset: number, length: number): Run[] {
    const len = Math.max(0, Math.min(length, this.size - offset));
    return len > 0 ? this.mapping.map(offset, len) : [];
  }

  read(offset: number, length: number): Uint8Array {
    const len = Math.max(0, Math.min(length, this.size - offset));
    const out = new Uint8Array(len);
    let o = 0;
    for (const r of len > 0 ? this.mapping.map(offset, len) : []) {
      if (r.kind === 'data') this.file.read(r.at, r.length, out.subarray(o, o + r.length));
      else if (r.kind === 'deflate') out.set(this.inflate(r).subarray(r.skip, r.skip + r.length), o);
      o += r.length;
    }
    return out;
  }

  /** The inflated bytes of a compressed run: at least up to its end, else E_IMAGE_CORRUPT. */
  inflate(r: Extract<Run, { kind: 'deflate' }>): Uint8Array {
    if (this.last?.at === r.at) return this.last.data;
    const src = this.file.read(this.file.within(r.structure, r.at, r.size), r.size);
    let data: Uint8Array;
    try {
      data = r.zlib
        ? inflateSync(src, { maxOutputLength: r.clusterSize })
        // qcow2 compressed clusters are raw deflate padded to a sector: trailing bytes are not an error.
        : inflateRawSync(src, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: r.clusterSize });
    } catch (e) {
      throw corruptAt(this.file.path, r.structure, r.structureAt, `does not inflate to a cluster (${(e as Error).message})`);
    }
    if (data.length < r.skip + r.length) throw corruptAt(this.file.path, r.structure, r.structureAt, `inflates to ${data.length} bytes, fewer than the ${r.skip + r.length} it must hold`);
    this.last = { at: r.at, data };
    return data;
  }

  close(): void {
    this.file.close();
    this.onClose();
  }
}

/**
 * Append a run to `out`, merging it with the last one when they continue each other (zeros after
 * zeros, file bytes after the file bytes just before them).
 */
export function pushRun(out: Run[], r: Run): void {
  if (r.length <= 0) return;
  const last = out[out.length - 1];
  if (last && last.kind === 'zero' && r.kind === 'zero') { last.length += r.length; return; }
  if (last && last.kind === 'data' && r.kind === 'data' && last.at + last.length === r.at) { last.length += r.length; return; }
  out.push(r);
}
