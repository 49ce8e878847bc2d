/**
 * Id references in text (issue 10 item 2): `${partuuid:NAME}`, `${fsuuid:NAME}` and
 * `${label:NAME}` name the ids of the partition called NAME, which the seed fixes before any byte is
 * written (docs/ARCHITECTURE.md §4), so `/etc/fstab`, `root=PARTUUID=…` and boot entries can say
 * them. `$${` is a literal `${`. Any other `${…}` (a shell variable) is left as it is.
 *
 * - partuuid: the GPT partition GUID (gpt, hybrid: Linux reads the GPT), or for an MBR
 *   `<disk signature>-<partition number>` in hex, as Linux's msdos parser forms PARTUUID
 *   (block/partitions/msdos.c: "%08x-%02x");
 * - fsuuid and label: what the filesystem's planner records, asked of its handler (`ids`), which
 *   derives them with the planner's own functions (never a second derivation).
 *
 * @example
 * const expand = idReferences(spec);
 * expand('root=PARTUUID=${partuuid:root}', 'bootloader.systemd-boot.entries[0].options');
 */
import { DiskwrightError, show } from '../errors.js';
import { filesystemHandler } from '../fs/registry.js';
import type { FsIds } from '../fs/types.js';
import type { ResolvedPartition, ResolvedSpec } from '../spec/types.js';
import type { ResolvedEntry } from '../tree/entries.js';

/** The kinds of reference, in the order the documentation lists them. */
export const REFERENCE_KINDS = ['partuuid', 'fsuuid', 'label'] as const;
export type ReferenceKind = (typeof REFERENCE_KINDS)[number];

/** `$${` (an escaped `${`), or a reference of one of the kinds. */
const PATTERN = /\$\$\{|\$\{(partuuid|fsuuid|label):([^}\n]*)\}/g;

/** What the references are resolved from: the spec's table, disk signature, seed and partitions. */
export type IdSource = Pick<ResolvedSpec, 'table' | 'mbrId' | 'seed' | 'partitions'>;

/** Expands the references of one text, or throws E_REF naming `path`. */
export type ExpandRefs = (text: string, path: string) => string;

/**
 * The expander of a resolved spec. Ids are computed when first named (a filesystem's handler may
 * refuse a bad label; only a named one is asked before planning).
 */
export function idReferences(src: IdSource): ExpandRefs {
  const ids = new Map<ResolvedPartition, FsIds>();
  const fsIds = (p: ResolvedPartition, path: string, ref: string): FsIds => {
    let got = ids.get(p);
    if (got) return got;
    const h = p.filesystem === 'image' || p.filesystem === 'none' ? undefined : filesystemHandler(p.filesystem);
    if (!h?.ids) throw new DiskwrightError('E_REF', `${ref}: partition ${show(p.name)} has filesystem ${p.filesystem}, whose ids diskwright does not know before writing it; write the id itself`, { path, value: ref });
    got = h.ids({ name: p.name, specPath: p.path, seed: src.seed, options: p.options, ...(p.label !== undefined ? { label: p.label } : {}), ...(p.fsUuid !== undefined ? { fsUuid: p.fsUuid } : {}) });
    ids.set(p, got);
    return got;
  };
  const resolve = (kind: ReferenceKind, name: string, path: string): string => {
    const ref = `\${${kind}:${name}}`;
    const index = src.partitions.findIndex((p) => p.name === name);
    const p = src.partitions[index];
    if (!p) {
      const names = src.partitions.map((q) => q.name);
      throw new DiskwrightError('E_REF', `unknown reference ${ref}: no partition is named ${show(name)}${names.length ? ` (partitions: ${names.join(', ')})` : ''}; write $\${ for a literal \${`, { path, value: ref });
    }
    switch (kind) {
      case 'partuuid':
        if (src.table === 'gpt' || src.table === 'hybrid') return p.uuid;
        if (src.table === 'mbr') return `${(src.mbrId >>> 0).toString(16).padStart(8, '0')}-${(index + 1).toString(16).padStart(2, '0')}`;
        throw new DiskwrightError('E_REF', `${ref}: a table: ${src.table} image has no partition table, so no PARTUUID`, { path, value: ref });
      case 'fsuuid': {
        const uuid = fsIds(p, path, ref).uuid;
        if (uuid === undefined) throw new DiskwrightError('E_REF', `${ref}: the ${p.filesystem} filesystem of partition ${show(name)} has no UUID`, { path, value: ref });
        return uuid;
      }
      case 'label': {
        const label = fsIds(p, path, ref).label;
        if (label === undefined) throw new DiskwrightError('E_REF', `${ref}: partition ${show(name)} has no filesystem label; give it label:`, { path, value: ref });
        return label;
      }
    }
  };
  return (text, path) => text.replace(PATTERN, (whole, kind: ReferenceKind | undefined, name: string | undefined) => (kind === undefined ? '${' : resolve(kind, name!, path)));
}

/**
 * Expand the references in the `text:` entries of a contents list and of the nested filesystems
 * in it, in place (the entries are validation's own objects). Errors name `<entry>.text`.
 */
export function expandEntryRefs(entries: readonly ResolvedEntry[], expand: ExpandRefs): void {
  for (const e of entries) {
    if (e.text !== undefined) e.text = expand(e.text, `${e.path}.text`);
    if (e.filesystem) expandEntryRefs(e.filesystem.contents, expand);
  }
}
