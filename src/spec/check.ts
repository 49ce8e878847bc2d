import { DiskwrightError, show } from '../errors.js';

/** Small typed checkers; each error names the spec path and the value. */

export function checkObject(value: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DiskwrightError('E_TYPE', `expected an object, got ${show(value)}`, { path: path || '(spec)', value });
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const near = allowed.filter((a) => a.toLowerCase() === key.toLowerCase() || a.startsWith(key.slice(0, 3)));
      throw new DiskwrightError('E_UNKNOWN_KEY', `unknown key ${show(key)}${near.length ? ` (did you mean ${near.map((n) => show(n)).join(' or ')}?)` : ''}`, { path: join(path, key), value: key });
    }
  }
  return value as Record<string, unknown>;
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * A string value. NUL bytes are refused unless `allowNul` (file contents, xattr values): names,
 * paths, labels and link targets are C strings on disk, where a NUL silently cuts them.
 */
export function checkString(value: unknown, path: string, opts: { nonEmpty?: boolean; max?: number; allowNul?: boolean } = {}): string {
  if (typeof value !== 'string') throw new DiskwrightError('E_TYPE', `expected a string, got ${show(value)}`, { path, value });
  if (!opts.allowNul && value.includes('\0')) throw new DiskwrightError('E_NUL', `${show(value)} contains a NUL byte, which no name, path or label can hold`, { path, value });
  if (opts.nonEmpty && value === '') throw new DiskwrightError('E_TYPE', 'must not be empty', { path, value });
  if (opts.max !== undefined && value.length > opts.max) throw new DiskwrightError('E_TOO_LONG', `${show(value)} is longer than ${opts.max} characters`, { path, value });
  return value;
}

export function checkInt(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new DiskwrightError('E_RANGE', `expected an integer from ${min} to ${max}, got ${show(value)}`, { path, value });
  }
  return value;
}

export function checkBool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new DiskwrightError('E_TYPE', `expected true or false, got ${show(value)}`, { path, value });
  return value;
}

export function checkEnum<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new DiskwrightError('E_ENUM', `${show(value)} is not one of ${allowed.join(', ')}`, { path, value });
  }
  return value as T;
}

export function checkArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new DiskwrightError('E_TYPE', `expected a list, got ${show(value)}`, { path, value });
  return value;
}
