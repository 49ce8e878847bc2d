import { createHash } from 'node:crypto';
import { probeFilesystem, type FoundFilesystem } from './probe.js';
import { subSource, type ImageSource } from './source.js';
import { readTable, type FoundPartition, type FoundTable } from './table.js';

export interface InspectResult extends FoundTable {
  /** Container format of the image ('raw', 'qcow2', 'vhd', 'vhd-fixed', 'vdi', 'vmdk') and its whole-file compression. */
  format?: string;
  compression?: string;
  /** The disk's size (a container's virtual size). */
  size: number;
  partitions: (FoundPartition & { filesystem: FoundFilesystem; sha256?: string })[];
  /** For table 'none': the filesystem of the whole image. */
  filesystem?: FoundFilesystem;
}

/**
 * Describe an image: table, partitions, filesystems and their ids; with `hash`, the sha256 of
 * each partition's bytes (what `diff` compares).
 *
 * @example
 * const src = openRawImage('disk.img'); console.log(inspectImage(src)); src.close();
 */
export function inspectImage(src: ImageSource, opts: { hash?: boolean } = {}): InspectResult {
  const t = readTable(src);
  const partitions = t.partitions.map((p) => {
    // A partition entry may claim more than the image holds (a problem readTable lists): probe and hash what is there.
    const sub = subSource(src, p.offset, Math.max(0, Math.min(p.size, src.size - p.offset)));
    const out: FoundPartition & { filesystem: FoundFilesystem; sha256?: string } = { ...p, filesystem: probeFilesystem(sub) };
    if (opts.hash) out.sha256 = hashSource(sub);
    return out;
  });
  const r: InspectResult = { ...(src.format !== undefined ? { format: src.format } : {}), ...(src.compression !== undefined ? { compression: src.compression } : {}), ...t, size: src.size, partitions };
  if (t.table === 'none') r.filesystem = probeFilesystem(src);
  return r;
}

const HASH_STEP = 4 << 20;
const ZEROS = new Uint8Array(HASH_STEP);

/** sha256 of a source's bytes; ranges a virtual disk knows to be holes are hashed as zeros without being read. */
export function hashSource(src: ImageSource): string {
  const h = createHash('sha256');
  for (let o = 0; o < src.size; o += HASH_STEP) {
    const n = Math.min(HASH_STEP, src.size - o);
    if (src.runs && src.runs(o, n).every((r) => r.kind === 'zero')) h.update(ZEROS.subarray(0, n));
    else h.update(src.read(o, n));
  }
  return h.digest('hex');
}
