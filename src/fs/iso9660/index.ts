/**
 * The ISO 9660 writer (issue 16): ECMA-119 with Rock Ridge (RRIP 1.12), Joliet, level 3
 * multi-extent files, directory relocation, zisofs, and the El Torito / isohybrid call sites
 * (eltorito.ts, hybrid.ts). `filesystem: iso9660` partitions, bare ISOs (`table: none`) and
 * `diskwright iso DIR`.
 *
 * @example
 * import { iso9660Handler } from './fs/iso9660/index.js';
 * const { volume, info } = await iso9660Handler.plan(tree, ctx); // info.label is the volume id
 */
import { defineFilesystem } from '../types.js';
import { Iso9660Options, resolveIso9660Options } from './options.js';
import { NAME, planIso } from './plan.js';

export { planIso, DEFAULT_LABEL } from './plan.js';
export { Iso9660Options, resolveIso9660Options, type Iso9660ResolvedOptions, type Iso9660OptionsInput } from './options.js';

/** ISO 9660 (`filesystem: iso9660`): its name, its `iso9660:` option block and its planner. */
export const iso9660Handler = defineFilesystem({
  name: NAME,
  aliases: [],
  optionsKey: 'iso9660',
  options: Iso9660Options,
  partitionType: 'linux',
  // Rock Ridge as written here has no xattrs (AAIP is not written); the ISO does not record its offset.
  xattrs: false,
  recordsOffset: false,
  resolveOptions: resolveIso9660Options,
  plan: planIso,
});
