import { defineStruct } from '../util/struct.js';
import { deriveUuid, guidToBytes } from '../util/ids.js';
import { allocatedBlocks, blockRuns, ceilDiv } from './blocks.js';
import type { ContainerWriter } from './types.js';

/**
 * VirtualBox VDI, dynamic (VirtualBox VDICore.h: VDIPREHEADER + VDIHEADER1; qemu block/vdi.c).
 * Little-endian. A 1 MiB block is allocated when any extent touches it; blocks are stored in guest
 * order after the block map.
 */
export const VdiHeader = defineStruct('VDI header', 512, [
  { name: 'szFileInfo', offset: 0x00, kind: { bytes: 64 } },
  { name: 'u32Signature', offset: 0x40, kind: 'u32le' },
  { name: 'u32Version', offset: 0x44, kind: 'u32le' },
  { name: 'cbHeader', offset: 0x48, kind: 'u32le' },
  { name: 'u32Type', offset: 0x4c, kind: 'u32le' },
  { name: 'fFlags', offset: 0x50, kind: 'u32le' },
  { name: 'szComment', offset: 0x54, kind: { bytes: 256 } },
  { name: 'offBlocks', offset: 0x154, kind: 'u32le' },
  { name: 'offData', offset: 0x158, kind: 'u32le' },
  { name: 'cCylinders', offset: 0x15c, kind: 'u32le' },
  { name: 'cHeads', offset: 0x160, kind: 'u32le' },
  { name: 'cSectors', offset: 0x164, kind: 'u32le' },
  { name: 'cbSector', offset: 0x168, kind: 'u32le' },
  { name: 'u32Dummy', offset: 0x16c, kind: 'u32le' },
  { name: 'cbDisk', offset: 0x170, kind: 'u64le' },
  { name: 'cbBlock', offset: 0x178, kind: 'u32le' },
  { name: 'cbBlockExtra', offset: 0x17c, kind: 'u32le' },
  { name: 'cBlocks', offset: 0x180, kind: 'u32le' },
  { name: 'cBlocksAllocated', offset: 0x184, kind: 'u32le' },
  { name: 'uuidCreate', offset: 0x188, kind: { bytes: 16 } },
  { name: 'uuidModify', offset: 0x198, kind: { bytes: 16 } },
  { name: 'uuidLinkage', offset: 0x1a8, kind: { bytes: 16 } },
  { name: 'uuidParentModify', offset: 0x1b8, kind: { bytes: 16 } },
]);

export const VDI_SIGNATURE = 0xbeda107f;
export const VDI_VERSION = 0x00010001;
/** Size of VDIHEADER1 as cbHeader counts it (from cbHeader to uuidParentModify). */
export const VDI_HEADER1_SIZE = 0x180;
export const VDI_TYPE_DYNAMIC = 1;
export const VDI_BLOCK_SIZE = 1 << 20;
export const VDI_UNALLOCATED = 0xffffffff;
const FILE_INFO = '<<< Oracle VM VirtualBox Disk Image >>>\n';

export const vdiWriter: ContainerWriter = {
  async write(disk, sink, opts) {
    const size = ceilDiv(disk.size, 512) * 512;
    const entries = ceilDiv(size, VDI_BLOCK_SIZE);
    const blocks = allocatedBlocks(disk, VDI_BLOCK_SIZE);
    const offBlocks = 0x200;
    // Data starts on a 1 MiB boundary, as VirtualBox lays it out.
    const offData = ceilDiv(offBlocks + entries * 4, VDI_BLOCK_SIZE) * VDI_BLOCK_SIZE;

    const head = new Uint8Array(offData);
    VdiHeader.encode({
      szFileInfo: new TextEncoder().encode(FILE_INFO),
      u32Signature: VDI_SIGNATURE,
      u32Version: VDI_VERSION,
      cbHeader: VDI_HEADER1_SIZE,
      u32Type: VDI_TYPE_DYNAMIC,
      offBlocks,
      offData,
      cbSector: 512,
      cbDisk: size,
      cbBlock: VDI_BLOCK_SIZE,
      cBlocks: entries,
      cBlocksAllocated: blocks.length,
      uuidCreate: guidToBytes(deriveUuid(opts.seed, 'vdi')),
      uuidModify: guidToBytes(deriveUuid(opts.seed, 'vdi-modify')),
    }, head);
    const dv = new DataView(head.buffer);
    for (let i = 0; i < entries; i++) dv.setUint32(offBlocks + i * 4, VDI_UNALLOCATED, true);
    blocks.forEach((b, i) => dv.setUint32(offBlocks + b * 4, i, true));
    await sink.write(head);

    for (const run of blockRuns(disk, VDI_BLOCK_SIZE)) {
      opts.signal?.throwIfAborted();
      await sink.write(run.data);
      opts.onProgress?.(Math.min(disk.size, (run.first + run.count) * VDI_BLOCK_SIZE), disk.size);
    }
  },
};
