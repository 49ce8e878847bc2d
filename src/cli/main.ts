#!/usr/bin/env node
// First: the signal handlers are installed before anything else loads.
import { interruptSignal } from './signals.js';
import { cac } from 'cac';
import { compressionNames, formatNames } from '../container/registry.js';
import { removeTemporaryOutputs } from '../container/sink.js';
import { DiskwrightError } from '../errors.js';
import { loadSpecFile } from '../spec/parse.js';
import { registerExtraCommands } from './commands.js';
import { registerQuick } from './quick.js';
import { runBuild, type BuildFlags } from './run.js';
import { STDIO_TOKEN } from './stdio.js';

// Re-exported so the first import above is a named one (the handlers are installed as it loads).
export { interruptSignal };

const cli = cac('diskwright');

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

registerQuick(cli, {
  command: 'ext4', description: 'Make a bare ext4 filesystem image from a directory', filesystem: 'ext4', part: 'root',
  flags: [['--block-size <n>', '1024 | 2048 | 4096'], ['--no-journal', 'No jbd2 journal'], ['--no-xattrs', 'Do not copy the host files\' extended attributes']],
  apply: (part, flags) => {
    const ext4: Record<string, unknown> = {};
    if (flags.blockSize !== undefined) ext4.blockSize = Number(flags.blockSize);
    if (flags.journal === false) ext4.journal = false;
    if (Object.keys(ext4).length) part.ext4 = ext4;
  },
  paths: [[/^partitions\[0\]\.ext4\.blockSize$/, '--block-size']],
  example: 'diskwright ext4 ./rootfs -o root.img --label nixos --extra-space 16MiB',
});

registerQuick(cli, {
  command: 'fat', description: 'Make a bare FAT12/16/32 filesystem image from a directory', filesystem: 'fat', part: 'esp',
  flags: [['--fat <bits>', '12 | 16 | 32 (default: by size, as mkfs.fat)']],
  apply: (part, flags) => { if (flags.fat !== undefined) part.fat = { fatSize: Number(flags.fat) }; },
  paths: [[/^partitions\[0\]\.fat\.fatSize$/, '--fat']],
  example: 'diskwright fat ./esp -o esp.img --label ESP',
});

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
