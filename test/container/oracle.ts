import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { run, runOk } from '../helpers/tools.js';

/** qemu-img's driver name for each of our formats. */
export const QEMU_FORMAT: Record<string, string> = {
  raw: 'raw', qcow2: 'qcow2', 'qcow2-compressed': 'qcow2', vhd: 'vpc', 'vhd-fixed': 'vpc', vdi: 'vdi', vmdk: 'vmdk',
};

/** sha256 of a file read as `length` bytes (zeros past its end). */
export function sha256Padded(path: string, length: number): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(4 << 20);
  let pos = 0;
  const fileSize = statSync(path).size;
  try {
    while (pos < length) {
      const want = Math.min(buf.length, length - pos);
      let n = pos < fileSize ? readSync(fd, buf, 0, Math.min(want, fileSize - pos), pos) : 0;
      if (n < want) { buf.fill(0, n, want); n = want; }
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

export interface QemuInfo { format: string; 'virtual-size': number; 'cluster-size'?: number; 'format-specific'?: { type: string; data: Record<string, unknown> } }

export function qemuInfo(path: string, format: string): QemuInfo {
  return JSON.parse(runOk('qemu-img', ['info', '-f', QEMU_FORMAT[format]!, '--output=json', path])) as QemuInfo;
}

/** `qemu-img check`: exit 0 and "No errors" where the driver supports checks (vpc and raw do not). */
export function qemuCheck(path: string, format: string): string {
  const r = run('qemu-img', ['check', '-f', QEMU_FORMAT[format]!, path]);
  if (/does not support checks/.test(r.stderr)) return 'unsupported';
  if (r.status !== 0 || !/No errors were found/.test(r.stdout) || /leak/i.test(r.stdout)) {
    throw new Error(`qemu-img check ${path} (${format}) exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  }
  return 'ok';
}

/** `qemu-img compare` of our raw build and the container: exit 0 ("Images are identical"). */
export function qemuCompare(raw: string, path: string, format: string): void {
  const r = run('qemu-img', ['compare', '-f', 'raw', '-F', QEMU_FORMAT[format]!, raw, path]);
  if (r.status !== 0 || !/Images are identical/.test(r.stdout)) throw new Error(`qemu-img compare ${raw} ${path} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
}

/** `qemu-img convert -O raw` then sha256 of the result. */
export function qemuConvertSha(path: string, format: string, out: string): { sha256: string; size: number } {
  runOk('qemu-img', ['convert', '-f', QEMU_FORMAT[format]!, '-O', 'raw', path, out]);
  const size = statSync(out).size;
  return { sha256: sha256Padded(out, size), size };
}
