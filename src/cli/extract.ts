import type { CAC } from 'cac';
import { interruptSignal } from './signals.js';

interface ExtractFlags { output?: string; quiet?: boolean }

/**
 * `diskwright extract IMAGE [PART:]PATH -o DIR|OUT.tar`: a file or a directory tree out of a
 * filesystem inside an image of any container. A directory gets modes, times, links, devices and
 * xattrs, and owners when run as root; a tar (OUT.tar, or `-o -` for standard output) keeps all of
 * them without root. The output appears complete or not at all.
 */
export function registerExtract(cli: CAC): void {
  cli
    .command('extract <image> <path>', 'Copy a file or directory out of an image\'s filesystem (ext2/3/4, FAT) into a new directory or a .tar; PATH is [PART:]PATH')
    .option('-o, --output <dir|file.tar>', 'A directory that does not exist (or is empty), or a file ending in .tar ("-": a tar on standard output)')
    .option('-q, --quiet', 'No summary')
    .example('diskwright extract disk.qcow2 2:/etc -o etc')
    .example('diskwright extract disk.img / -o rootfs.tar')
    .action(async (image: string, path: string, flags: ExtractFlags) => {
      const { runExtract } = await import('./extract-run.js');
      await runExtract(image, path, flags.output, flags.quiet === true, interruptSignal);
    });
}
