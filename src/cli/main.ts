#!/usr/bin/env node
// First: the signal handlers are installed before anything else loads.
import { interruptSignal } from './signals.js';
import { writeFileSync } from 'node:fs';
import { cac } from 'cac';
import { buildImage, type BuildReport } from '../build.js';
import { compressionFormat, compressionNames, containerFormat, containerFormats, formatNames } from '../container/registry.js';
import { outputError, removeTemporaryOutputs } from '../container/sink.js';
import { DiskwrightError } from '../errors.js';
import { loadSpecFile } from '../spec/parse.js';
import { parseImageSpec } from '../spec/schema.js';
import type { ImageSpec } from '../spec/types.js';
import { parseSize } from '../util/size.js';
import { progressBar } from './progress.js';
import { layoutTable } from './table.js';
import { registerExtraCommands } from './commands.js';
import { STDIO_TOKEN } from './stdio.js';

const cli = cac('diskwright');

interface BuildFlags { sha256?: boolean; output?: string; format?: string; compression?: string; level?: number; report?: string; dryRun?: boolean; quiet?: boolean }

/** `<name><format suffix>[<compression suffix>]`; names and suffixes come from the registries. */
function defaultOutput(spec: ImageSpec, flags: BuildFlags): string {
  const suffix = (containerFormat(flags.format ?? spec.format ?? containerFormats[0].name) ?? containerFormats[0]).writer.suffix;
  const comp = compressionFormat(flags.compression ?? spec.compression ?? 'none');
  return `${spec.name ?? 'image'}${suffix}${comp?.suffix ?? ''}`;
}

async function runBuild(spec: ImageSpec, baseDir: string, flags: BuildFlags): Promise<BuildReport> {
  const output = flags.output ?? defaultOutput(spec, flags);
  const bar = progressBar(!flags.quiet && output !== '-');
  // Missing directories of the output are created when it is opened, after planning (and removed
  // again if the build fails): see container/sink.ts FileSink.
  try {
    const report = await buildImage(spec, {
      baseDir, output, dryRun: flags.dryRun === true, hash: flags.report !== undefined || flags.sha256 === true,
      ...(flags.format !== undefined ? { format: flags.format } : {}),
      ...(flags.compression !== undefined ? { compression: flags.compression } : {}),
      ...(flags.level !== undefined ? { compressionLevel: Number(flags.level) } : {}),
      onProgress: bar.update,
      onWarning: (m) => { bar.done(); process.stderr.write(`diskwright: warning: ${m}\n`); },
      signal: interruptSignal,
    });
    bar.done();
    if (flags.dryRun) process.stdout.write(layoutTable(report) + '\n');
    if (flags.report) {
      try {
        writeFileSync(flags.report, JSON.stringify(report, null, 2) + '\n');
      } catch (e) {
        throw outputError(flags.report, e);
      }
    }
    // --sha256 prints the hash even with -q (on stderr when the image itself goes to stdout).
    if (flags.sha256 && report.sha256 && !flags.dryRun) (output === '-' ? process.stderr : process.stdout).write(`${report.sha256}  ${report.output ?? output}\n`);
    if (!flags.dryRun && !flags.quiet && output !== '-') process.stderr.write(`wrote ${report.output} (${report.size}-byte disk${report.sha256 ? `, sha256 ${report.sha256}` : ''})\n`);
    return report;
  } finally {
    bar.done();
  }
}

cli
  .command('build <spec>', 'Build an image from a YAML or JSON spec')
  .option('-o, --output <file>', 'Output file ("-" for stdout); default: <name>.<format suffix>')
  .option('--format <format>', `${formatNames.join(' | ')} (overrides the spec)`)
  .option('--compression <c>', `${compressionNames.join(' | ')} (overrides the spec)`)
  .option('--level <n>', 'Compression level')
  .option('--report <file>', 'Write a JSON report (partitions, offsets, GUIDs, filesystem ids, sha256)')
  .option('--dry-run', 'Validate and plan; print the layout as a table; write nothing')
  .option('--sha256', 'Print the sha256 of the output (always in --report)')
  .option('-q, --quiet', 'No progress bar or summary')
  .example('diskwright build examples/efi-disk.yaml -o disk.img --report disk.json')
  .action(async (specPath: string, flags: BuildFlags) => {
    const { spec, baseDir } = await loadSpecFile(specPath);
    await runBuild(spec, baseDir, flags);
  });

interface QuickFlags extends BuildFlags { label?: string; uuid?: string; size?: string; extraSpace?: string; fat?: number; blockSize?: number; noJournal?: boolean; journal?: boolean; epoch?: number; seed?: string; owners?: string; xattrs?: boolean }

/** `diskwright ext4|fat DIR`: a one-partition spec with `table: none`; `fs` is the command, a filesystem name of the spec. */
function quick(fs: 'ext4' | 'fat', dir: string, flags: QuickFlags): Promise<BuildReport> {
  const entry: Record<string, unknown> = { source: dir, target: '/' };
  // FAT stores neither owners nor xattrs: --owners is accepted and has no effect there.
  if (flags.owners !== undefined) entry.owners = String(flags.owners);
  if (flags.xattrs === false) entry.xattrs = false;
  const part: Record<string, unknown> = { name: fs === 'ext4' ? 'root' : 'esp', filesystem: fs, contents: [entry] };
  if (flags.label !== undefined) part.label = String(flags.label);
  if (flags.uuid !== undefined) part.fsUuid = String(flags.uuid);
  if (flags.size !== undefined && flags.size !== 'auto') part.size = parseSize(String(flags.size), '--size');
  if (flags.extraSpace !== undefined) part.extraSpace = parseSize(String(flags.extraSpace), '--extra-space');
  if (fs === 'fat' && flags.fat !== undefined) part.fat = { fatSize: Number(flags.fat) };
  if (fs === 'ext4') {
    const ext4: Record<string, unknown> = {};
    if (flags.blockSize !== undefined) ext4.blockSize = Number(flags.blockSize);
    if (flags.journal === false) ext4.journal = false;
    if (Object.keys(ext4).length) part.ext4 = ext4;
  }
  const spec: Record<string, unknown> = { name: fs, table: 'none', partitions: [part] };
  if (flags.epoch !== undefined) spec.sourceDateEpoch = Number(flags.epoch);
  if (flags.seed !== undefined) spec.seed = String(flags.seed);
  return Promise.resolve().then(() => runBuild(parseImageSpec(spec), process.cwd(), flags)).catch((e: unknown) => {
    throw e instanceof DiskwrightError ? quickPath(e) : e;
  });
}

/** Errors of a quick form name its flags, not the spec it builds internally. */
const QUICK_PATHS: [RegExp, string][] = [
  [/^partitions\[0\]\.size$/, '--size'], [/^partitions\[0\]\.extraSpace$/, '--extra-space'], [/^partitions\[0\]\.label$/, '--label'],
  [/^partitions\[0\]\.fsUuid$/, '--uuid'], [/^partitions\[0\]\.fat\.fatSize$/, '--fat'], [/^partitions\[0\]\.contents\[0\]\.source$/, 'DIR'], [/^partitions\[0\]\.contents\[0\]\.owners$/, '--owners'],
  [/^sourceDateEpoch$/, '--epoch'], [/^partitions\[0\]\.ext4\.blockSize$/, '--block-size'],
];
function quickPath(e: DiskwrightError): DiskwrightError {
  const hit = e.path === undefined ? undefined : QUICK_PATHS.find(([re]) => re.test(e.path!));
  if (!hit) return e;
  const message = e.message.startsWith(`${e.path}: `) ? e.message.slice(e.path!.length + 2) : e.message;
  return new DiskwrightError(e.code, message, { path: hit[1], value: e.value });
}

const common = (c: ReturnType<typeof cli.command>): ReturnType<typeof cli.command> => c
  .option('-o, --output <file>', 'Output image file')
  .option('--label <label>', 'Filesystem label')
  .option('--uuid <uuid>', 'Filesystem UUID (FAT: volume id XXXX-XXXX)')
  .option('--size <size>', 'auto (default) or a size such as 256MiB')
  .option('--extra-space <size>', 'Free space added to an auto size')
  .option('--epoch <seconds>', 'sourceDateEpoch (default $SOURCE_DATE_EPOCH)')
  .option('--seed <seed>', 'Seed every id derives from')
  .option('--format <format>', `Container format: ${formatNames.join(' | ')}`)
  .option('--compression <c>', `Whole-file compression: ${compressionNames.join(' | ')}`)
  .option('--report <file>', 'Write a JSON report')
  .option('--sha256', 'Print the sha256 of the output')
  .option('--owners <root|host>', 'Owners of the copied files: root (default) or the host\'s numeric uid/gid (ext4; FAT has none)')
  .option('--dry-run', 'Plan only')
  .option('-q, --quiet', 'No progress bar or summary');

common(cli.command('ext4 <dir>', 'Make a bare ext4 filesystem image from a directory'))
  .option('--block-size <n>', '1024 | 2048 | 4096')
  .option('--no-journal', 'No jbd2 journal')
  .option('--no-xattrs', 'Do not copy the host files\' extended attributes')
  .example('diskwright ext4 ./rootfs -o root.img --label nixos --extra-space 16MiB')
  .action((dir: string, flags: QuickFlags) => quick('ext4', dir, flags));

common(cli.command('fat <dir>', 'Make a bare FAT12/16/32 filesystem image from a directory'))
  .option('--fat <bits>', '12 | 16 | 32 (default: by size, as mkfs.fat)')
  .example('diskwright fat ./esp -o esp.img --label ESP')
  .action((dir: string, flags: QuickFlags) => quick('fat', dir, flags));

registerExtraCommands(cli);

// cac gives every `--no-x` option an implied default of true, which --help prints as
// "--no-journal  No jbd2 journal (default: true)". Without it, flags.x is false when --no-x is
// given and undefined otherwise, which is what the commands test (`flags.journal === false`).
for (const command of [cli.globalCommand, ...cli.commands]) {
  for (const option of command.options) if (option.negated && option.config.default === true) delete option.config.default;
}

cli.help();
cli.version('0.1.0');

function fail(e: unknown): never {
  removeTemporaryOutputs();
  // The reader of -o - went away (`| head`): stop quietly, with the status of a SIGPIPE death.
  if (e instanceof DiskwrightError && e.code === 'E_OUTPUT_CLOSED') process.exit(141);
  if (e instanceof DiskwrightError) {
    process.stderr.write(`diskwright: error ${e.code}: ${e.message}\n`);
    process.exit(e.code === 'E_USAGE' ? 2 : 1);
  }
  const err = e as Error & { code?: string };
  if (err && err.name === 'CACError') {
    process.stderr.write(`diskwright: ${err.message} (see --help)\n`);
    process.exit(2);
  }
  // A host error (ENOSPC, EACCES, EIO… with its syscall) that no module put in words: one line.
  if (err && typeof err === 'object' && typeof err.code === 'string' && 'syscall' in err) {
    process.stderr.write(`diskwright: error ${err.code}: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`diskwright: internal error: ${err?.stack ?? String(e)}\n`);
  process.exit(3);
}

// Writing to a closed pipe (`diskwright inspect … | head`): EPIPE is not an error worth a word.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') { removeTemporaryOutputs(); process.exit(141); }
  fail(e);
});

// cac drops a lone "-": "-o -" (stdout) is passed on as --output=-, a positional "-" as a token
// the commands map back (see stdio()).
const argv = process.argv.flatMap((a, i, all) => (a === '-' && (all[i - 1] === '-o' || all[i - 1] === '--output') ? [] : (a === '-o' || a === '--output') && all[i + 1] === '-' ? ['--output=-'] : a === '-' ? [STDIO_TOKEN] : [a]));

try {
  cli.parse(argv, { run: false });
  if (!cli.matchedCommand) {
    // --help and --version are printed by cac itself during parse
    if (argv.length <= 2) cli.outputHelp();
    else if (!cli.options.help && !cli.options.version) fail(new DiskwrightError('E_USAGE', `unknown command ${argv[2]} (see diskwright --help)`));
  } else {
    await cli.runMatchedCommand();
  }
} catch (e) {
  fail(e);
}
