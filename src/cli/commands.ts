import type { CAC } from 'cac';
import { registerBuild } from './build.js';
import { registerCat } from './cat.js';
import { registerConvert } from './convert.js';
import { registerExt4 } from './ext4.js';
import { registerExtract } from './extract.js';
import { registerFat } from './fat.js';
import { registerInspect } from './inspect.js';
import { registerIso } from './iso.js';
import { registerLs } from './ls.js';
import { registerSchema } from './schema.js';
import { registerSquashfs } from './squashfs.js';

/**
 * Every command, one call each (build, the quick forms, inspect, convert, schema), so main.ts
 * stays thin. A module here holds declarations only: its action imports what it runs, since the
 * declarations load on every start but `--version` (docs/ARCHITECTURE.md §6, start-up).
 */
export function registerCommands(cli: CAC): void {
  registerBuild(cli);
  registerExt4(cli);
  registerFat(cli);
  registerSquashfs(cli);
  registerIso(cli);
  registerInspect(cli);
  registerLs(cli);
  registerCat(cli);
  registerExtract(cli);
  registerConvert(cli);
  registerSchema(cli);
}
