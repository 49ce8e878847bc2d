/**
 * Structural validation against a Valibot schema (docs/ARCHITECTURE.md §3), with diskwright's own
 * errors: the first failure becomes a DiskwrightError with the code and words its schema node
 * declares (`src/util/schema.ts`: E_UNKNOWN_KEY with a "did you mean", E_TYPE, E_RANGE, E_ENUM,
 * E_SIZE, E_MODE…) and the spec path in our dotted form (`partitions[1].contents[3].mode`).
 *
 * @example
 * const check = validator(Options);
 * const options = check(value, 'partitions[0].ext4'); // typed (defaults filled), or throws
 */
import * as v from 'valibot';
import { DiskwrightError, show } from '../errors.js';
import { CODE_SEPARATOR } from './schema.js';

export type Validator<S extends v.GenericSchema> = (value: unknown, path?: string) => v.InferOutput<S>;

/** A checker for `schema`: returns its output (defaults filled), or throws the first failure as a DiskwrightError. */
export function validator<S extends v.GenericSchema>(schema: S): Validator<S> {
  return (value, path = '') => {
    const r = v.safeParse(schema, value, { abortEarly: true });
    if (r.success) return r.output;
    throw specError(r.issues[0], path);
  };
}

/** A Valibot issue path under `base` in our form: `partitions[0].contents[3].mode`. */
export function dottedPath(items: readonly { type: string; key?: unknown }[] | undefined, base = ''): string {
  let out = base;
  for (const item of items ?? []) {
    if (item.type === 'array') out += `[${String(item.key)}]`;
    else out = out ? `${out}.${String(item.key)}` : String(item.key);
  }
  return out;
}

function specError(issue: v.BaseIssue<unknown>, base: string): DiskwrightError {
  const path = dottedPath(issue.path, base) || base || '(spec)';
  const cut = issue.message.indexOf(CODE_SEPARATOR);
  const key = issue.path?.[issue.path.length - 1];
  // An unknown key's value is the key itself; otherwise the value that failed.
  const value = issue.expected === 'never' && key ? key.key : issue.input;
  if (cut > 0) return new DiskwrightError(issue.message.slice(0, cut), issue.message.slice(cut + 1), { path, value });
  return new DiskwrightError('E_TYPE', `${issue.message} (got ${show(issue.input)})`, { path, value });
}
