/**
 * Quick forms (docs/ARCHITECTURE.md §3): `diskwright ext4|fat|iso|squashfs DIR` build a
 * one-partition spec with `table: none` from a directory and flags, and map its error paths back
 * to the flags. Each form declares its filesystem, its own flags and how they fill the option block.
 *
 * @example
 * registerQuick(cli, { command: 'fat', filesystem: 'vfat', part: 'esp', ... });
 */
import type { CAC } from 'cac';
import type { BuildReport } from '../build.js';
import { compressionNames, formatNames } from '../container/registry.js';
import { DiskwrightError } from '../errors.js';
import { choices, defaultOf } from '../util/schema.js';
import { parseSize } from '../util/size.js';
import type { BuildFlags } from './run.js';

export interface QuickFlags extends BuildFlags { label?: string; uuid?: string; size?: string; extraSpace?: string; epoch?: number; seed?: string; owners?: string; xattrs?: boolean; [flag: string]: unknown }

export interface QuickForm {
  /** The command name (`ext4`, `fat`, `iso`, `squashfs`); also the spec's `name`. */
  command: string;
  description: string;
  /** `filesystem:` of the partition. */
  filesystem: string;
  /** The partition's name (ids derive from it). */
  part: string;
  /** Fill the partition from the form's own flags (its option block, usually). */
  apply?: (part: Record<string, unknown>, flags: QuickFlags) => void;
  /** The form's own flags: `[flag, description]`. */
  flags?: readonly (readonly [string, string])[];
  /** Error paths of its option block mapped back to its flags. */
  paths?: readonly (readonly [RegExp, string])[];
  example: string;
  /** Whether it has --size/--extra-space (a read-only filesystem is always its exact size). */
  sized?: boolean;
  /**
   * Common flags the form declares in `flags` with a meaning of its own (squashfs: `compression`,
   * its compressor rather than whole-file compression): left out of the common ones, and not passed
   * to the build as the common flag.
   */
  ownFlags?: readonly 'compression'[];
}

/** `DIR` and flags as a one-partition spec with `table: none`. */
export function quickSpec(form: QuickForm, dir: string, flags: QuickFlags): Record<string, unknown> {
  const entry: Record<string, unknown> = { source: dir, target: '/' };
  // FAT stores neither owners nor xattrs: --owners is accepted and has no effect there.
  if (flags.owners !== undefined) entry.owners = String(flags.owners);
  if (flags.xattrs === false) entry.xattrs = false;
  const part: Record<string, unknown> = { name: form.part, filesystem: form.filesystem, contents: [entry] };
  if (flags.label !== undefined) part.label = String(flags.label);
  if (flags.uuid !== undefined) part.fsUuid = String(flags.uuid);
  if (flags.size !== undefined && flags.size !== 'auto') part.size = parseSize(String(flags.size), '--size');
  if (flags.extraSpace !== undefined) part.extraSpace = parseSize(String(flags.extraSpace), '--extra-space');
  form.apply?.(part, flags);
  const spec: Record<string, unknown> = { name: form.command, table: 'none', partitions: [part] };
  if (flags.epoch !== undefined) spec.sourceDateEpoch = Number(flags.epoch);
  if (flags.seed !== undefined) spec.seed = String(flags.seed);
  return spec;
}

async function quickBuild(form: QuickForm, dir: string, flags: QuickFlags): Promise<BuildReport> {
  try {
    // The spec check and the build pipeline load when a form runs, not for --help (start-up).
    const [{ parseImageSpec }, { runBuild }] = await Promise.all([import('../spec/schema.js'), import('./run.js')]);
    const common = form.ownFlags?.length ? Object.fromEntries(Object.entries(flags).filter(([k]) => !(form.ownFlags as readonly string[]).includes(k))) : flags;
    return await runBuild(parseImageSpec(quickSpec(form, dir, flags)), process.cwd(), common);
  } catch (e) {
    throw e instanceof DiskwrightError ? quickPath(e, form) : e;
  }
}

/**
 * A flag's help text from its option schema: the values it accepts and its default (or `none`,
 * when the schema has no default), so `--help` names what validation accepts.
 *
 * @example
 * choiceHelp(Ext4Options.entries.blockSize); // '1024 | 2048 | 4096 (default: 4096)'
 */
export function choiceHelp(schema: unknown, none?: string): string {
  const def = defaultOf<unknown>(schema as { default?: unknown }) ?? none;
  return `${choices(schema).join(' | ')}${def === undefined ? '' : ` (default: ${String(def)})`}`;
}

/** Errors of a quick form name its flags, not the spec it builds internally. */
const COMMON_PATHS: readonly (readonly [RegExp, string])[] = [
  [/^partitions\[0\]\.size$/, '--size'], [/^partitions\[0\]\.extraSpace$/, '--extra-space'], [/^partitions\[0\]\.label$/, '--label'],
  [/^partitions\[0\]\.fsUuid$/, '--uuid'], [/^partitions\[0\]\.contents\[0\]\.source$/, 'DIR'], [/^partitions\[0\]\.contents\[0\]\.owners$/, '--owners'],
  [/^sourceDateEpoch$/, '--epoch'],
];
function quickPath(e: DiskwrightError, form: QuickForm): DiskwrightError {
  const hit = e.path === undefined ? undefined : [...COMMON_PATHS, ...(form.paths ?? [])].find(([re]) => re.test(e.path!));
  if (!hit) return e;
  const message = e.message.startsWith(`${e.path}: `) ? e.message.slice(e.path!.length + 2) : e.message;
  return new DiskwrightError(e.code, message, { path: hit[1], value: e.value });
}

/** Register a quick form as a command with the common flags and its own. */
export function registerQuick(cli: CAC, form: QuickForm): void {
  let c = cli.command(`${form.command} <dir>`, form.description)
    .option('-o, --output <file>', 'Output image file')
    .option('--label <label>', 'Filesystem label (ISO 9660: the volume id)')
    .option('--uuid <uuid>', 'Filesystem UUID (FAT: volume id XXXX-XXXX)');
  if (form.sized !== false) {
    c = c.option('--size <size>', 'auto (default) or a size such as 256MiB')
      .option('--extra-space <size>', 'Free space added to an auto size');
  }
  c = c.option('--epoch <seconds>', 'sourceDateEpoch (default $SOURCE_DATE_EPOCH)')
    .option('--seed <seed>', 'Seed every id derives from')
    .option('--format <format>', `Container format: ${formatNames.join(' | ')}`);
  if (!form.ownFlags?.includes('compression')) c = c.option('--compression <c>', `Whole-file compression: ${compressionNames.join(' | ')}`);
  c = c.option('--report <file>', 'Write a JSON report')
    .option('--sha256', 'Print the sha256 of the output')
    .option('--owners <root|host>', 'Owners of the copied files: root (default) or the host\'s numeric uid/gid (FAT has none)')
    .option('--dry-run', 'Plan only')
    .option('-q, --quiet', 'No progress bar or summary');
  for (const [flag, text] of form.flags ?? []) c = c.option(flag, text);
  c.example(form.example).action((dir: string, flags: QuickFlags) => quickBuild(form, dir, flags));
}
