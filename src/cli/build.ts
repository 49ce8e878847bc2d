/**
 * `diskwright build SPEC`: an image from a YAML or JSON spec. The declaration only: the spec
 * parser and the build pipeline load when the command runs (docs/ARCHITECTURE.md §6, start-up).
 *
 * @example
 * registerBuild(cli); // diskwright build examples/efi-disk.yaml -o disk.img --report disk.json
 */
import type { CAC } from 'cac';
import { compressionNames, formatNames } from '../container/registry.js';
import type { BuildFlags } from './run.js';

export function registerBuild(cli: CAC): void {
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
      const [{ loadSpecFile }, { runBuild }] = await Promise.all([import('../spec/parse.js'), import('./run.js')]);
      const { spec, baseDir } = await loadSpecFile(specPath);
      await runBuild(spec, baseDir, flags);
    });
}
