/**
 * The inode tables (ext4 docs inode_table.rst, inodes.rst "Finding an Inode"): each group holds
 * inodes_per_group 256-byte inodes; inode n is entry (n - 1) % inodes_per_group of group
 * (n - 1) / inodes_per_group's table. Only the blocks holding inodes in use (1..lastIno) are
 * materialised; the rest of every table stays a hole, which BG_ITABLE_ZEROED declares (blockgroup.rst "Lazy Block Group Initialization").
 */
import type { VolumeBuilder } from '../../extent/extent.js';
import { EXTRA_ISIZE, Inode, INODE_SIZE, sealInode, writeInodeValues, type InodeValues } from './inode.js';
import type { Geometry } from './layout.js';
import { FIRST_INO } from './prepare.js';
import { writeIbodyXattrs, type XattrRecord } from './xattr.js';

/** Writes i_block of the inode at `buf[at]` (an extent tree, a fast symlink, a device number). */
export type IblockWriter = (buf: Uint8Array, at: number) => void;

export class InodeTables {
  private readonly tables: Uint8Array[] = [];
  private readonly views: DataView[] = [];
  private readonly ipg: number;

  constructor(private readonly geo: Geometry, lastIno: number, private readonly csumSeed: number) {
    this.ipg = geo.inodesPerGroup;
    const B = geo.blockSize;
    for (let gi = 0; gi < geo.groups; gi++) {
      const used = Math.min(Math.max(lastIno - gi * this.ipg, 0), this.ipg);
      if (used === 0) break;
      const t = new Uint8Array(Math.ceil((used * INODE_SIZE) / B) * B);
      this.tables.push(t);
      this.views.push(new DataView(t.buffer, t.byteOffset, t.byteLength));
    }
  }

  /** The table buffer holding inode `ino`. */
  bufferOf(ino: number): Uint8Array {
    return this.tables[Math.floor((ino - 1) / this.ipg)]!;
  }

  /** Byte offset of inode `ino` in its table buffer. */
  offsetOf(ino: number): number {
    return ((ino - 1) % this.ipg) * INODE_SIZE;
  }

  /**
   * Write inode `ino`: its fields, then i_block, then the in-inode xattrs (attributes.rst, after
   * i_extra_isize), and the checksum over all of it last.
   */
  write(ino: number, v: InodeValues, iblock?: IblockWriter, ibody?: readonly XattrRecord[]): void {
    const group = Math.floor((ino - 1) / this.ipg);
    const buf = this.tables[group]!;
    const view = this.views[group]!;
    const at = ((ino - 1) % this.ipg) * INODE_SIZE;
    writeInodeValues(view, at, v);
    iblock?.(buf, at);
    if (ibody?.length) writeIbodyXattrs(buf, at, ibody);
    sealInode(buf, view, at, ino, 0, this.csumSeed);
  }

  /** Reserved inodes 1..10 as mke2fs writes them: zero but for i_extra_isize and the checksum. */
  writeReserved(): void {
    for (let ino = 1; ino < FIRST_INO; ino++) {
      const group = Math.floor((ino - 1) / this.ipg);
      const at = this.offsetOf(ino);
      Inode.encode({ i_extra_isize: EXTRA_ISIZE }, this.tables[group]!, at);
      sealInode(this.tables[group]!, this.views[group]!, at, ino, 0, this.csumSeed);
    }
  }

  /** Add the materialised part of every table at its place (layout.ts). */
  place(vb: VolumeBuilder): void {
    this.tables.forEach((t, gi) => vb.addBytes(this.geo.inodeTable[gi]! * this.geo.blockSize, t));
  }
}
