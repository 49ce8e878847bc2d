/**
 * core.img assembled as `grub-mkimage -O i386-pc -p PREFIX [-c CONFIG] MODULES…` does it (GRUB
 * 2.06 util/mkimage.c `grub_install_generate_image`, util/grub-mkimagexx.c `load_image`,
 * util/resolve.c), so that grub-mkimage is never run:
 *
 * 1. kernel.img is an ELF32 linked at 0x9000 (GRUB_KERNEL_I386_PC_LINK_ADDR): its allocated
 *    PROGBITS sections, text then data, are laid out at `sh_addr - 0x9000`; `kernel_size` is where
 *    the last ends (BSS is not stored);
 * 2. after it the modules area: `struct grub_module_info32` ("gmim", offset 12, size), then each
 *    module (`moddep.lst` dependencies first, depth first, as `add_module` orders them), the early
 *    config and the prefix, each behind a `struct grub_module_header` (type, size) and padded to 4
 *    bytes (ALIGN_ADDR); config and prefix end in a NUL;
 * 3. all of that LZMA-compressed (lc=3, lp=0, pb=2, 64 KiB dictionary, src/boot/lzma.ts) behind
 *    lzma_decompress.img, whose bytes 0x08 and 0x0c get the compressed and uncompressed sizes
 *    (GRUB_DECOMPRESSOR_I386_PC_COMPRESSED_SIZE, _UNCOMPRESSED_SIZE);
 * 4. diskboot.img in front, its blocklist length (0x1fc) set to the sectors that follow.
 *
 * The limits grub-mkimage checks are checked (core image below 0x78000, kernel and BSS below
 * 0x68000, decompressor below 0x9000 - 0x8200). Every count and offset of kernel.img is checked
 * against the file before use.
 *
 * @example
 * const core = await assembleCore({ directory: '/usr/lib/grub/i386-pc', prefix: '(hd0,msdos1)/boot/grub', load: ['biosdisk', 'part_msdos', 'ext2'] }, 'bootloader.grub-bios');
 */
import { join } from 'node:path';
import { DiskwrightError, show } from '../errors.js';
import { defineStruct } from '../util/struct.js';
import { BLOCKLIST_OFFSET, BLOCKLIST_SEGMENT, Blocklist, GRUB_SECTOR, MAX_CORE_SECTORS } from './grub-bios.js';
import { lzmaRaw } from './lzma.js';
import { readSmallFile } from './read.js';

/** The largest core.img GRUB loads (grub-mkimage: 0x9000 + core size ≤ 0x78000), plus diskboot.img's sector. */
export const MAX_CORE_BYTES = MAX_CORE_SECTORS * GRUB_SECTOR + GRUB_SECTOR;
const LINK_ADDR = 0x9000;
const KERNEL_END = 0x68000;
const MAX_DECOMPRESSOR = LINK_ADDR - 0x8200;
/** One GRUB file (a module, kernel.img) is read whole; none comes near this. */
const MAX_GRUB_FILE = 4 << 20;

/** ELF32 header fields load_image reads (System V ABI, "ELF Header"). */
const Elf32Ehdr = defineStruct('Elf32_Ehdr', 52, [
  { name: 'e_ident', offset: 0x0, kind: { bytes: 16 } },
  { name: 'e_machine', offset: 0x12, kind: 'u16le' },
  { name: 'e_version', offset: 0x14, kind: 'u32le' },
  { name: 'e_shoff', offset: 0x20, kind: 'u32le' },
  { name: 'e_shentsize', offset: 0x2e, kind: 'u16le' },
  { name: 'e_shnum', offset: 0x30, kind: 'u16le' },
]);
/** ELF32 section header (System V ABI, "Sections"). */
const Elf32Shdr = defineStruct('Elf32_Shdr', 40, [
  { name: 'sh_name', offset: 0x0, kind: 'u32le' },
  { name: 'sh_type', offset: 0x4, kind: 'u32le' },
  { name: 'sh_flags', offset: 0x8, kind: 'u32le' },
  { name: 'sh_addr', offset: 0xc, kind: 'u32le' },
  { name: 'sh_offset', offset: 0x10, kind: 'u32le' },
  { name: 'sh_size', offset: 0x14, kind: 'u32le' },
  { name: 'sh_addralign', offset: 0x20, kind: 'u32le' },
]);
const SHT_PROGBITS = 1;
const SHT_NOBITS = 8;
const SHF_ALLOC = 0x2;
const SHF_EXECINSTR = 0x4;
const EM_386 = 3;

/** struct grub_module_info32 and struct grub_module_header (include/grub/kernel.h). */
const ModuleInfo32 = defineStruct('grub_module_info32', 12, [
  { name: 'magic', offset: 0x0, kind: 'u32le' },
  { name: 'offset', offset: 0x4, kind: 'u32le' },
  { name: 'size', offset: 0x8, kind: 'u32le' },
]);
const ModuleHeader = defineStruct('grub_module_header', 8, [
  { name: 'type', offset: 0x0, kind: 'u32le' },
  { name: 'size', offset: 0x4, kind: 'u32le' },
]);
const GRUB_MODULE_MAGIC = 0x676d696d;
/** enum obj_type (include/grub/kernel.h). */
const OBJ_TYPE_ELF = 0;
const OBJ_TYPE_CONFIG = 2;
const OBJ_TYPE_PREFIX = 3;

/** lzma_decompress.img's size fields (include/grub/offsets.h). */
const Decompressor = defineStruct('lzma_decompress', 0x10, [
  { name: 'compressed_size', offset: 0x08, kind: 'u32le' },
  { name: 'uncompressed_size', offset: 0x0c, kind: 'u32le' },
]);

const align4 = (n: number): number => (n + 3) & ~3;

/** kernel.img's text and data sections at their link addresses, and the BSS size (util/grub-mkimagexx.c). */
function loadKernel(elf: Uint8Array, file: string, path: string): { image: Uint8Array; kernelSize: number; bssSize: number } {
  const bad = (why: string): DiskwrightError => new DiskwrightError('E_BOOT_FILE', `${file} is not GRUB's i386-pc kernel.img: ${why}`, { path, value: file });
  if (elf.length < Elf32Ehdr.size) throw bad('too short');
  const h = Elf32Ehdr.decode(elf);
  const ident = h.e_ident as Uint8Array;
  // ELFMAG, ELFCLASS32, ELFDATA2LSB, EV_CURRENT.
  if (ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c || ident[3] !== 0x46 || ident[4] !== 1 || ident[5] !== 1 || ident[6] !== 1 || h.e_version !== 1) throw bad('no 32-bit little-endian ELF header');
  if (h.e_machine !== EM_386) throw bad(`machine ${show(h.e_machine)} is not i386`);
  const shoff = h.e_shoff as number, entsize = h.e_shentsize as number, count = h.e_shnum as number;
  if (entsize < Elf32Shdr.size || shoff + entsize * count > elf.length) throw bad('section headers outside the file');
  const sections = Array.from({ length: count }, (_, i) => Elf32Shdr.decode(elf, shoff + i * entsize) as Record<string, number>);
  const isText = (s: Record<string, number>): boolean => s.sh_type === SHT_PROGBITS && (s.sh_flags! & (SHF_ALLOC | SHF_EXECINSTR)) === (SHF_ALLOC | SHF_EXECINSTR);
  const isData = (s: Record<string, number>): boolean => s.sh_type === SHT_PROGBITS && (s.sh_flags! & (SHF_ALLOC | SHF_EXECINSTR)) === SHF_ALLOC;
  const placed = [...sections.filter(isText), ...sections.filter(isData)];
  const text = sections.find(isText);
  if (!text || text.sh_addr !== LINK_ADDR) throw bad(`its text does not start at the link address 0x${LINK_ADDR.toString(16)}`);
  let kernelSize = 0;
  for (const s of placed) {
    if (s.sh_addr! < LINK_ADDR || s.sh_offset! + s.sh_size! > elf.length) throw bad('a section lies outside the file or below the link address');
    kernelSize = s.sh_addr! - LINK_ADDR + s.sh_size!;
  }
  let end = kernelSize;
  for (const s of sections) if (s.sh_type === SHT_NOBITS && (s.sh_flags! & SHF_ALLOC)) end = Math.max(end, s.sh_addr! - LINK_ADDR + s.sh_size!);
  if (kernelSize > MAX_GRUB_FILE || LINK_ADDR + end > KERNEL_END) throw bad(`the kernel ends at 0x${(LINK_ADDR + end).toString(16)}, past 0x${KERNEL_END.toString(16)}`);
  const image = new Uint8Array(kernelSize);
  for (const s of placed) image.set(elf.subarray(s.sh_offset!, s.sh_offset! + s.sh_size!), s.sh_addr! - LINK_ADDR);
  return { image, kernelSize, bssSize: end - kernelSize };
}

/**
 * The modules to build in, dependencies first (util/resolve.c `add_module`: depth first through
 * moddep.lst's lists, each module once). A name that is no plain module name (`../x`) is refused:
 * it would read a file outside the directory.
 *
 * @example
 * resolveModules('ext2: fshelp\nfshelp:\n', ['ext2']); // ['fshelp', 'ext2']
 */
export function resolveModules(moddep: string, load: readonly string[], path = 'moddep.lst'): string[] {
  const deps = new Map<string, string[]>();
  for (const line of moddep.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    // read_dep_list prepends each dependency, so add_module visits a line's list back to front.
    deps.set(line.slice(0, colon), line.slice(colon + 1).split(/\s+/).filter((x) => x !== '').reverse());
  }
  const out: string[] = [];
  const visit = (name: string): void => {
    if (!/^[A-Za-z0-9_.+-]+$/.test(name) || name.startsWith('.')) throw new DiskwrightError('E_BOOT_FILE', `GRUB module name ${show(name)} (from load or moddep.lst) is not a module name`, { path, value: name });
    if (out.includes(name)) return;
    for (const d of deps.get(name) ?? []) visit(d);
    if (!out.includes(name)) out.push(name);
  };
  for (const m of load) visit(m.replace(/\.mod$/, ''));
  return out;
}

/** Assemble core.img (see the module comment). `path` names the grub-bios block in errors. */
export async function assembleCore(a: { directory: string; prefix: string; load: readonly string[]; config?: string }, path: string, signal?: AbortSignal): Promise<Uint8Array> {
  const read = (name: string, where = `${path}.directory`): Uint8Array => readSmallFile(join(a.directory, name), MAX_GRUB_FILE, where);
  const kernelFile = join(a.directory, 'kernel.img');
  const kernel = loadKernel(read('kernel.img'), kernelFile, `${path}.directory`);
  const names = resolveModules(Buffer.from(read('moddep.lst')).toString('latin1'), a.load, `${path}.load`);
  const modules = names.map((m) => {
    const i = a.load.indexOf(m);
    return read(`${m}.mod`, i >= 0 ? `${path}.load[${i}]` : `${path}.directory`);
  });
  const text = (s: string): Uint8Array => Buffer.from(`${s}\0`, 'utf8');
  const objects: { type: number; data: Uint8Array }[] = [
    ...modules.map((data) => ({ type: OBJ_TYPE_ELF, data })),
    ...(a.config !== undefined ? [{ type: OBJ_TYPE_CONFIG, data: text(a.config) }] : []),
    { type: OBJ_TYPE_PREFIX, data: text(a.prefix) },
  ];
  const total = ModuleInfo32.size + objects.reduce((n, o) => n + ModuleHeader.size + align4(o.data.length), 0);

  const image = new Uint8Array(kernel.kernelSize + total);
  image.set(kernel.image);
  ModuleInfo32.encode({ magic: GRUB_MODULE_MAGIC, offset: ModuleInfo32.size, size: total }, image, kernel.kernelSize);
  let at = kernel.kernelSize + ModuleInfo32.size;
  for (const o of objects) {
    const size = align4(o.data.length);
    ModuleHeader.encode({ type: o.type, size: size + ModuleHeader.size }, image, at);
    image.set(o.data, at + ModuleHeader.size);
    at += ModuleHeader.size + size;
  }
  signal?.throwIfAborted();
  // LZMA of some 100 KiB takes a moment: let a signal in before and after.
  await new Promise((r) => setImmediate(r));
  const compressed = lzmaRaw(image);
  signal?.throwIfAborted();

  const decompressor = read('lzma_decompress.img').slice();
  if (decompressor.length < Decompressor.size || decompressor.length > MAX_DECOMPRESSOR) throw new DiskwrightError('E_BOOT_FILE', `${join(a.directory, 'lzma_decompress.img')} has ${decompressor.length} bytes; GRUB's decompressor has at most ${MAX_DECOMPRESSOR}`, { path: `${path}.directory` });
  Decompressor.encode({ compressed_size: compressed.length, uncompressed_size: image.length }, decompressor);
  const body = decompressor.length + compressed.length;
  const diskboot = read('diskboot.img').slice();
  if (diskboot.length !== GRUB_SECTOR || Blocklist.decodeField(diskboot, 'segment', BLOCKLIST_OFFSET) !== BLOCKLIST_SEGMENT) {
    throw new DiskwrightError('E_BOOT_FILE', `${join(a.directory, 'diskboot.img')} is not GRUB's diskboot.img (one sector, blocklist to segment 0x820)`, { path: `${path}.directory` });
  }
  if (LINK_ADDR + body > 0x78000) {
    throw new DiskwrightError('E_GRUB_CORE_SIZE', `core.img would be ${body} bytes, more than GRUB loads (0x${(0x78000 - LINK_ADDR).toString(16)}); load fewer modules`, { path: `${path}.load`, value: body });
  }
  Blocklist.encode({ len: Math.ceil(body / GRUB_SECTOR) }, diskboot, BLOCKLIST_OFFSET);
  const core = new Uint8Array(GRUB_SECTOR + body);
  core.set(diskboot);
  core.set(decompressor, GRUB_SECTOR);
  core.set(compressed, GRUB_SECTOR + decompressor.length);
  return core;
}
