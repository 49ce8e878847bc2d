/**
 * The byte ranges of a sparse file that hold data, so that its holes stay holes in the image
 * (docs/ARCHITECTURE.md §6 "never write zeros"): a nested volume knows its own; a host file the
 * tree phase marked `sparse` is scanned once at plan time in 1 MiB reads (holes read fast), by
 * 2048-byte sectors. Everything else is taken whole.
 *
 * @example
 * const ranges = dataRanges(node, signal); // [{ start: 0, end: 4096 }, { start: 4294963200, end: 4294967296 }]
 */
import { closeSync } from 'node:fs';
import { DiskwrightError } from '../../errors.js';
import { knownDataRanges } from '../../extent/content.js';
import { openInput, readInput } from '../../extent/read.js';
import type { TreeNode } from '../../tree/model.js';
import { SECTOR } from './structs.js';

export interface ByteRange { start: number; end: number }

const CHUNK = 1 << 20;

/** Data ranges of a regular file's content, or undefined when it is taken whole. */
export function dataRanges(node: TreeNode, signal?: AbortSignal): ByteRange[] | undefined {
  const c = node.content;
  if (!c || node.size === 0) return undefined;
  if (c.kind === 'volume') return knownDataRanges(c)?.map((r) => ({ start: r.start, end: Math.min(r.end, node.size) })).filter((r) => r.end > r.start);
  if (c.kind !== 'file' || !node.sparse) return undefined;
  const out: ByteRange[] = [];
  const buf = Buffer.alloc(CHUNK);
  const zeroChunk = Buffer.alloc(CHUNK);
  const fd = openInput(c.path);
  try {
    for (let pos = 0; pos < node.size; pos += CHUNK) {
      if (pos % (64 * CHUNK) === 0) signal?.throwIfAborted();
      const want = Math.min(CHUNK, node.size - pos);
      let got = 0;
      while (got < want) {
        const n = readInput(fd, c.path, buf, got, want - got, c.offset + pos + got);
        if (n === 0) throw new DiskwrightError('E_INPUT_CHANGED', `input file ${c.path.toString()} is shorter than its ${node.size} bytes`, { value: c.path.toString() });
        got += n;
      }
      if (want === CHUNK && buf.equals(zeroChunk)) continue;
      for (let at = 0; at < want; at += SECTOR) {
        const end = Math.min(at + SECTOR, want);
        if (buf.subarray(at, end).equals(zeroChunk.subarray(0, end - at))) continue;
        const last = out[out.length - 1];
        if (last && last.end === pos + at) last.end = pos + end;
        else out.push({ start: pos + at, end: pos + end });
      }
    }
  } finally {
    closeSync(fd);
  }
  return out;
}
