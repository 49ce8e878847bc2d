/**
 * Running a build from the CLI: output name, progress bar, warnings, report and summary lines.
 * Shared by `build` and every quick form (`ext4`, `fat`, `iso`, `squashfs`).
 */
import { writeFileSync } from 'node:fs';
import { buildImage, type BuildReport } from '../build.js';
import { compressionFormat, containerFormat, containerFormats } from '../container/registry.js';
import { outputError } from '../container/sink.js';
import type { ImageSpec } from '../spec/types.js';
import { progressBar } from './progress.js';
import { interruptSignal } from './signals.js';
import { layoutTable } from './table.js';

export interface BuildFlags { sha256?: boolean; output?: string; format?: string; compression?: string; level?: number; report?: string; dryRun?: boolean; quiet?: boolean }

/** `<name><format suffix>[<compression suffix>]`; names and suffixes come from the registries. */
function defaultOutput(spec: ImageSpec, flags: BuildFlags): string {
  const suffix = (containerFormat(flags.format ?? spec.format ?? containerFormats[0].name) ?? containerFormats[0]).suffix;
  const comp = compressionFormat(flags.compression ?? spec.compression ?? 'none');
  return `${spec.name ?? 'image'}${suffix}${comp?.suffix ?? ''}`;
}

export async function runBuild(spec: ImageSpec, baseDir: string, flags: BuildFlags): Promise<BuildReport> {
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

