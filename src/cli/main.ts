#!/usr/bin/env node
/**
 * The diskwright command line: argument fix-ups, the one error handler and the exit codes; the
 * commands are declared in commands.ts. Start-up matters (docs/ARCHITECTURE.md §6): only the
 * declarations load before a command runs, and each action imports what it runs (spec parsing,
 * the build pipeline, readers, codecs), so `--help` loads none of it and `--version` not even the
 * declarations. `npm run build` bundles this entry into one script run with a V8 code cache
 * (scripts/bundle.mjs, src/cli/launch.ts).
 */
// First: the signal handlers are installed before anything else loads.
import { interruptSignal } from './signals.js';
import { cac } from 'cac';
import { removeTemporaryOutputs } from '../container/temporaries.js';
import { DiskwrightError } from '../errors.js';
import { STDIO_TOKEN } from './stdio.js';

// Re-exported so the first import above is a named one (the handlers are installed as it loads).
export { interruptSignal };

const VERSION = '0.1.0';

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

async function main(): Promise<void> {
  const cli = cac('diskwright');
  // `--version` alone needs no command: the declarations, and the registries they name, load for
  // everything else.
  if (!(argv.length === 3 && (argv[2] === '--version' || argv[2] === '-v'))) {
    const { registerCommands } = await import('./commands.js');
    registerCommands(cli);
  }
  // cac gives every `--no-x` option an implied default of true, which --help prints as
  // "--no-journal  No jbd2 journal (default: true)". Without it, flags.x is false when --no-x is
  // given and undefined otherwise, which is what the commands test (`flags.journal === false`).
  for (const command of [cli.globalCommand, ...cli.commands]) {
    for (const option of command.options) if (option.negated && option.config.default === true) delete option.config.default;
  }
  cli.help();
  cli.version(VERSION);

  cli.parse(argv, { run: false });
  if (!cli.matchedCommand) {
    // --help and --version are printed by cac itself during parse
    if (argv.length <= 2) cli.outputHelp();
    else if (!cli.options.help && !cli.options.version) fail(new DiskwrightError('E_USAGE', `unknown command ${argv[2]} (see diskwright --help)`));
  } else {
    await cli.runMatchedCommand();
  }
}

// Not a top-level await: the bundle (scripts/bundle.mjs) is a script, run with a code cache.
main().catch(fail);
