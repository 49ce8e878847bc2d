import { placeVolume, sliceExtent, VolumeBuilder, type Extent, type Volume } from '../extent/extent.js';
import type { ResolvedSpec } from '../spec/types.js';
import { crc32 } from '../util/crc32.js';
import { encodeEntries, encodeHeader, type GptPartition } from './gpt.js';
import type { DiskLayout } from './layout.js';
import { encodeMbr, MBR_PARTITION_OFFSET, type MbrEntry } from './mbr.js';
import { GPT_ATTRIBUTE_BITS, MBR_PROTECTIVE_TYPE } from './types.js';
import { readFileSync } from 'node:fs';

/** The GPT entries of a layout, in spec order (entry i = partition i+1). */
export function gptPartitions(layout: DiskLayout): GptPartition[] {
  const S = layout.gpt!.sectorSize;
  return layout.placements.map((q) => {
    let attributes = 0n;
    for (const f of q.part.flags) {
      const bit = GPT_ATTRIBUTE_BITS[f];
      if (bit !== undefined) attributes |= 1n << BigInt(bit);
    }
    return {
      typeGuid: q.part.typeGuid!, uuid: q.part.uuid,
      firstLba: q.offset / S, lastLba: (q.offset + q.size) / S - 1,
      attributes, name: q.part.name,
    };
  });
}

/** MBR entries: all partitions (mbr), or the protective 0xEE entry plus up to three mirrored ones (hybrid). */
export function mbrEntries(spec: ResolvedSpec, layout: DiskLayout): MbrEntry[] {
  const S = spec.sectorSize;
  const total = layout.size / S;
  const entry = (q: DiskLayout['placements'][number]): MbrEntry => ({ bootable: q.part.flags.includes('boot'), type: q.part.mbrType!, start: q.offset / S, size: q.size / S });
  if (spec.table === 'mbr') return layout.placements.map(entry);
  if (spec.table === 'gpt') {
    // Protective MBR (UEFI 2.10 §5.2.3): one 0xEE entry from LBA 1 over the whole disk (capped at 2^32-1).
    return [{ bootable: false, type: MBR_PROTECTIVE_TYPE, start: 1, size: Math.min(total - 1, 0xffffffff) }];
  }
  // Hybrid MBR (as gdisk makes it): 0xEE covering the GPT structures up to the first mirrored
  // partition, then up to three partitions that have an MBR type, in spec order.
  const mirrored = layout.placements.filter((q) => q.part.mbrType !== undefined).slice(0, 3);
  const firstStart = Math.min(...mirrored.map((q) => q.offset / S), layout.gpt!.firstUsableLba);
  return [{ bootable: false, type: MBR_PROTECTIVE_TYPE, start: 1, size: firstStart - 1 }, ...mirrored.map(entry)];
}

/**
 * The disk as one extent list: table structures, each partition's volume at its offset, raw
 * blobs. Boot code from a raw blob in the first 440 bytes is merged into the MBR sector.
 */
export function assembleDisk(spec: ResolvedSpec, layout: DiskLayout, volumes: ReadonlyMap<number, Volume>): Volume {
  const b = new VolumeBuilder();
  const S = spec.sectorSize;
  if (spec.table === 'none') {
    const vol = volumes.get(spec.partitions[0]!.index);
    for (const e of vol?.extents ?? []) b.add(e);
    for (const r of spec.raw) b.addFile(r.offset, r.source, 0, r.size, r.size);
    return b.finish(layout.size, 'disk');
  }
  let bootCode: Uint8Array | undefined;
  const blobs = spec.raw.filter((r) => {
    if (r.offset + r.size <= 440) {
      bootCode ??= new Uint8Array(440);
      bootCode.set(readFileSync(r.source), r.offset);
      return false;
    }
    return true;
  });
  const mbr = encodeMbr(mbrEntries(spec, layout), spec.mbrId, bootCode);
  if (spec.table === 'gpt') {
    // UEFI 2.10 Table 5.4: a protective MBR's disk signature is unused (zero) and, for 0xEE,
    // StartingCHS 0x000200 and EndingCHS 0xFFFFFF when the disk is larger than CHS can express.
    mbr.set([0xff, 0xff, 0xff], MBR_PARTITION_OFFSET + 5);
  }
  b.addBytes(0, mbr);
  if (layout.gpt) {
    const g = layout.gpt;
    const entries = encodeEntries(gptPartitions(layout), g.entryCount);
    const crc = crc32(entries);
    b.addBytes(S, encodeHeader(g, spec.diskUuid, crc, false));
    b.addBytes(g.primaryEntriesLba * S, entries);
    b.addBytes(g.backupEntriesLba * S, entries);
    b.addBytes((g.totalSectors - 1) * S, encodeHeader(g, spec.diskUuid, crc, true));
  }
  // Blobs marked inPartition (genimage's in-partition) overwrite the partition's bytes there.
  const cuts = blobs.filter((r) => r.inPartition).map((r) => [r.offset, r.offset + r.size] as const);
  for (const q of layout.placements) {
    const vol = volumes.get(q.part.index);
    if (vol) for (const e of placeVolume(vol, q.offset)) for (const piece of cutAround(e, cuts)) b.add(piece);
  }
  for (const r of blobs) b.addFile(r.offset, r.source, 0, r.size, r.size);
  return b.finish(layout.size, 'disk');
}

/** The parts of `e` outside every `[from, to)` in `cuts`. */
function cutAround(e: Extent, cuts: readonly (readonly [number, number])[]): Extent[] {
  let pieces = [e];
  for (const [from, to] of cuts) {
    pieces = pieces.flatMap((p) => {
      if (to <= p.offset || from >= p.offset + p.length) return [p];
      const out: Extent[] = [];
      if (from > p.offset) out.push(sliceExtent(p, p.offset, from));
      if (to < p.offset + p.length) out.push(sliceExtent(p, to, p.offset + p.length));
      return out;
    });
  }
  return pieces;
}
