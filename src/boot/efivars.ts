/**
 * An OVMF variable store with a boot option (issue 10; NixOS's `touchEFIVars`, which runs
 * efibootmgr in a VM): a copy of a template store (OVMF_VARS_4M.fd) with `Boot0000`, an
 * EFI_LOAD_OPTION for the installed loader, and `BootOrder` = [0000] appended, written beside the
 * image. The firmware then boots that entry by name, without the removable-media path.
 *
 * The store is a firmware volume (PI 1.8 Vol. 3 §3.2.1 EFI_FIRMWARE_VOLUME_HEADER) holding EDK2's
 * variable store (MdeModulePkg/Include/Guid/VariableFormat.h: VARIABLE_STORE_HEADER, then
 * variables, each a header with StartId 0x55AA, State VAR_ADDED, Attributes, sizes and vendor GUID,
 * then its UTF-16 name and its data, the next header 4-byte aligned; free space is 0xFF). The authenticated format
 * (gEfiAuthenticatedVariableGuid, OVMF's) and the plain one are both written. The load option
 * (UEFI 2.10 §3.1.3) holds a short-form device path: HD(partition number, GPT or MBR, signature,
 * start, size)/File(path)/End (§10.3.5.1, §10.3.5.4), which the boot manager matches to the disk.
 *
 * @example
 * const store = buildEfiVars(spec.bootloader.efiVars, spec, layout); // the template's bytes with Boot0000 and BootOrder
 */
import { DiskwrightError, show } from '../errors.js';
import type { ResolvedSpec } from '../spec/types.js';
import type { DiskLayout } from '../table/layout.js';
import { bytesToGuid, guidToBytes } from '../util/ids.js';
import { defineStruct } from '../util/struct.js';
import { readSmallFile } from './read.js';
import { espFor, hostFile, partitionNamed, type BootContext, type ResolvedEfiVars } from './resolve.js';
import type { EfiVarsSpec } from './schema.js';
import type { SystemdBootInstall } from './systemd-boot.js';

/** A store template is a flash image of a few MiB (OVMF_VARS_4M.fd: 528 KiB). */
const MAX_TEMPLATE = 64 << 20;

/** EFI_FIRMWARE_VOLUME_HEADER (PI 1.8 Vol. 3 §3.2.1), the fields read here. */
const FvHeader = defineStruct('EFI_FIRMWARE_VOLUME_HEADER', 0x38, [
  { name: 'FvLength', offset: 0x20, kind: 'u64le' },
  { name: 'Signature', offset: 0x28, kind: 'u32le' },
  { name: 'HeaderLength', offset: 0x30, kind: 'u16le' },
]);
const FVH = 0x4856465f; // "_FVH"
/** VARIABLE_STORE_HEADER (VariableFormat.h). */
const StoreHeader = defineStruct('VARIABLE_STORE_HEADER', 0x1c, [
  { name: 'Signature', offset: 0x0, kind: { bytes: 16 } },
  { name: 'Size', offset: 0x10, kind: 'u32le' },
  { name: 'Format', offset: 0x14, kind: 'u8' },
  { name: 'State', offset: 0x15, kind: 'u8' },
]);
const VARIABLE_STORE_FORMATTED = 0x5a;
const VARIABLE_STORE_HEALTHY = 0xfe;
/** AUTHENTICATED_VARIABLE_HEADER (VariableFormat.h, packed). */
const AuthVariable = defineStruct('AUTHENTICATED_VARIABLE_HEADER', 60, [
  { name: 'StartId', offset: 0x0, kind: 'u16le' },
  { name: 'State', offset: 0x2, kind: 'u8' },
  { name: 'Attributes', offset: 0x4, kind: 'u32le' },
  { name: 'NameSize', offset: 0x24, kind: 'u32le' },
  { name: 'DataSize', offset: 0x28, kind: 'u32le' },
  { name: 'VendorGuid', offset: 0x2c, kind: { bytes: 16 } },
]);
/** VARIABLE_HEADER (VariableFormat.h, packed): the same without MonotonicCount, TimeStamp, PubKeyIndex. */
const PlainVariable = defineStruct('VARIABLE_HEADER', 32, [
  { name: 'StartId', offset: 0x0, kind: 'u16le' },
  { name: 'State', offset: 0x2, kind: 'u8' },
  { name: 'Attributes', offset: 0x4, kind: 'u32le' },
  { name: 'NameSize', offset: 0x8, kind: 'u32le' },
  { name: 'DataSize', offset: 0xc, kind: 'u32le' },
  { name: 'VendorGuid', offset: 0x10, kind: { bytes: 16 } },
]);
const VARIABLE_DATA = 0x55aa;
const VAR_ADDED = 0x3f;
/** VAR_ADDED & VAR_DELETED: how the variable driver marks a variable it replaced. */
const VAR_DELETED_STATE = 0x3d;
const AUTHENTICATED_STORE = 'aaf32c78-947b-439a-a180-2e144ec37792';
const PLAIN_STORE = 'ddcf3616-3275-4164-98b6-fe85707ffe7d';
/** EFI_GLOBAL_VARIABLE (UEFI 2.10 §3.3). */
const EFI_GLOBAL_VARIABLE = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
/** EFI_VARIABLE_NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS. */
const NV_BS_RT = 0x7;
const LOAD_OPTION_ACTIVE = 0x1;

/** The Hard Drive media device path node (UEFI 2.10 §10.3.5.1): type 4, subtype 1, 42 bytes. */
const HardDriveNode = defineStruct('HARDDRIVE_DEVICE_PATH', 42, [
  { name: 'Type', offset: 0x0, kind: 'u8' },
  { name: 'SubType', offset: 0x1, kind: 'u8' },
  { name: 'Length', offset: 0x2, kind: 'u16le' },
  { name: 'PartitionNumber', offset: 0x4, kind: 'u32le' },
  { name: 'PartitionStart', offset: 0x8, kind: 'u64le' },
  { name: 'PartitionSize', offset: 0x10, kind: 'u64le' },
  { name: 'Signature', offset: 0x18, kind: { bytes: 16 } },
  { name: 'MBRType', offset: 0x28, kind: 'u8' },
  { name: 'SignatureType', offset: 0x29, kind: 'u8' },
]);
const NodeHeader = defineStruct('EFI_DEVICE_PATH_PROTOCOL', 4, [
  { name: 'Type', offset: 0x0, kind: 'u8' },
  { name: 'SubType', offset: 0x1, kind: 'u8' },
  { name: 'Length', offset: 0x2, kind: 'u16le' },
]);
const MEDIA_DEVICE_PATH = 0x04;
const MEDIA_HARDDRIVE_DP = 0x01;
const MEDIA_FILEPATH_DP = 0x04;
const END_DEVICE_PATH = 0x7f;
const END_ENTIRE_DEVICE_PATH = 0xff;

const utf16z = (s: string): Uint8Array => Buffer.from(`${s}\0`, 'utf16le');
const align4 = (n: number): number => (n + 3) & ~3;

/** Resolve `bootloader.efiVars`: the template, the ESP and the loader's path on it. */
export function resolveEfiVars(v: EfiVarsSpec, ctx: BootContext, sd: SystemdBootInstall | undefined, path = 'bootloader.efiVars'): ResolvedEfiVars {
  if (ctx.table === 'none') throw new DiskwrightError('E_BOOT_TABLE', 'an EFI boot option names a partition; a table: none image has none', { path, value: ctx.table });
  const template = hostFile(ctx, v.template, `${path}.template`, 'variable store template');
  const part = v.partition !== undefined ? partitionNamed(ctx, v.partition, `${path}.partition`)
    : sd !== undefined ? ctx.partitions[sd.esp]! : espFor(ctx, undefined, path, 'an EFI boot option');
  const loader = (v.loader ?? sd?.loader ?? '\\EFI\\BOOT\\BOOTX64.EFI').replace(/\//g, '\\');
  if (!loader.startsWith('\\') || loader.includes('\0')) throw new DiskwrightError('E_BOOT_CONFIG', `loader ${show(v.loader)} must be an absolute path on the ESP, such as \\EFI\\systemd\\systemd-bootx64.efi`, { path: `${path}.loader`, value: v.loader });
  if (v.output !== undefined && (/[/\\\0]/.test(v.output) || v.output === '.' || v.output === '..')) {
    throw new DiskwrightError('E_NAME', `output ${show(v.output)} must be a file name (it is written beside the image)`, { path: `${path}.output`, value: v.output });
  }
  const out: ResolvedEfiVars = { path, template, partition: part.index, loader, description: v.description ?? 'Linux Boot Manager' };
  if (v.output !== undefined) out.output = v.output;
  return out;
}

/** The load option's device path: HD(...)/File(loader)/End. */
function devicePath(v: ResolvedEfiVars, spec: Pick<ResolvedSpec, 'table' | 'sectorSize' | 'mbrId' | 'partitions'>, layout: DiskLayout): Uint8Array {
  const number = layout.placements.findIndex((q) => q.part.index === v.partition);
  const q = layout.placements[number]!;
  const hd = new Uint8Array(HardDriveNode.size);
  const gpt = spec.table !== 'mbr';
  const signature = new Uint8Array(16);
  if (gpt) signature.set(guidToBytes(q.part.uuid));
  else new DataView(signature.buffer).setUint32(0, spec.mbrId >>> 0, true);
  HardDriveNode.encode({
    Type: MEDIA_DEVICE_PATH, SubType: MEDIA_HARDDRIVE_DP, Length: HardDriveNode.size, PartitionNumber: number + 1,
    PartitionStart: q.offset / spec.sectorSize, PartitionSize: q.size / spec.sectorSize, Signature: signature,
    // MBRType 1 = PC-AT MBR, 2 = GPT; SignatureType 1 = 32-bit MBR signature, 2 = GUID.
    MBRType: gpt ? 2 : 1, SignatureType: gpt ? 2 : 1,
  }, hd);
  const name = utf16z(v.loader);
  const file = new Uint8Array(NodeHeader.size + name.length);
  NodeHeader.encode({ Type: MEDIA_DEVICE_PATH, SubType: MEDIA_FILEPATH_DP, Length: file.length }, file);
  file.set(name, NodeHeader.size);
  const end = new Uint8Array(NodeHeader.size);
  NodeHeader.encode({ Type: END_DEVICE_PATH, SubType: END_ENTIRE_DEVICE_PATH, Length: NodeHeader.size }, end);
  return Buffer.concat([hd, file, end]);
}

/**
 * EFI_LOAD_OPTION (UEFI 2.10 §3.1.3): Attributes (LOAD_OPTION_ACTIVE), FilePathListLength,
 * Description (UTF-16, NUL-terminated), FilePathList; no optional data.
 *
 * @example
 * const boot0000 = loadOption('Linux Boot Manager', devicePathBytes);
 */
export function loadOption(description: string, path: Uint8Array): Uint8Array {
  const head = new Uint8Array(6);
  const dv = new DataView(head.buffer);
  dv.setUint32(0, LOAD_OPTION_ACTIVE, true);
  dv.setUint16(4, path.length, true);
  return Buffer.concat([head, utf16z(description), path]);
}

/**
 * The template's bytes with `Boot0000` and `BootOrder` appended to its variable store (older
 * variables of those names marked deleted, as the variable driver does). The template's firmware
 * volume and store headers are checked before anything is read from them.
 */
export function buildEfiVars(v: ResolvedEfiVars, spec: Pick<ResolvedSpec, 'table' | 'sectorSize' | 'mbrId' | 'partitions'>, layout: DiskLayout): Uint8Array {
  const fd = readSmallFile(v.template, MAX_TEMPLATE, `${v.path}.template`).slice();
  const bad = (why: string): DiskwrightError => new DiskwrightError('E_EFIVARS_TEMPLATE', `${v.template} is not an OVMF variable store: ${why}`, { path: `${v.path}.template`, value: v.template });
  if (fd.length < FvHeader.size || FvHeader.decodeField(fd, 'Signature') !== FVH) throw bad('no firmware volume header (_FVH)');
  const storeAt = FvHeader.decodeField(fd, 'HeaderLength') as number;
  if (storeAt + StoreHeader.size > fd.length) throw bad('its header length points past the file');
  const store = StoreHeader.decode(fd, storeAt);
  const kind = bytesToGuid(store.Signature as Uint8Array);
  const Header = kind === AUTHENTICATED_STORE ? AuthVariable : kind === PLAIN_STORE ? PlainVariable : undefined;
  if (!Header) throw bad(`its variable store signature ${kind} is neither EDK2 format`);
  if (store.Format !== VARIABLE_STORE_FORMATTED || store.State !== VARIABLE_STORE_HEALTHY) throw bad('its variable store is not formatted and healthy');
  const end = storeAt + (store.Size as number);
  if (end > fd.length) throw bad('its variable store is larger than the file');

  // Walk the variables to the free space, marking older Boot0000/BootOrder of the global vendor deleted.
  const replaced = new Set(['Boot0000', 'BootOrder']);
  let at = align4(storeAt + StoreHeader.size);
  while (at + Header.size <= end && Header.decodeField(fd, 'StartId', at) === VARIABLE_DATA) {
    const h = Header.decode(fd, at) as Record<string, number | Uint8Array>;
    const nameSize = h.NameSize as number, dataSize = h.DataSize as number;
    const next = align4(at + Header.size + nameSize + dataSize);
    if (nameSize > end || dataSize > end || next > end) throw bad(`the variable at byte ${at} runs past the store`);
    const name = Buffer.from(fd.subarray(at + Header.size, at + Header.size + nameSize)).toString('utf16le').replace(/\0+$/, '');
    if (h.State === VAR_ADDED && replaced.has(name) && bytesToGuid(h.VendorGuid as Uint8Array) === EFI_GLOBAL_VARIABLE) fd[at + Header.offsetOf('State')] = VAR_DELETED_STATE;
    at = next;
  }
  const vars = [
    variable(Header, 'Boot0000', loadOption(v.description, devicePath(v, spec, layout))),
    variable(Header, 'BootOrder', Uint8Array.of(0x00, 0x00)),
  ];
  const need = vars.reduce((n, x) => n + x.length, 0);
  if (at + need > end) throw bad(`its variable store has ${Math.max(0, end - at)} free bytes, and the boot option needs ${need}`);
  for (const x of vars) { fd.set(x, at); at += x.length; }
  return fd;
}

/**
 * One variable record: header, UTF-16 name, data, the whole padded to 4 bytes (HEADER_ALIGN); name
 * and data are not padded (VariableFormat.h: ALIGNMENT is 1 but on Itanium, so GET_PAD_SIZE is 0).
 */
function variable(Header: typeof AuthVariable | typeof PlainVariable, name: string, data: Uint8Array): Uint8Array {
  const n = utf16z(name);
  const nameAt = Header.size;
  const dataAt = nameAt + n.length;
  const out = new Uint8Array(align4(dataAt + data.length)).fill(0xff);
  out.fill(0, 0, Header.size);
  Header.encode({ StartId: VARIABLE_DATA, State: VAR_ADDED, Attributes: NV_BS_RT, NameSize: n.length, DataSize: data.length, VendorGuid: guidToBytes(EFI_GLOBAL_VARIABLE) }, out);
  // The one reserved byte after State is 0, as the driver writes it.
  out.set(n, nameAt);
  out.set(data, dataAt);
  return out;
}
