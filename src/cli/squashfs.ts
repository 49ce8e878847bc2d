/**
 * `diskwright squashfs DIR -o IMG`: a bare squashfs image (docs/ARCHITECTURE.md §3, quick forms),
 * with mksquashfs's defaults. Here `--compression` names the squashfs compressor (mksquashfs
 * -comp), not whole-file compression of the output; its choices and the defaults come from the
 * `squashfs:` option schema (src/fs/squashfs/options.ts). A read-only filesystem is always its
 * exact size: no --size.
 *
 * @example
 * registerSquashfs(cli); // diskwright squashfs ./rootfs -o root.sqfs --compression zstd --block-size 1MiB
 */
import type { CAC } from 'cac';
import { SquashfsOptions } from '../fs/squashfs/options.js';
import { choiceHelp, registerQuick } from './quick.js';

export function registerSquashfs(cli: CAC): void {
  registerQuick(cli, {
    command: 'squashfs', description: 'Make a squashfs image from a directory', filesystem: 'squashfs', part: 'root',
    sized: false,
    ownFlags: ['compression'],
    flags: [
      ['--compression <c>', `Compressor: ${choiceHelp(SquashfsOptions.entries.compression)}`],
      ['--block-size <size>', `Data block size, a power of two from 4KiB to 1MiB (default: ${String(SquashfsOptions.entries.blockSize.default)})`],
      ['--no-fragments', 'Do not pack small files into fragment blocks (mksquashfs -no-fragments)'],
    ],
    apply: (part, flags) => {
      const squashfs: Record<string, unknown> = {};
      if (flags.compression !== undefined) squashfs.compression = String(flags.compression);
      if (flags.blockSize !== undefined) squashfs.blockSize = /^\d+$/.test(String(flags.blockSize)) ? Number(flags.blockSize) : String(flags.blockSize);
      if (flags.fragments === false) squashfs.fragments = false;
      if (Object.keys(squashfs).length) part.squashfs = squashfs;
    },
    paths: [[/^partitions\[0\]\.squashfs\.compression$/, '--compression'], [/^partitions\[0\]\.squashfs\.blockSize$/, '--block-size']],
    example: 'diskwright squashfs ./rootfs -o root.sqfs --compression xz --block-size 1MiB',
  });
}
