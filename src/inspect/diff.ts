/**
 * `diff` of two images, whatever their containers (issue 11): the table's fields and ids, each
 * partition's fields, filesystem ids and bytes, then, where both sides hold a filesystem diskwright
 * reads, every path added, removed or changed with what changed (filediff.ts). The determinism
 * analysis make-disk-image documents by hand, done by the tool.
 */
import { diffFilesystems, type FileChange } from './filediff.js';
import { openFs, READABLE, volumes } from './files.js';
import { hashSource, inspectImage } from './inspect.js';
import { subSource, type ImageSource } from './source.js';

export interface DiffLine {
  what: string;
  a: string;
  b: string;
}

export interface PartitionFiles {
  /** 'partition 2 (root)', or '' for an image without a partition table. */
  partition: string;
  changes: FileChange[];
}

export interface DiffResult {
  lines: DiffLine[];
  files: PartitionFiles[];
}

const WINDOW = 4 << 20;

/** True when two sources hold the same bytes; windows that both know to be holes are not read. */
export function sameBytes(a: ImageSource, b: ImageSource): boolean {
  if (a.size !== b.size) return false;
  for (let o = 0; o < a.size; o += WINDOW) {
    const n = Math.min(WINDOW, a.size - o);
    const hole = (s: ImageSource): boolean => s.runs !== undefined && s.runs(o, n).every((r) => r.kind === 'zero');
    if (hole(a) && hole(b)) continue;
    if (!Buffer.from(a.read(o, n)).equals(b.read(o, n))) return false;
  }
  return true;
}

/**
 * Compare two images partition by partition. A partition's `content sha256` line appears only
 * when its bytes differ (both hashes are then computed); files are compared where both sides hold
 * a readable filesystem of one type.
 *
 * @example
 * const d = diffImages(diskSource(await openDisk('a.qcow2')), diskSource(await openDisk('b.img')), { a: 'a.qcow2', b: 'b.img' });
 */
export function diffImages(a: ImageSource, b: ImageSource, images: { a: string; b: string } = { a: 'A', b: 'B' }): DiffResult {
  const ia = inspectImage(a);
  const ib = inspectImage(b);
  const lines: DiffLine[] = [];
  const cmp = (what: string, x: unknown, y: unknown): void => {
    const sx = x === undefined ? '-' : typeof x === 'string' ? x : JSON.stringify(x);
    const sy = y === undefined ? '-' : typeof y === 'string' ? y : JSON.stringify(y);
    if (sx !== sy) lines.push({ what, a: sx, b: sy });
  };
  cmp('size', ia.size, ib.size);
  cmp('table', ia.table, ib.table);
  cmp('sector size', ia.sectorSize, ib.sectorSize);
  cmp('disk GUID', ia.diskUuid, ib.diskUuid);
  cmp('MBR id', ia.mbrId, ib.mbrId);
  cmp('partition count', ia.partitions.length, ib.partitions.length);
  const va = volumes(a), vb = volumes(b);
  const files: PartitionFiles[] = [];
  const n = Math.max(va.length, vb.length);
  for (let i = 0; i < n; i++) {
    const x = va[i], y = vb[i];
    const p = x?.partition, q = y?.partition;
    const tag = ia.table === 'none' && ib.table === 'none' ? '' : `partition ${i + 1}${p?.name ? ` (${p.name})` : ''}`;
    const say = (what: string): string => (tag ? `${tag} ${what}` : what);
    if (tag) for (const k of ['offset', 'size', 'type', 'uuid', 'name', 'attributes', 'bootable'] as const) cmp(`${tag} ${k}`, p?.[k], q?.[k]);
    cmp(say('filesystem'), x?.fs.type, y?.fs.type);
    cmp(say('filesystem label'), x?.fs.label, y?.fs.label);
    cmp(say('filesystem uuid'), x?.fs.uuid, y?.fs.uuid);
    cmp(say('filesystem details'), x?.fs.details, y?.fs.details);
    const sa = x?.source ?? subSource(a, 0, 0), sb = y?.source ?? subSource(b, 0, 0);
    if (!sameBytes(sa, sb)) cmp(say('content sha256'), hashSource(sa), hashSource(sb));
    if (x && y && x.fs.type === y.fs.type && READABLE.includes(x.fs.type)) {
      const changes = diffFilesystems(openFs(x, images.a), images.a, openFs(y, images.b), images.b);
      if (changes.length) files.push({ partition: tag, changes });
    }
  }
  return { lines, files };
}
