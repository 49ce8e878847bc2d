import type { CAC } from 'cac';
import { compressionFormat, compressionNames, containerFormat, containerFormats, formatNames } from '../container/registry.js';
import { DiskwrightError } from '../errors.js';
import { progressBar } from './progress.js';
import { interruptSignal } from './signals.js';
import { stdio } from './stdio.js';

interface ConvertFlags { format?: string; inputFormat?: string; compression?: string; level?: number; seed?: string; epoch?: number; clusterSize?: number; quiet?: boolean; sha256?: boolean }

/**
 * `diskwright convert IN OUT --format F [--compression C]`: any format diskwright writes (raw,
 * qcow2, VHD, VDI, VMDK, optionally zstd/xz/gzip/bzip2-compressed) to any other.
 */
export function registerConvert(cli: CAC): void {
  cli
    .command('convert <input> <output>', `Convert a disk image between ${containerFormats.map((f) => f.name).join(', ')}`)
    .option('--format <format>', `Output format: ${formatNames.join(' | ')} (default: ${containerFormats[0].name})`)
    .option('--input-format <format>', 'Input format (default: detected)')
    .option('--compression <c>', `${compressionNames.join(' | ')} (whole output file)`)
    .option('--level <n>', 'Compression level')
    .option('--cluster-size <bytes>', 'qcow2 cluster size (default 65536)')
    .option('--seed <seed>', 'Seed for container ids (VHD/VDI UUIDs, VMDK CID)')
    .option('--epoch <seconds>', 'Container timestamps (default $SOURCE_DATE_EPOCH)')
    .option('--sha256', 'Print the sha256 of the output')
    .option('-q, --quiet', 'No progress bar or summary')
    .example('diskwright convert disk.img disk.qcow2 --format qcow2')
    .example('diskwright convert disk.vhd disk.img --format raw')
    .action(async (inputArg: string, outputArg: string, flags: ConvertFlags) => {
      const input = stdio(inputArg), output = stdio(outputArg);
      const format = flags.format ?? containerFormats[0].name;
      if (!containerFormat(format)) throw new DiskwrightError('E_FORMAT', `unknown format ${format}: use ${formatNames.join(', ')}`, { path: '--format', value: format });
      const compression = flags.compression ?? 'none';
      if (compression !== 'none' && !compressionFormat(compression)) throw new DiskwrightError('E_COMPRESSION', `unknown compression ${compression}: use ${compressionNames.join(', ')}`, { path: '--compression', value: compression });
      const bar = progressBar(!flags.quiet && output !== '-');
      try {
        // The readers and decompressors load only when converting.
        const { convertImage } = await import('../container/convert.js');
        const r = await convertImage(input, output, {
          format, compression,
          ...(flags.inputFormat !== undefined ? { inputFormat: String(flags.inputFormat) } : {}),
          ...(flags.level !== undefined ? { compressionLevel: Number(flags.level) } : {}),
          ...(flags.clusterSize !== undefined ? { clusterSize: Number(flags.clusterSize) } : {}),
          ...(flags.seed !== undefined ? { seed: String(flags.seed) } : {}),
          ...(flags.epoch !== undefined ? { epoch: Number(flags.epoch) } : {}),
          onProgress: (done, total) => bar.update({ phase: 'write', done, total }),
          signal: interruptSignal,
        });
        bar.done();
        if (flags.sha256 && r.sha256) process.stdout.write(`${r.sha256}  ${output}\n`);
        if (!flags.quiet && output !== '-') process.stderr.write(`converted ${input} (${r.inputFormat}, ${r.size}-byte disk) to ${output} (${format}${compression !== 'none' ? ` + ${compression}` : ''}, ${r.bytes} bytes)\n`);
      } finally {
        bar.done();
      }
    });
}
