/**
 * Building blocks for declaring the spec with Valibot (docs/ARCHITECTURE.md §3). Each gives a
 * schema (its TypeScript type through `v.InferInput`, its JSON Schema through
 * @valibot/to-json-schema) whose every failure message carries diskwright's error code and words:
 * `src/util/validator.ts` turns the first failure into a DiskwrightError.
 *
 * @example
 * const Options = Closed({ clusterSize: v.optional(Size('qcow2 cluster size'), 65536) });
 */
import * as v from 'valibot';
import { show } from '../errors.js';

/** A size: bytes, or a number with a binary unit (`8KiB`, `1.5GiB`; see `src/util/size.ts`). */
export const SIZE_PATTERN = /^\s*[0-9]+(\.[0-9]+)?\s*([bBsS]|[kKmMgGtT]([iI]?[bB])?)?\s*$/;
/** An octal mode string ("0644", "1777", "755"); numbers are refused: YAML reads 0644 as 644. */
export const MODE_PATTERN = /^0?[0-7]{1,4}$/;
/** Names, paths, labels and link targets are C strings on disk, where a NUL silently cuts them. */
export const NO_NUL_PATTERN = /^[^\u0000]*$/;

/** Separates the code from the words in a message (see validator.ts). */
export const CODE_SEPARATOR = '\u0001';

type Issue = v.BaseIssue<unknown>;
type Message = (issue: Issue) => string;

/** A failure message: `code` and the words for the value that failed. */
export function coded(code: string, words: (input: unknown, issue: Issue) => string): Message {
  return (issue) => `${code}${CODE_SEPARATOR}${words(issue.input, issue)}`;
}

/** Attach a description (the JSON Schema's, shown by editors). */
export function described<S extends v.GenericSchema>(schema: S, text?: string): S {
  return (text === undefined ? schema : v.pipe(schema, v.description(text))) as unknown as S;
}

const typeWords = (what: string) => (input: unknown): string => `expected ${what}, got ${show(input)}`;

export function Bool(text?: string): v.BooleanSchema<Message> {
  return described(v.boolean(coded('E_TYPE', typeWords('true or false'))), text);
}

/** An integer from `min` to `max` (E_RANGE). */
export function Int(min: number, max: number, text?: string): v.GenericSchema<number> {
  const m = coded('E_RANGE', typeWords(`an integer from ${min} to ${max}`));
  return described(v.pipe(v.number(m), v.integer(m), v.minValue(min, m), v.maxValue(max, m)), text);
}

/** A number from `min` to `max` (E_RANGE). */
export function Num(min: number, max: number, text?: string): v.GenericSchema<number> {
  const m = coded('E_RANGE', typeWords(`a number from ${min} to ${max}`));
  return described(v.pipe(v.number(m), v.minValue(min, m), v.maxValue(max, m)), text);
}

/** A string without NUL bytes (E_NUL); `nonEmpty` refuses "" (E_TYPE), `max` longer ones (E_TOO_LONG). */
export function Text(opts: { nonEmpty?: boolean; max?: number; allowNul?: boolean; text?: string } = {}): v.GenericSchema<string> {
  const actions: v.PipeItem<string, string, Issue>[] = [];
  if (!opts.allowNul) actions.push(v.regex(NO_NUL_PATTERN, coded('E_NUL', (x) => `${show(x)} contains a NUL byte, which no name, path or label can hold`)));
  if (opts.nonEmpty) actions.push(v.minLength(1, coded('E_TYPE', () => 'must not be empty')));
  if (opts.max !== undefined) actions.push(v.maxLength(opts.max, coded('E_TOO_LONG', (x) => `${show(x)} is longer than ${opts.max} characters`)));
  return described(v.pipe(v.string(coded('E_TYPE', typeWords('a string'))), ...actions), opts.text);
}

/** One of a list of words or numbers (E_ENUM naming them). The list usually comes from a registry. */
export function OneOf<const T extends readonly (string | number)[]>(values: T, text?: string): v.PicklistSchema<T, Message> {
  return described(v.picklist(values, coded('E_ENUM', (x) => `${show(x)} is not one of ${values.join(', ')}`)), text);
}

/**
 * The literal values a schema accepts (a picklist's options, a literal, a union's or an optional's
 * members), in declaration order; empty when it accepts open values (a number range, any string,
 * a union with such a member).
 * Lets `--help` and error texts name the choices the schema holds instead of repeating them.
 *
 * @example
 * choices(Ext4Options.entries.blockSize); // [1024, 2048, 4096]
 */
export function choices(schema: unknown): (string | number | boolean)[] {
  const s = schema as { type?: string; options?: readonly unknown[]; literal?: string | number | boolean; wrapped?: unknown };
  if (s.type === 'picklist') return [...(s.options as (string | number)[])];
  if (s.type === 'literal') return [s.literal!];
  if (s.type === 'union') {
    // A union with an open member (SizeOr: words or any size) is open too.
    const each = (s.options ?? []).map((o) => choices(o));
    return each.some((c) => c.length === 0) ? [] : each.flat();
  }
  if (s.wrapped !== undefined) return choices(s.wrapped);
  return [];
}

/** A list (E_TYPE when not one). */
export function List<S extends v.GenericSchema>(item: S, text?: string): v.ArraySchema<S, Message> {
  return described(v.array(item, coded('E_TYPE', typeWords('a list'))), text);
}

/**
 * An object with exactly these keys: an unknown key is E_UNKNOWN_KEY with a "did you mean", a
 * missing required one E_MISSING, a value that is no object E_TYPE.
 */
export function Closed<const E extends v.ObjectEntries>(entries: E, text?: string): v.StrictObjectSchema<E, Message> {

  const keys = Object.keys(entries);
  const message: Message = (issue) => {
    const key = issue.path?.[issue.path.length - 1]?.key;
    if (issue.expected === 'never' && typeof key === 'string') {
      const near = keys.filter((a) => a.toLowerCase() === key.toLowerCase() || a.startsWith(key.slice(0, 3)));
      return `E_UNKNOWN_KEY${CODE_SEPARATOR}unknown key ${show(key)}${near.length ? ` (did you mean ${near.map((n) => show(n)).join(' or ')}?)` : ''}`;
    }
    if (typeof key === 'string') return `E_MISSING${CODE_SEPARATOR}${show(key)} is required`;
    return `E_TYPE${CODE_SEPARATOR}expected an object, got ${show(issue.input)}`;
  };
  const object = v.strictObject(entries, message);
  // A list is an object to JavaScript (an empty one would pass for `{}`): refuse it first. The JSON
  // Schema is the object's (jsonschema.ts converts the last schema of a pipe), and so are `entries`.
  const isRecord = v.custom<v.InferInput<typeof object>>((x) => typeof x === 'object' && x !== null && !Array.isArray(x), coded('E_TYPE', (x) => `expected an object, got ${show(x)}`));
  return Object.assign(described(v.pipe(isRecord, object), text), { entries }) as unknown as v.StrictObjectSchema<E, Message>;
}

function sizeWords(input: unknown): string {
  if (typeof input === 'string') {
    const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
    if (m) return `bad size ${show(input)}: unknown unit ${show(m[2])} (use B, KiB, MiB, GiB, TiB)`;
    return `bad size ${show(input)}: expected a number with an optional unit (512, 8KiB, 256MiB, 1.5GiB)`;
  }
  if (typeof input === 'number') return `bad size ${show(input)}: must be a whole, non-negative number of bytes`;
  return `bad size ${show(input)}: expected a number of bytes or a string like "256MiB"`;
}

function sizeOptions(m: Message): v.GenericSchema[] {
  return [
    v.pipe(v.number(m), v.integer(m), v.minValue(0, m), v.maxValue(Number.MAX_SAFE_INTEGER, m)),
    v.pipe(v.string(m), v.regex(SIZE_PATTERN, m)),
  ];
}

/** A size in bytes or with a unit (E_SIZE). */
export function Size(text?: string): v.GenericSchema<number | string> {
  const m = coded('E_SIZE', sizeWords);
  return described(v.union(sizeOptions(m), m), text) as unknown as v.GenericSchema<number | string>;
}

/** A size, or one of the given words (`auto`, `fill`). */
export function SizeOr<const W extends readonly string[]>(words: W, text?: string): v.GenericSchema<W[number] | number | string> {
  const m = coded('E_SIZE', (x) => typeof x === 'string' && !/^\s*[0-9]/.test(x) ? `bad size ${show(x)}: expected ${words.join(', ')} or a size such as 256MiB` : sizeWords(x));
  return described(v.union([v.picklist(words, m), ...sizeOptions(m)], m), text) as unknown as v.GenericSchema<W[number] | number | string>;
}

/** The default an optional entry declares (`v.optional(schema, default)`): defaults are written once, in the schema. */
export function defaultOf<T>(entry: { default?: unknown }): T {
  return entry.default as T;
}
