/**
 * zisofs (as xorriso `--zisofs` writes it and Linux fs/isofs/compress.c and libisofs read it):
 * a compressed file is a 16-byte header (magic 37 E4 53 96 C9 DB D6 07, the uncompressed size
 * as u32le, header size 4 in 4-byte units, log2 of the block size 15), then a table of
 * blocks + 1 u32le pointers (offsets from the file's start), then each 32 KiB block as its own
 * zlib stream; a block of zeros is stored as nothing (two equal pointers). The file's records
 * carry its compressed size; its Rock Ridge ZF entry says `pz` and the uncompressed size.
 *
 * Compression happens at plan time (the layout needs the sizes) on the worker pool (1 MiB jobs of
 * 32 blocks, results taken in submission order, so the bytes do not depend on which worker ran
 * what), written to one temporary file that the volume's extents read and `ctx.onDispose` removes:
 * memory stays flat in the file data. A file that does not shrink stays plain, and so does one of
 * 4 GiB or more (the header's size field is 32 bits).
 *
 * @example
 * const z = await compressFiles(inodes, ctx); // Map inode -> { stored, content, zisofs }
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompressionPool } from '../../container/pool.js';
import type { JobResult } from '../../container/codecs.js';
import { readContent } from '../../extent/content.js';
import { ExtentReader } from '../../extent/read.js';
import type { FileContent } from '../../tree/model.js';
import { defineStruct } from '../../util/struct.js';
import type { FsContext } from '../types.js';
import type { Inode } from './hierarchy.js';
import { ZISOFS_HEADER_DIV4, ZISOFS_LOG2_BLOCK } from './rrip.js';

/** The zisofs file header (libisofs doc/zisofs_format.txt, "zisofs file header"). */
export const ZisofsHeader = defineStruct('zisofs file header', 16, [
  { name: 'magic', offset: 0, kind: { bytes: 8 } },
  { name: 'uncompressed_size', offset: 8, kind: 'u32le' },
  { name: 'header_size_div_4', offset: 12, kind: 'u8' },
  { name: 'log2_of_block_size', offset: 13, kind: 'u8' },
]);
export const ZISOFS_MAGIC = new Uint8Array([0x37, 0xe4, 0x53, 0x96, 0xc9, 0xdb, 0xd6, 0x07]);
const BLOCK = 1 << ZISOFS_LOG2_BLOCK;
const BLOCKS_PER_JOB = 32;
const MAX_SIZE = 0xffffffff;
/** The header and two pointers: a file this small cannot shrink. */
const MIN_SIZE = 24;

export interface Compressed {
  /** Bytes stored in the image. */
  stored: number;
  /** Its range of the temporary file. */
  content: FileContent;
  /** The uncompressed size (ZF). */
  zisofs: number;
}

interface FileState {
  inode: Inode;
  start: number;
  pointers: number[];
  pos: number;
  chunksLeft: number;
}

/** Compress each inode's file (regular, 25 bytes to 4 GiB - 1); returns those that shrank. */
export async function compressFiles(inodes: readonly Inode[], ctx: Pick<FsContext, 'signal' | 'onDispose'>): Promise<Map<Inode, Compressed>> {
  const out = new Map<Inode, Compressed>();
  const todo = inodes.filter((i) => i.node.kind === 'file' && i.node.size > MIN_SIZE && i.node.size <= MAX_SIZE && i.node.content);
  if (!todo.length) return out;
  const dir = mkdtempSync(join(tmpdir(), 'diskwright-zisofs-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  if (ctx.onDispose) ctx.onDispose(remove); else process.once('exit', remove);
  const path = join(dir, 'data');
  const fd = openSync(path, 'w+');
  const pool = new CompressionPool();
  const reader = new ExtentReader();
  const done: { inode: Inode; start: number; stored: number }[] = [];
  try {
    let tmpPos = 0;
    const window: { state: FileState; job: Promise<JobResult> }[] = [];
    const finish = (s: FileState): void => {
      const n = s.pointers.length - 1;
      const total = s.pointers[n]!;
      if (total < s.inode.node.size) {
        const head = new Uint8Array(16 + 4 * (n + 1));
        ZisofsHeader.encode({ magic: ZISOFS_MAGIC, uncompressed_size: s.inode.node.size, header_size_div_4: ZISOFS_HEADER_DIV4, log2_of_block_size: ZISOFS_LOG2_BLOCK }, head);
        const dv = new DataView(head.buffer);
        s.pointers.forEach((p, i) => dv.setUint32(16 + 4 * i, p, true));
        writeSync(fd, head, 0, head.length, s.start);
        done.push({ inode: s.inode, start: s.start, stored: total });
        tmpPos = s.start + total;
      } else tmpPos = s.start;
    };
    const take = async (): Promise<void> => {
      const { state, job } = window.shift()!;
      const r = await job;
      // Results are taken in submission order, so the previous file is finished when a file's first
      // chunk arrives: it starts where that one ended (a file that stayed plain gave its room back).
      if (state.start < 0) state.start = tmpPos;
      let at = 0;
      for (const len of r.sizes!) {
        const bytes = len < 0 ? 0 : len;
        if (bytes) writeSync(fd, r.data, at, bytes, state.start + state.pos);
        at += bytes;
        state.pos += bytes;
        state.pointers.push(state.pos);
      }
      if (--state.chunksLeft === 0) finish(state);
    };
    for (const inode of todo) {
      const size = inode.node.size;
      const blocks = Math.ceil(size / BLOCK);
      const state: FileState = { inode, start: -1, pointers: [16 + 4 * (blocks + 1)], pos: 16 + 4 * (blocks + 1), chunksLeft: Math.ceil(blocks / BLOCKS_PER_JOB) };
      for (let b = 0; b < blocks; b += BLOCKS_PER_JOB) {
        ctx.signal?.throwIfAborted();
        const from = b * BLOCK;
        const data = readContent(inode.node.content!, size, from, Math.min(BLOCKS_PER_JOB * BLOCK, size - from), reader);
        window.push({ state, job: pool.run({ codec: 'zlib', level: undefined, data, blockSize: BLOCK }) });
        if (window.length >= pool.size * 3) await take();
      }
    }
    while (window.length) await take();
    ftruncateSync(fd, tmpPos);
    for (const d of done) out.set(d.inode, { stored: d.stored, zisofs: d.inode.node.size, content: { kind: 'file', path, offset: d.start, size: d.stored, fileSize: tmpPos } });
    return out;
  } catch (e) {
    remove();
    throw e;
  } finally {
    reader.closeAll();
    closeSync(fd);
    await pool.close();
  }
}
