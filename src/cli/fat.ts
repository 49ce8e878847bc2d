/**
 * `diskwright fat DIR -o IMG`: a bare FAT12/16/32 filesystem image (docs/ARCHITECTURE.md §3, quick
 * forms). Its flags' choices come from the `fat:` option schema (src/fs/fat/options.ts).
 *
 * @example
 * registerFat(cli); // diskwright fat ./esp -o esp.img --fat 32
 */
import type { CAC } from 'cac';
import { FatOptions } from '../fs/fat/options.js';
import { choiceHelp, registerQuick } from './quick.js';

export function registerFat(cli: CAC): void {
  registerQuick(cli, {
    command: 'fat', description: 'Make a bare FAT12/16/32 filesystem image from a directory', filesystem: 'fat', part: 'esp',
    flags: [['--fat <bits>', choiceHelp(FatOptions.entries.fatSize, 'by size, as mkfs.fat')]],
    apply: (part, flags) => { if (flags.fat !== undefined) part.fat = { fatSize: Number(flags.fat) }; },
    paths: [[/^partitions\[0\]\.fat\.fatSize$/, '--fat']],
    example: 'diskwright fat ./esp -o esp.img --label ESP',
  });
}
