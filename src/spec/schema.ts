/**
 * The spec, declared once (docs/ARCHITECTURE.md §3): Valibot schemas that give the TypeScript
 * types (`src/spec/types.ts`), the structural check (`parseImageSpec`) and the published JSON
 * Schema (`schema/diskwright.schema.json`, `diskwright schema`). Every list of names comes from a
 * registry: formats and compressions from `src/container/registry.ts`, filesystems and their option
 * blocks from `src/fs/registry.ts`, tables from `src/table/schemes.ts`, flags and type aliases from
 * `src/table/types.ts`. What a schema cannot say (sizes to bytes, UUIDs, overlaps, cross-field
 * rules) is checked after it, in `validate.ts`.
 *
 * @example
 * const spec = parseImageSpec(JSON.parse(text)); // ImageSpec, or a DiskwrightError naming the path
 */
import * as v from 'valibot';
import { BootloaderSchema } from '../boot/schema.js';
import { compressionNames, containerFormats, formatNames, formatOptionProperties } from '../container/registry.js';
import { show } from '../errors.js';
import { filesystems, unavailableFilesystems } from '../fs/registry.js';
import { tableSchemes } from '../table/schemes.js';
import { PARTITION_FLAGS, PARTITION_TYPES } from '../table/types.js';
import { Bool, Closed, coded, described, Int, List, MODE_PATTERN, OneOf, Size, SizeOr, Text } from '../util/schema.js';
import { validator } from '../util/validator.js';

/** Filesystem names that are no handler: a prebuilt filesystem file, or no filesystem at all. */
export const PSEUDO_FILESYSTEMS = ['image', 'none'] as const;
export const LAYOUTS = ['legacy', 'legacy+gpt', 'efi', 'hybrid', 'none'] as const;

type Handlers = (typeof filesystems)[number];
/** Every name `filesystem:` accepts: the handlers' names and aliases, the reserved names, image and none. */
export const filesystemNames = [
  ...filesystems.map((h) => h.name), ...filesystems.flatMap((h): readonly string[] => h.aliases), ...unavailableFilesystems, ...PSEUDO_FILESYSTEMS,
] as readonly (Handlers['name'] | Handlers['aliases'][number] | (typeof unavailableFilesystems)[number] | (typeof PSEUDO_FILESYSTEMS)[number])[];
export const tableNames = tableSchemes.map((s) => s.name);
/** The GPT entry array's count: default and range, as the GPT scheme declares them. */
const entryArray = tableSchemes.find((s) => s.entryArray)!.entryArray!;

const ownerMessage = coded('E_OWNER', (x) => `must be a name or a numeric id, got ${show(x)}`);
const Id = described(v.union([
  v.pipe(v.string(ownerMessage), v.minLength(1, ownerMessage)),
  v.pipe(v.number(ownerMessage), v.integer(ownerMessage), v.minValue(0, ownerMessage), v.maxValue(0xffffffff, ownerMessage)),
], ownerMessage), 'A name (looked up in the image\'s own /etc/passwd or /etc/group) or a numeric id.');
const modeMessage = coded('E_MODE', (x) => `mode ${show(x)} must be an octal string such as "0644"${typeof x === 'number' ? ' (YAML reads 0644 as the decimal number 644)' : ''}`);
const xattrsMessage = coded('E_TYPE', (x) => `expected false or an object of xattr names and string values, got ${show(x)}`);

/** The option block of each filesystem (`ext4:`, `fat:`), keyed as its handler says. */
type OptionBlocks = { [H in Handlers as H['optionsKey']]: v.OptionalSchema<H['options'], undefined> };
const optionBlocks = Object.fromEntries(filesystems.map((h) => [h.optionsKey, v.optional(h.options)])) as OptionBlocks;

/** Names a nested filesystem's `type:` takes: the filesystem writers (no `image`, no `none`). */
const nestedTypeNames = [...filesystems.map((h) => h.name), ...filesystems.flatMap((h): readonly string[] => h.aliases)] as readonly (Handlers['name'] | Handlers['aliases'][number])[];

/** A nested filesystem's contents list (lazy: an entry holds a filesystem that holds entries). */
export const NestedContentsSchema = v.lazy((): v.GenericSchema<unknown[]> => ContentListSchema);

/**
 * A filesystem built by the same run and stored as a file of its parent (`{ target, filesystem }`):
 * an ESP image inside an ISO, a squashfs inside an ISO or a partition. Its `contents` are entries
 * like the partition's own (recursive: the TypeScript type is refined in types.ts).
 */
export const NestedFilesystemSchema = Closed({
  type: OneOf(nestedTypeNames, 'The filesystem to build.'),
  label: v.optional(Text()),
  fsUuid: v.optional(Text({ nonEmpty: true, text: 'Filesystem UUID (ext4) or volume id XXXX-XXXX (vfat).' })),
  size: v.optional(SizeOr(['auto'], 'Bytes or 2MiB; auto (the default): the exact size its contents need.')),
  extraSpace: v.optional(Size('Free space added to an auto size.')),
  contents: v.optional(NestedContentsSchema),
  ...optionBlocks,
}, 'A filesystem image built from its own contents and stored as this file.');

export const ContentEntrySchema = Closed({
  target: v.optional(Text({ nonEmpty: true, text: 'Absolute path in the filesystem.' })),
  source: v.optional(Text({ nonEmpty: true, text: 'Host file or directory to copy (relative to the spec file).' })),
  text: v.optional(Text({ allowNul: true, text: 'Inline file content.' })),
  directory: v.optional(Bool('Create a directory.')),
  symlink: v.optional(Text({ nonEmpty: true, text: 'Create a symlink with this target.' })),
  device: v.optional(OneOf(['char', 'block', 'fifo', 'socket'], 'Create a device node, FIFO or socket.')),
  major: v.optional(Int(0, 4095)),
  minor: v.optional(Int(0, 1048575)),
  tar: v.optional(Text({ nonEmpty: true, text: 'Tar archive to unpack (plain, gzip, zstd, xz, bzip2).' })),
  closureInfo: v.optional(Text({ nonEmpty: true, text: 'Nix closureInfo directory: its store paths and registration.' })),
  mode: v.optional(described(v.pipe(v.string(modeMessage), v.regex(MODE_PATTERN, modeMessage)), 'Octal mode string, e.g. "0644" (quoted: YAML reads 0644 as 644).')),
  user: v.optional(Id),
  group: v.optional(Id),
  recursiveOwner: v.optional(Bool('Apply user/group to every node the entry copies.')),
  owners: v.optional(OneOf(['root', 'host'], 'Owners of copied host files: root (0:0, the default) or the host\'s numeric ids.')),
  xattrs: v.optional(described(v.union([v.boolean(xattrsMessage), v.record(v.string(xattrsMessage), v.string(xattrsMessage), xattrsMessage)], xattrsMessage), 'An object of xattrs to set, or false to skip copying host xattrs.')),
  mtime: v.optional(Int(-(2 ** 34), 2 ** 34, 'Modification time, seconds since the epoch.')),
  replace: v.optional(Bool('Allow replacing a node an earlier entry created.')),
  attributes: v.optional(List(OneOf(['readonly', 'hidden', 'system']), 'FAT attributes.')),
  filesystem: v.optional(NestedFilesystemSchema),
}, 'One entry of a filesystem\'s contents: exactly one of source, text, directory, symlink, device, tar, closureInfo, filesystem.');

/** A filesystem's contents list. */
export const ContentListSchema = List(ContentEntrySchema);

const typeMessage = coded('E_PART_TYPE', (x) => `unknown partition type ${show(x)}: use an alias, a GPT type GUID or an MBR byte like 0x83`);

/** The keys a partition shares with the `root:`/`boot:` blocks of a layout preset. */
const partitionCommon = {
  // Its length limit is the table's (a GPT stores 36 UTF-16 code units, an MBR none): checked with the scheme.
  name: v.optional(Text({ nonEmpty: true, text: 'Partition name (GPT name; default part1, part2, …); ids derive from it.' })),
  type: v.optional(v.pipe(
    v.union([v.pipe(v.string(typeMessage), v.minLength(1, typeMessage)), v.pipe(v.number(typeMessage), v.integer(typeMessage), v.minValue(1, typeMessage), v.maxValue(255, typeMessage))], typeMessage),
    v.description('Type alias, GPT type GUID or MBR type byte ("0x83").'), v.examples(Object.keys(PARTITION_TYPES)),
  )),
  flags: v.optional(List(OneOf(PARTITION_FLAGS))),
  uuid: v.optional(Text({ text: 'GPT unique partition GUID; default: derived from the seed.' })),
  filesystem: v.optional(OneOf(filesystemNames, 'Filesystem to create; default: image when image is given, else none.')),
  label: v.optional(Text()),
  fsUuid: v.optional(Text({ nonEmpty: true, text: 'Filesystem UUID (ext4) or volume id XXXX-XXXX (vfat).' })),
  extraSpace: v.optional(Size('Free space added to an auto size.')),
  contents: v.optional(ContentListSchema),
  image: v.optional(Text({ nonEmpty: true, text: 'Prebuilt filesystem file (filesystem: image).' })),
  ...optionBlocks,
};

export const PartitionSchema = Closed({
  ...partitionCommon,
  size: v.optional(SizeOr(['auto', 'fill'], 'Bytes or 256MiB; auto (the filesystem\'s exact size); fill (to the end of the disk).')),
  offset: v.optional(Size('Byte offset; default: the next alignment boundary.')),
});

export const PresetPartitionSchema = Closed(partitionCommon, 'The filesystem part of a layout preset\'s partition.');

export const RawBlobSchema = Closed({
  source: Text({ nonEmpty: true, text: 'File written at offset (a bootloader).' }),
  offset: Size(),
  inPartition: v.optional(Bool('Allow the blob inside a partition\'s space.')),
});

const mbrIdMessage = coded('E_MBR_ID', (x) => `mbrId ${show(x)} must be a 32-bit number or hex such as 0x1234abcd`);
const bootSizeMessage = coded('E_SIZE', (x) => `bad position ${show(x)} (parted units: 512MiB, 256M, 1GiB ...)`);

export const ImageSpecSchema = Closed({
  $schema: v.optional(Text({ text: 'The JSON Schema this spec follows (for editors; ignored).' })),
  name: v.optional(Text({ nonEmpty: true, text: 'Default output name and id seed.' })),
  seed: v.optional(Text({ nonEmpty: true, text: 'Seed every id derives from (default: name).' })),
  sourceDateEpoch: v.optional(Int(0, 2 ** 40, 'Clamp every time to this (default $SOURCE_DATE_EPOCH).')),
  format: v.optional(OneOf(formatNames, 'Container format.'), containerFormats[0].name),
  compression: v.optional(OneOf(compressionNames, 'Whole-file compression.'), compressionNames[0]),
  compressionLevel: v.optional(Int(-(2 ** 31), 2 ** 31, 'Compression level, within the compressor\'s range; default: the compressor\'s.')),
  ...formatOptionProperties,
  size: v.optional(SizeOr(['auto'], 'Disk size: auto or bytes/8GiB.'), 'auto'),
  table: v.optional(OneOf(tableNames, 'Partition table.'), tableNames[0]),
  sectorSize: v.optional(OneOf([512, 4096], 'Logical sector size.'), 512),
  alignment: v.optional(Size('Partition alignment; default: the table\'s (1 MiB).')),
  diskUuid: v.optional(Text({ text: 'GPT disk GUID; default: derived from the seed.' })),
  mbrId: v.optional(described(v.union([
    v.pipe(v.number(mbrIdMessage), v.integer(mbrIdMessage), v.minValue(0, mbrIdMessage), v.maxValue(0xffffffff, mbrIdMessage)),
    v.pipe(v.string(mbrIdMessage), v.regex(/^(0x)?[0-9a-fA-F]{1,8}$/, mbrIdMessage)),
  ], mbrIdMessage), 'MBR disk signature: a number or hex "0x1234abcd"; default: derived from the seed.')),
  gptLocation: v.optional(Size('Where the primary GPT entry array starts.')),
  gptEntries: v.optional(Int(entryArray.min, entryArray.max, 'Entries in the GPT entry array.'), entryArray.default),
  partitions: v.optional(List(PartitionSchema)),
  raw: v.optional(List(RawBlobSchema, 'Raw blobs at fixed offsets.')),
  baseDir: v.optional(Text({ text: 'Directory relative paths resolve against (default: the spec file\'s).' })),
  layout: v.optional(OneOf(LAYOUTS, 'NixOS make-disk-image preset: sets table and partitions.')),
  bootSize: v.optional(described(v.union([
    v.pipe(v.string(bootSizeMessage), v.minLength(1, bootSizeMessage)), v.pipe(v.number(bootSizeMessage), v.integer(bootSizeMessage), v.minValue(0, bootSizeMessage)),
  ], bootSizeMessage), 'Preset: where the ESP ends, in parted units.'), '256M'),
  additionalSpace: v.optional(Size('Preset: free space added to the root filesystem.')),
  root: v.optional(PresetPartitionSchema),
  boot: v.optional(PresetPartitionSchema),
  bootloader: v.optional(BootloaderSchema),
}, 'A disk image: partition table, filesystems and their contents, container format, compression.');

export type ImageSpecInput = v.InferInput<typeof ImageSpecSchema>;

const check = validator(ImageSpecSchema);

/**
 * The structural check of an untrusted spec (parsed YAML or JSON): unknown keys, types, enums and
 * limits, each failure a DiskwrightError with its code and spec path. Returns the spec as given
 * (defaults are filled later, by resolveSpec), typed.
 *
 * @example
 * const spec = parseImageSpec(YAML.parse(text));
 */
export function parseImageSpec(value: unknown): ImageSpecInput {
  check(value);
  return value as ImageSpecInput;
}
