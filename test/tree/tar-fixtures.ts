/**
 * Tar archives for the input-hardening tests: a ustar/pax/GNU header writer (to make archives GNU
 * tar will not make: bad numbers, lying sizes, broken pax records), and header surgery on archives
 * GNU tar made. Everything is deterministic.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { CLI } from '../helpers/disk.js';

/** Deterministic bytes (sha256 counter mode). */
export function seeded(length: number, salt: string): Buffer {
  const out = Buffer.alloc(length);
  for (let off = 0, i = 0; off < length; off += 32, i++) createHash('sha256').update(`${salt}:${i}`).digest().copy(out, off, 0, Math.min(32, length - off));
  return out;
}

export interface Header {
  name: string | Buffer;
  type?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Raw bytes written over fields after they are filled (before the checksum): [offset, bytes]. */
  raw?: [number, Buffer | string][];
  /** Leave the checksum as computed + this (0: correct). */
  checksumDelta?: number;
}

const oct = (n: number, width: number): string => n.toString(8).padStart(width - 1, '0') + '\0';

/** One POSIX ustar header block. */
export function header(h: Header): Buffer {
  const b = Buffer.alloc(512);
  const name = typeof h.name === 'string' ? Buffer.from(h.name) : h.name;
  name.copy(b, 0, 0, Math.min(100, name.length));
  b.write(oct(h.mode ?? 0o644, 8), 100, 'latin1');
  b.write(oct(h.uid ?? 0, 8), 108, 'latin1');
  b.write(oct(h.gid ?? 0, 8), 116, 'latin1');
  b.write(oct(h.size ?? 0, 12), 124, 'latin1');
  b.write(oct(h.mtime ?? 1500000000, 12), 136, 'latin1');
  b.write(h.type ?? '0', 156, 'latin1');
  if (h.linkname) b.write(h.linkname, 157, 'latin1');
  b.write('ustar\0' + '00', 257, 'latin1');
  b.write('root', 265); b.write('root', 297);
  b.write(oct(h.devmajor ?? 0, 8), 329, 'latin1');
  b.write(oct(h.devminor ?? 0, 8), 337, 'latin1');
  for (const [at, bytes] of h.raw ?? []) (typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes).copy(b, at);
  setChecksum(b, h.checksumDelta ?? 0);
  return b;
}

export function setChecksum(b: Buffer, delta = 0, at = 0): void {
  b.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[at + i]!;
  b.write(oct(sum + delta, 7) + ' ', at + 148, 'latin1');
}

/** Data padded to whole blocks. */
export function data(d: Buffer | string): Buffer {
  const buf = typeof d === 'string' ? Buffer.from(d) : d;
  return Buffer.concat([buf, Buffer.alloc((512 - (buf.length % 512)) % 512)]);
}

/** A pax record "%d key=value\n" with its self-counting length (or a forced one). */
export function paxRecord(key: string, value: string | Buffer, forceLength?: number): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), typeof value === 'string' ? Buffer.from(value) : value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len++;
  return Buffer.concat([Buffer.from(String(forceLength ?? len)), body]);
}

/** A pax extended header ('x') block with its records. */
export function pax(records: Buffer[], name = 'PaxHeader/x'): Buffer {
  const d = Buffer.concat(records);
  return Buffer.concat([header({ name, type: 'x', size: d.length }), data(d)]);
}

export function file(name: string | Buffer, content: string | Buffer, h: Partial<Header> = {}): Buffer {
  const d = typeof content === 'string' ? Buffer.from(content) : content;
  return Buffer.concat([header({ name, size: d.length, ...h }), data(d)]);
}

export const END = Buffer.alloc(1024);
export const archive = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, END]);

/** Header offsets of an uncompressed tar (walks sizes; no pax/long-name handling needed for GNU-format fixtures). */
export function headerOffsets(tar: Buffer): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos + 512 <= tar.length && tar.subarray(pos, pos + 512).some((c) => c !== 0)) {
    out.push(pos);
    const size = parseInt(tar.subarray(pos + 124, pos + 136).toString('latin1').replace(/\0.*$/, '').trim() || '0', 8);
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Run the CLI (from source) with its own TMPDIR, so leftovers of this run can be told apart. */
export function cliIn(args: string[], opts: { cwd?: string; tmp: string; timeout?: number }): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: opts.cwd, encoding: 'utf8', env: { ...process.env, TMPDIR: opts.tmp }, timeout: opts.timeout ?? 120_000, maxBuffer: 64 << 20 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
