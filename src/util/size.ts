import { DiskwrightError, show } from '../errors.js';

/** Binary units accepted in sizes. Decimal (kB, MB) are accepted as powers of 1000 as parted does. */
const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tib: 1024 ** 4,
  kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3, tb: 1000 ** 4,
  s: 512, // sectors of 512 bytes, as parted's "s" unit
};

/**
 * Parse a size: a non-negative integer number of bytes, or a string like `512`, `8KiB`, `256MiB`,
 * `1.5GiB`. The result must be a whole number of bytes.
 *
 * @example parseSize('1.5GiB', 'size') // 1610612736
 */
export function parseSize(value: unknown, path: string): number {
  let bytes: number;
  if (typeof value === 'number') {
    bytes = value;
  } else if (typeof value === 'string') {
    const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
    if (!m) throw new DiskwrightError('E_SIZE', `bad size ${show(value)}: expected a number with an optional unit (512, 8KiB, 256MiB, 1.5GiB)`, { path, value });
    const unit = UNITS[m[2]!.toLowerCase()];
    if (unit === undefined) throw new DiskwrightError('E_SIZE', `bad size ${show(value)}: unknown unit ${show(m[2])} (use B, KiB, MiB, GiB, TiB)`, { path, value });
    bytes = Number(m[1]) * unit;
  } else {
    throw new DiskwrightError('E_SIZE', `bad size ${show(value)}: expected a number of bytes or a string like "256MiB"`, { path, value });
  }
  if (!Number.isFinite(bytes) || bytes < 0) throw new DiskwrightError('E_SIZE', `bad size ${show(value)}: must be a non-negative number`, { path, value });
  if (!Number.isInteger(bytes)) throw new DiskwrightError('E_SIZE', `bad size ${show(value)}: not a whole number of bytes (${bytes})`, { path, value });
  if (!Number.isSafeInteger(bytes)) throw new DiskwrightError('E_SIZE', `bad size ${show(value)}: too large`, { path, value });
  return bytes;
}

/** Human form of a byte count for tables and messages (exact when it is a whole unit). */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (i < units.length - 1 && v >= 1024 && v % 1024 === 0) { v /= 1024; i++; }
  if (i === 0 && bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)}MiB (${bytes} B)`;
  return `${v}${units[i]}`;
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

export function alignDown(value: number, alignment: number): number {
  return Math.floor(value / alignment) * alignment;
}
