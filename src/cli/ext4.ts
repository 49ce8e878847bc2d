/**
 * `diskwright ext4 DIR -o IMG`: a bare ext4 filesystem image (docs/ARCHITECTURE.md §3, quick forms).
 * Its flags' choices and defaults come from the `ext4:` option schema (src/fs/ext4/options.ts).
 *
 * @example
 * registerExt4(cli); // diskwright ext4 ./rootfs -o root.img --block-size 1024
 */
import type { CAC } from 'cac';
import { Ext4Options } from '../fs/ext4/options.js';
import { choiceHelp, registerQuick } from './quick.js';

export function registerExt4(cli: CAC): void {
  registerQuick(cli, {
    command: 'ext4', description: 'Make a bare ext4 filesystem image from a directory', filesystem: 'ext4', part: 'root',
    flags: [['--block-size <n>', choiceHelp(Ext4Options.entries.blockSize)], ['--no-journal', 'No jbd2 journal'], ['--no-xattrs', 'Do not copy the host files\' extended attributes']],
    apply: (part, flags) => {
      const ext4: Record<string, unknown> = {};
      if (flags.blockSize !== undefined) ext4.blockSize = Number(flags.blockSize);
      if (flags.journal === false) ext4.journal = false;
      if (Object.keys(ext4).length) part.ext4 = ext4;
    },
    paths: [[/^partitions\[0\]\.ext4\.blockSize$/, '--block-size']],
    example: 'diskwright ext4 ./rootfs -o root.img --label nixos --extra-space 16MiB',
  });
}
