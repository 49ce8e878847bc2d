/**
 * The one error class of diskwright. Every failure the user can cause carries a stable `code`,
 * the spec path of the bad input (`partitions[1].contents[3].mode`) and the offending value, so the
 * CLI can print one line and programs can branch on `code`.
 *
 * @example
 * throw new DiskwrightError('E_SIZE', 'bad size: not a number with a unit ("12XB")', { path: 'partitions[0].size', value: '12XB' });
 */
export class DiskwrightError extends Error {
  readonly code: string;
  readonly path: string | undefined;
  readonly value: unknown;
  constructor(code: string, message: string, opts: { path?: string; value?: unknown; cause?: unknown } = {}) {
    super(opts.path ? `${opts.path}: ${message}` : message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DiskwrightError';
    this.code = code;
    this.path = opts.path;
    this.value = opts.value;
  }
  toJSON(): { code: string; message: string; path?: string; value?: unknown } {
    const out: { code: string; message: string; path?: string; value?: unknown } = { code: this.code, message: this.message };
    if (this.path !== undefined) out.path = this.path;
    if (this.value !== undefined) out.value = this.value;
    return out;
  }
}

/** Render a value for an error message without dumping huge objects. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 80 ? s.slice(0, 77) + '...' : s;
}
