/**
 * Where the ISO planner meets El Torito and isohybrid (eltorito.ts and hybrid.ts hold the formats):
 * - before the layout: the boot catalog becomes a 2048-byte file of the tree (at its path, or
 *   hidden: placed, but in no directory), and the boot images are found (regular files of the
 *   tree; they are never zisofs-compressed, firmware reads them raw);
 * - after every LBA is decided: the boot record volume descriptor (sector 17, El Torito 2.0), the
 *   catalog's bytes, the BIOS image's boot info table and GRUB 2 boot info laid over its bytes,
 *   and with `hybrid` the system area, the appended ESP (a copy of the EFI image after the ISO,
 *   which the EFI entry then names, as xorriso's `--interval:appended_partition_2:all::`) and
 *   the backup GPT after everything.
 *
 * @example
 * const prep = prepareBoot(tree, options.boot, epoch, specPath);
 * // ... layout ...
 * const done = finishBoot(prep, { ... });
 */
import { readFileSync } from 'node:fs';
import { DiskwrightError } from '../../errors.js';
import { readContent } from '../../extent/content.js';
import { ExtentReader } from '../../extent/read.js';
import type { Tree, TreeNode } from '../../tree/model.js';
import { bootImagePatches, efiSectorCount, encodeBootCatalog, encodeBootRecord, type BootImageRef } from './eltorito.js';
import type { Inode } from './hierarchy.js';
import { mbrKind, planHybrid } from './hybrid.js';
import type { Iso9660BootOptions, Iso9660HybridOptions } from './options.js';
import type { Overlay } from './encode.js';
import { SECTOR } from './structs.js';

export interface BootPrep {
  /** The tree with the catalog in it (unless hidden). */
  tree: Tree;
  catalog: TreeNode;
  hidden: boolean;
  bios?: TreeNode;
  efi?: TreeNode;
}

function parts(path: string): Buffer[] {
  return path.split('/').filter((s) => s !== '').map((s) => Buffer.from(s, 'utf8'));
}

function lookup(tree: Tree, path: string): TreeNode | undefined {
  let node: TreeNode | undefined = tree.root;
  for (const name of parts(path)) node = node?.children?.find((c) => c.name.equals(name));
  return node;
}

function bootFile(tree: Tree, path: string, specPath: string): TreeNode {
  const node = lookup(tree, path);
  if (!node || node.kind !== 'file' || node.size === 0) {
    throw new DiskwrightError('E_ISO_BOOT', `boot image ${path} is ${!node ? 'not in the contents' : node.kind !== 'file' ? `a ${node.kind}, not a regular file` : 'empty'}; give the path of the boot image file inside the ISO`, { path: specPath, value: path });
  }
  return node;
}

/** The tree with `node` added at `path` (copies of the directories on the way; the input stays as it is). */
function withNode(tree: Tree, path: string, node: TreeNode, specPath: string): Tree {
  const names = parts(path);
  const rec = (dir: TreeNode, depth: number): TreeNode => {
    const kids = dir.children ?? [];
    const name = names[depth]!;
    if (depth === names.length - 1) {
      if (kids.some((c) => c.name.equals(name))) throw new DiskwrightError('E_ISO_BOOT', `the boot catalog path ${path} is taken by a file of the contents; give boot.catalog a free path`, { path: specPath, value: path });
      return { ...dir, children: [...kids, node].sort((a, b) => Buffer.compare(a.name, b.name)) };
    }
    const i = kids.findIndex((c) => c.name.equals(name));
    if (i < 0 || kids[i]!.kind !== 'dir') throw new DiskwrightError('E_ISO_BOOT', `the boot catalog's directory ${'/' + names.slice(0, depth + 1).map((n) => n.toString()).join('/')} is not a directory of the contents`, { path: specPath, value: path });
    const copy = kids.slice();
    copy[i] = rec(kids[i]!, depth + 1);
    return { ...dir, children: copy };
  };
  return { root: rec(tree.root, 0) };
}

/** Before the layout: the catalog file and the boot images. */
export function prepareBoot(tree: Tree, boot: Iso9660BootOptions, epoch: number, specPath: string): BootPrep {
  const t = { sec: epoch, nsec: 0 };
  const name = parts(boot.catalog).at(-1)!;
  // Content is set once the catalog's bytes exist (finishBoot); it is 2048 bytes whatever it says.
  const catalog: TreeNode = { name, kind: 'file', mode: 0o444, uid: 0, gid: 0, mtime: t, atime: t, ctime: t, xattrs: [], size: SECTOR, content: { kind: 'bytes', data: new Uint8Array(SECTOR) } };
  const out: BootPrep = { tree: boot.catalogHidden ? tree : withNode(tree, boot.catalog, catalog, `${specPath}.boot.catalog`), catalog, hidden: boot.catalogHidden };
  if (boot.bios) out.bios = bootFile(tree, boot.bios.image, `${specPath}.boot.bios.image`);
  if (boot.efi) out.efi = bootFile(tree, boot.efi.image, `${specPath}.boot.efi.image`);
  return out;
}

export interface BootInput {
  prep: BootPrep;
  boot: Iso9660BootOptions;
  hybrid?: Iso9660HybridOptions;
  inodeOf: Map<TreeNode, Inode>;
  catalogInode: Inode;
  pvdLba: number;
  isoSectors: number;
  seed: string;
  specPath: string;
}

export interface BootOutput {
  bootRecord: Uint8Array;
  catalog: Uint8Array;
  overlays: Map<Inode, Overlay[]>;
  systemArea?: Uint8Array;
  /** With hybrid: the image's size, structures after the ISO, and the appended ESP's place. */
  totalSize?: number;
  tail: { offset: number; data: Uint8Array }[];
  appendedEsp?: { offset: number; node: TreeNode };
}

/** After the layout: the boot record, the catalog, the overlays and the hybrid structures. */
export function finishBoot(b: BootInput): BootOutput {
  const ref = (node: TreeNode | undefined): BootImageRef | undefined => {
    if (!node) return undefined;
    const data = b.inodeOf.get(node)!.data!;
    return { path: pathOf(b, node), lba: data.lba, size: node.size };
  };
  const bios = ref(b.prep.bios);
  let efi = ref(b.prep.efi);
  const out: BootOutput = { bootRecord: new Uint8Array(0), catalog: new Uint8Array(0), overlays: new Map(), tail: [] };
  // GRUB's hybrid MBR loads core.img through the GRUB 2 boot info: unless the spec says otherwise,
  // patch it whenever that MBR is used (xorriso needs --grub2-boot-info said; forgetting it gives
  // an ISO that boots as a CD and hangs as a disk).
  let grubMbr = false;

  if (b.hybrid) {
    let mbrCode: Uint8Array | undefined;
    if (b.hybrid.mbr !== undefined) {
      try {
        mbrCode = readFileSync(b.hybrid.mbr);
      } catch (e) {
        throw new DiskwrightError('E_HYBRID_MBR', `cannot read the hybrid MBR code ${b.hybrid.mbr}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { path: `${b.specPath}.hybrid.mbr`, value: b.hybrid.mbr });
      }
      grubMbr = mbrKind(mbrCode, `${b.specPath}.hybrid.mbr`) === 'grub';
    }
    const h = planHybrid({
      isoSectors: b.isoSectors, ...(bios ? { biosImage: bios } : {}), ...(efi ? { efiImage: efi } : {}), ...(mbrCode ? { mbrCode } : {}),
      gpt: b.hybrid.gpt, ...(b.hybrid.appendedEsp && efi ? { appendedEsp: { volumeSize: efi.size } } : {}), seed: b.seed, specPath: `${b.specPath}.hybrid`,
    });
    out.systemArea = h.systemArea;
    out.totalSize = h.totalSize;
    out.tail = h.tail;
    if (h.appendedEspOffset !== undefined && efi) {
      out.appendedEsp = { offset: h.appendedEspOffset, node: b.prep.efi! };
      efi = { ...efi, lba: h.appendedEspOffset / SECTOR };
    }
  }

  out.catalog = encodeBootCatalog({
    ...(bios ? { bios: { ...bios, loadSize: b.boot.bios!.loadSize } } : {}),
    ...(efi ? { efi: { ...efi, sectors: efiSectorCount(efi.size) } } : {}),
  });
  out.bootRecord = encodeBootRecord(b.catalogInode.data!.lba);
  if (bios && b.prep.bios) {
    const node = b.prep.bios;
    const reader = new ExtentReader();
    const read = (from: number, length: number): Uint8Array => readContent(node.content!, node.size, from, length, reader);
    const opts = b.boot.bios!;
    let patches;
    try {
      patches = bootImagePatches(bios, b.pvdLba, read, { bootInfoTable: opts.bootInfoTable, grub2BootInfo: opts.grub2BootInfo ?? grubMbr, path: `${b.specPath}.boot.bios.image` });
    } finally {
      reader.closeAll();
    }
    if (patches.length) out.overlays.set(b.inodeOf.get(node)!, patches);
  }
  return out;
}

function pathOf(b: BootInput, node: TreeNode): string {
  return node === b.prep.bios ? b.boot.bios!.image : b.boot.efi!.image;
}
