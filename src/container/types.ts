import type { Volume } from '../extent/extent.js';
import type { Sink } from './sink.js';

export interface ContainerOptions {
  /** Seed for container ids (VHD/VDI UUIDs, VMDK CID). */
  seed: string;
  /** sourceDateEpoch for container timestamps (VHD), or undefined (then 0). */
  epoch: number | undefined;
  /** Progress callback: bytes of the disk processed so far. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Output file name, where a format records it (the VMDK descriptor's extent line). */
  name?: string;
  /** qcow2 cluster size and similar per-format knobs. */
  clusterSize?: number;
}

/**
 * A container writer walks the disk's extent list once, in order, and writes its format to `sink`
 * front to back (docs/ARCHITECTURE.md §2.1, step 5). Allocation tables are computed from the extent list before the
 * first byte.
 */
export interface ContainerWriter {
  /**
   * The virtual disk size this container stores for a disk of `size` bytes, when the format rounds
   * it (a fixed VHD holds whole MiB). The table is laid out at this size, so a GPT's backup header
   * sits at the container's last LBA (the `resize` hook of FreeBSD mkimg's formats). Declared on
   * the format's line in registry.ts (with its name and suffix), not by the writer module.
   */
  virtualSize?(size: number): number;
  write(disk: Volume, sink: Sink, opts: ContainerOptions): Promise<void>;
}
