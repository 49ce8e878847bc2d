import { DiskwrightError } from '../errors.js';
import { ext4Handler } from '../fs/ext4/index.js';
import { fatHandler } from '../fs/fat/index.js';
import { partedPosition } from '../table/parted.js';
import { defaultOf } from '../util/schema.js';
import { ImageSpecSchema } from './schema.js';
import type { ImageSpec, LayoutName, PartitionSpec } from './types.js';

/** A partition of an expanded preset: `parted` positions are accepted only from here. */
export type ExpandedPartition = PartitionSpec & { parted?: { start: string; end: string } };
/** A spec after `layout:` expansion: table and partitions instead of the preset keys. */
export type ExpandedSpec = Omit<ImageSpec, 'partitions' | 'layout' | 'bootSize' | 'additionalSpace' | 'root' | 'boot'> & { partitions?: ExpandedPartition[]; layout?: LayoutName };

/**
 * The fixed ids make-disk-image.nix stamps with sgdisk when `deterministic` is set. The disk GUID
 * there is written with 35 hex digits ("97FD5997-D90B-4AA3-8D16-C1723AEA73C"); sgdisk 1.0.9 reads
 * that string as the GUID below, which is what NixOS images actually carry.
 */
export const NIXOS_IDS = {
  disk: '97fd5997-f390-0b4a-a3f8-d106c1723aea',
  part1: '1c06f03b-704e-4657-b9cd-681a087a2fdc',
  part2: '970c694f-afd0-4b99-b750-cdb7a329ab6f',
  root: 'f222513b-ded1-49fa-b591-20ce86a2fe7f',
} as const;

/**
 * Expand `layout:` into the table and partitions make-disk-image.nix creates (same parted
 * positions, partition names, types and GUIDs). `root` and `boot` hold the filesystem parts of the
 * two partitions; `bootSize` (default 256M, parted units as in NixOS) ends the ESP;
 * `additionalSpace` is free space added to the root filesystem. The spec has passed the
 * structural check (parseImageSpec); what is checked here is how the keys combine.
 */
export function expandPreset(spec: ImageSpec & { layout: LayoutName }): ExpandedSpec {
  const layout = spec.layout;
  if (spec.partitions !== undefined) throw new DiskwrightError('E_PRESET', 'layout presets define the partitions; give root/boot instead of partitions', { path: 'partitions', value: '(list)' });
  if (spec.table !== undefined) throw new DiskwrightError('E_PRESET', `layout ${layout} defines the table; remove table`, { path: 'table', value: spec.table });
  const bootSize = String(spec.bootSize ?? defaultOf<string>(ImageSpecSchema.entries.bootSize));
  const root = spec.root ?? {};
  const boot = spec.boot ?? {};
  const hasEsp = layout === 'efi' || layout === 'hybrid';
  if (!hasEsp && spec.boot !== undefined) throw new DiskwrightError('E_PRESET', `layout ${layout} has no ESP; boot is only for efi and hybrid`, { path: 'boot', value: '(object)' });
  if (!hasEsp && spec.bootSize !== undefined) throw new DiskwrightError('E_PRESET', `layout ${layout} has no ESP; bootSize is only for efi and hybrid`, { path: 'bootSize', value: spec.bootSize });

  const rootPart: ExpandedPartition = {
    filesystem: ext4Handler.name,
    label: 'nixos',
    uuid: NIXOS_IDS.root,
    fsUuid: root.uuid ?? NIXOS_IDS.root,
    ...root,
    name: root.name ?? 'primary',
    extraSpace: root.extraSpace ?? spec.additionalSpace ?? 0,
  };
  // The UEFI spec wants FAT32 on fixed disks; FAT32 needs 65525 clusters, so small ESPs stay FAT16/12.
  const espBytes = (partedPosition(bootSize, 2 ** 40, 512, true, 'bootSize').v + 1) * 512 - 8 * 2 ** 20;
  const espFat = espBytes >= 64 * 2 ** 20 ? { fatSize: 32 as const, ...(boot.fat ?? {}) } : boot.fat;
  const esp: ExpandedPartition = {
    filesystem: fatHandler.name, label: 'ESP', type: 'esp', uuid: NIXOS_IDS.part1, ...boot, name: boot.name ?? 'ESP',
    ...(espFat ? { fat: espFat } : {}),
    parted: { start: '8MiB', end: bootSize },
  };
  const biosBoot = (uuid: string, start: string, end: string): ExpandedPartition => ({ name: 'no-fs', type: 'bios-boot', uuid, filesystem: 'none', parted: { start, end } });

  const { bootSize: _b, additionalSpace: _a, root: _r, boot: _o, partitions: _p, ...rest } = spec;
  const out: ExpandedSpec = { ...rest, diskUuid: spec.diskUuid ?? NIXOS_IDS.disk };
  switch (layout) {
    case 'legacy':
      out.table = 'mbr';
      delete out.diskUuid;
      { const { uuid: _u, ...noUuid } = rootPart; void _u; out.partitions = [{ type: '0x83', ...noUuid, parted: { start: '1MiB', end: '-1' } }]; }
      break;
    case 'legacy+gpt':
      out.table = 'gpt';
      out.partitions = [biosBoot(NIXOS_IDS.part1, '1MB', '2MB'), { type: 'linux', ...rootPart, uuid: root.uuid ?? NIXOS_IDS.part2, parted: { start: '2MB', end: '-1' } }];
      // make-disk-image also sets partition 3's GUID, which does not exist in this layout.
      break;
    case 'efi':
      out.table = 'gpt';
      out.partitions = [esp, { type: 'linux', ...rootPart, parted: { start: bootSize, end: '-1' } }];
      break;
    case 'hybrid':
      out.table = 'gpt';
      out.partitions = [esp, biosBoot(NIXOS_IDS.part2, '0', '1024KiB'), { type: 'linux', ...rootPart, parted: { start: bootSize, end: '-1' } }];
      break;
    case 'none':
      out.table = 'none';
      delete out.diskUuid;
      { const { uuid: _u, ...noUuid } = rootPart; void _u; out.partitions = [{ ...noUuid, name: root.name ?? 'nixos' }]; }
      break;
  }
  if (layout === 'legacy+gpt' && root.uuid === undefined) {
    // Root is partition 2 here: make-disk-image gives it the fixed part2 GUID; its fs UUID stays rootFSUID.
    out.partitions![1]!.uuid = NIXOS_IDS.part2;
  }
  return out;
}

/** Which user key each partition a layout expands to comes from (`bios`: the fixed BIOS boot partition). */
const ROLES: Readonly<Record<LayoutName, readonly ('root' | 'boot' | 'bios')[]>> = {
  legacy: ['root'], 'legacy+gpt': ['bios', 'root'], efi: ['boot', 'root'], hybrid: ['boot', 'bios', 'root'], none: ['root'],
};
const EXPANDED_PATH = /partitions\[(\d+)\]((?:\.[A-Za-z0-9_]+|\[\d+\])*)/g;

/**
 * The user's key for a path of the spec a layout expands to: `partitions[1].contents[0].source` is
 * `root.contents[0].source`, the ESP's size and place are `bootSize`, root's `extraSpace` is
 * `additionalSpace` when that is where it came from, the BIOS boot partition (which has no key) is
 * `layout`. Other paths are returned as they are. With `inText`, every such path in a message is
 * mapped, and a whole partition is named by its key (`root`, `boot`).
 *
 * @example
 * presetPath({ layout: 'efi', additionalSpace: '1x' }, 'partitions[1].extraSpace'); // 'additionalSpace'
 */
export function presetPath(spec: ImageSpec, path: string, opts: { inText?: boolean } = {}): string {
  const roles = typeof spec.layout === 'string' ? ROLES[spec.layout] : undefined;
  if (!roles) return path;
  return path.replace(EXPANDED_PATH, (whole, index: string, rest: string) => {
    const role = roles[Number(index)];
    if (role === undefined) return whole;
    if (role === 'bios') return 'layout';
    const given = ((role === 'root' ? spec.root : spec.boot) ?? {}) as Record<string, unknown>;
    const key = /^\.([A-Za-z0-9_]+)/.exec(rest)?.[1];
    switch (key) {
      // The partition as a whole: named as `boot`/`root` in a message; as the key that places it
      // for an error's own path (the ESP ends at bootSize, root fills the disk).
      case undefined: return opts.inText ? role : role === 'boot' ? 'bootSize' : spec.size !== undefined ? 'size' : role;
      case 'size': return role === 'boot' ? 'bootSize' : 'root.size';
      case 'parted': case 'offset': return spec.layout === 'efi' || spec.layout === 'hybrid' ? 'bootSize' : 'layout';
      case 'extraSpace': return given.extraSpace === undefined && spec.additionalSpace !== undefined ? 'additionalSpace' : `${role}${rest}`;
      case 'fsUuid': return given.fsUuid === undefined && given.uuid !== undefined ? `${role}.uuid` : `${role}${rest}`;
      case 'fat': {
        // An ESP of 64 MiB or more is FAT32 because of its bootSize, unless boot.fat.fatSize says otherwise.
        const fat = (given.fat ?? {}) as Record<string, unknown>;
        return rest.startsWith('.fat.fatSize') && fat.fatSize === undefined ? 'bootSize' : `${role}${rest}`;
      }
      default: return `${role}${rest}`;
    }
  });
}

/**
 * An error of a spec with `layout:`, its path (and any expanded path in its message) mapped back to
 * the user's keys with presetPath. Anything else is returned unchanged.
 */
export function presetError(input: unknown, e: unknown): unknown {
  if (!(e instanceof DiskwrightError) || typeof input !== 'object' || input === null || Array.isArray(input)) return e;
  const spec = input as ImageSpec;
  if (spec.layout === undefined || e.path === undefined || !/^partitions\[\d+\]/.test(e.path)) return e;
  const path = presetPath(spec, e.path);
  const body = e.message.startsWith(`${e.path}: `) ? e.message.slice(e.path.length + 2) : e.message;
  return new DiskwrightError(e.code, presetPath(spec, body, { inText: true }), { path, value: e.value, cause: e });
}
