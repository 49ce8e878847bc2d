import type { CAC } from 'cac';

interface LsFlags { l?: boolean; long?: boolean; json?: boolean; recursive?: boolean }

/**
 * `diskwright ls IMAGE [PART:]PATH [-l] [-R] [--json]`: list a directory (or show a file) of a
 * filesystem inside an image of any container. The declaration only; src/inspect/listing.ts runs.
 */
export function registerLs(cli: CAC): void {
  cli
    .command('ls <image> [path]', 'List a directory in an image\'s filesystem (ext2/3/4, FAT); PATH is [PART:]PATH, PART a partition number, name or label')
    .option('-l, --long', 'Mode, links, owner, size, time (and link targets, devices)')
    .option('-R, --recursive', 'Everything under PATH')
    .option('--json', 'Machine-readable output')
    .example('diskwright ls disk.qcow2 2:/etc -l')
    .action(async (image: string, path: string | undefined, flags: LsFlags) => {
      const [{ openTarget }, { listing }] = await Promise.all([import('./files.js'), import('../inspect/listing.js')]);
      const t = await openTarget(image, path ?? '/', false);
      try {
        const out = listing(t.fs, t.node, t.name, { long: flags.long === true || flags.l === true, recursive: flags.recursive === true, json: flags.json === true, image });
        for (const chunk of out) process.stdout.write(chunk);
      } finally {
        t.src.close();
      }
    });
}
