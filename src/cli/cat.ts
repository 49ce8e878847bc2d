import type { CAC } from 'cac';
import { interruptSignal } from './signals.js';

/**
 * `diskwright cat IMAGE [PART:]PATH`: a file's bytes from a filesystem inside an image of any
 * container, to standard output (symlinks followed inside the image; holes read as zeros without
 * touching the image).
 */
export function registerCat(cli: CAC): void {
  cli
    .command('cat <image> <path>', 'Print a file from an image\'s filesystem (ext2/3/4, FAT); PATH is [PART:]PATH')
    .example('diskwright cat disk.qcow2 /etc/os-release')
    .action(async (image: string, path: string) => {
      const [{ openTarget }, { DiskwrightError }, { pace }] = await Promise.all([import('./files.js'), import('../errors.js'), import('../container/sink.js')]);
      const t = await openTarget(image, path, true);
      try {
        if (t.node.kind !== 'file') throw new DiskwrightError('E_NOT_A_FILE', `${image}: ${t.path} is a ${t.node.kind === 'dir' ? 'directory' : t.node.kind}, not a file (diskwright ls shows a directory)`, { value: t.path });
        const CHUNK = 1 << 20;
        const zeros = new Uint8Array(CHUNK);
        let at = 0;
        for (const [s, e] of [...t.fs.dataRanges(t.node), [t.node.size, t.node.size] as [number, number]]) {
          // Holes are written as zeros without reading the image.
          while (at < s) {
            const n = Math.min(CHUNK, s - at);
            await write(zeros.subarray(0, n));
            at += n;
            await pace(interruptSignal);
          }
          while (at < e) {
            const n = Math.min(CHUNK, e - at);
            await write(t.fs.read(t.node, at, n));
            at += n;
            await pace(interruptSignal);
          }
        }
      } finally {
        t.src.close();
      }
    });
}

/** Write to stdout, waiting for it to drain (a pipe to a slow reader does not pile up output). */
function write(b: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(b, (e) => (e ? reject(e) : resolve()));
  });
}
