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

export interface DiffLine {
  what: string;
  a: string;
  b: string;
}

/**
 * Compare two images partition by partition (table fields, ids, then content hashes): the
 * determinism analysis make-disk-image documents by hand.
 */
export function diffImages(a: ImageSource, b: ImageSource): DiffLine[] {
  const ia = inspectImage(a, { hash: true });
  const ib = inspectImage(b, { hash: true });
  const out: DiffLine[] = [];
  const cmp = (what: string, x: unknown, y: unknown): void => {
    const sx = x === undefined ? '-' : typeof x === 'string' ? x : JSON.stringify(x);
    const sy = y === undefined ? '-' : typeof y === 'string' ? y : JSON.stringify(y);
    if (sx !== sy) out.push({ what, a: sx, b: sy });
  };
  cmp('size', ia.size, ib.size);
  cmp('table', ia.table, ib.table);
  cmp('sector size', ia.sectorSize, ib.sectorSize);
  cmp('disk GUID', ia.diskUuid, ib.diskUuid);
  cmp('MBR id', ia.mbrId, ib.mbrId);
  cmp('partition count', ia.partitions.length, ib.partitions.length);
  const n = Math.max(ia.partitions.length, ib.partitions.length);
  for (let i = 0; i < n; i++) {
    const p = ia.partitions[i], q = ib.partitions[i];
    const tag = `partition ${i + 1}${p?.name ? ` (${p.name})` : ''}`;
    for (const k of ['offset', 'size', 'type', 'uuid', 'name', 'attributes', 'bootable'] as const) cmp(`${tag} ${k}`, p?.[k], q?.[k]);
    cmp(`${tag} filesystem`, p?.filesystem.type, q?.filesystem.type);
    cmp(`${tag} filesystem label`, p?.filesystem.label, q?.filesystem.label);
    cmp(`${tag} filesystem uuid`, p?.filesystem.uuid, q?.filesystem.uuid);
    cmp(`${tag} filesystem details`, p?.filesystem.details, q?.filesystem.details);
    cmp(`${tag} content sha256`, p?.sha256, q?.sha256);
  }
  if (ia.table === 'none') {
    cmp('filesystem', ia.filesystem, ib.filesystem);
    cmp('content sha256', hashSource(a), hashSource(b));
  }
  return out;
}
