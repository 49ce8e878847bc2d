import { DiskwrightError } from '../errors.js';
import { partedPlace, partedPosition } from './parted.js';
import type { ResolvedPartition, ResolvedSpec } from '../spec/types.js';
import { alignDown, alignUp } from '../util/size.js';
import type { GptGeometry } from './gpt.js';
import { tableScheme, type TableArea, type TableScheme } from './schemes.js';

/** Where one partition landed, in bytes. */
export interface Placement {
  part: ResolvedPartition;
  offset: number;
  size: number;
}

export interface DiskLayout {
  size: number;
  placements: Placement[];
  /** GPT geometry for gpt and hybrid tables. */
  gpt?: GptGeometry;
}

const hex = (n: number): string => '0x' + n.toString(16);

/**
 * Place every partition (docs/ARCHITECTURE.md §2.1, §3): explicit offsets, parted positions for the NixOS presets,
 * or the next `alignment` boundary; sizes are fixed, the filesystem's exact `auto` size, or `fill`
 * (to the end of the disk). Then check everything a table and a disk can hold, before any byte is
 * written: overlaps, past the end, MBR 32-bit limits, raw blobs over tables or partitions. What the
 * table reserves and where partitions may lie come from its scheme (schemes.ts).
 *
 * @param autoSizes bytes each `auto`/`fill` partition needs at least (filesystem planned at `auto`)
 * @param virtualSize the container's rounding of the disk size (a fixed VHD holds whole MiB): the
 *   table is laid out at the size the container will store, so the GPT backup sits at its last LBA
 */
export function layoutDisk(spec: ResolvedSpec, autoSizes: ReadonlyMap<number, number>, virtualSize: (size: number) => number = (n) => n): DiskLayout {
  const S = spec.sectorSize;
  const A = spec.alignment;
  const scheme = tableScheme(spec.table);
  if (scheme.place) return scheme.place(spec, autoSizes, virtualSize);

  const area = scheme.area(spec);
  const firstUsableLba = area.firstUsableLba;
  const trailing = area.trailingSectors * S;

  const placeAll = (diskSize: number | undefined): Placement[] => {
    const totalSectors = diskSize === undefined ? Number.MAX_SAFE_INTEGER / S : diskSize / S;
    const lastUsableLba = totalSectors - 1 - area.trailingSectors;
    const placed: Placement[] = [];
    let cursor = alignUp(firstUsableLba * S, A);
    for (const p of spec.partitions) {
      let offset: number;
      let size: number;
      const need = autoSizes.get(p.index);
      if (p.parted && diskSize !== undefined) {
        const occupied = placed.map((q) => [q.offset / S, (q.offset + q.size) / S - 1] as const);
        const start = partedPosition(p.parted.start, totalSectors, S, false, `${p.path}`);
        const end = partedPosition(p.parted.end, totalSectors, S, true, `${p.path}`);
        // free region around the preferred start, bounded by partitions placed before
        let lo = firstUsableLba, hi = lastUsableLba;
        for (const [a, b] of occupied) {
          if (b < start.v) lo = Math.max(lo, b + 1);
          else if (a > start.v) hi = Math.min(hi, a - 1);
          else lo = Math.max(lo, b + 1);
        }
        const r = partedPlace(start, end, lo, hi, (1 << 20) / S);
        if (!r) throw new DiskwrightError('E_PARTED', `cannot place partition ${p.name} at ${p.parted.start}..${p.parted.end} on a ${diskSize}-byte disk`, { path: p.path, value: p.parted });
        offset = r.first * S;
        size = (r.last - r.first + 1) * S;
      } else if (p.parted) {
        // provisional (auto disk size): parted start with a notional huge disk
        const start = partedPosition(p.parted.start, totalSectors, S, false, p.path);
        const prevEnd = placed.reduce((m, q) => (q.offset < start.v * S ? Math.max(m, q.offset + q.size) : m), firstUsableLba * S);
        const r = partedPlace(start, { v: start.v + 2 ** 30, lo: start.v, hi: start.v + 2 ** 31 }, prevEnd / S, Number.MAX_SAFE_INTEGER / S, (1 << 20) / S);
        offset = (r ? r.first : start.v) * S;
        size = p.parted.end.startsWith('-') ? need ?? 0 : (partedPosition(p.parted.end, totalSectors, S, true, p.path).v + 1) * S - offset;
      } else {
        offset = p.offset ?? cursor;
        if (typeof p.size === 'number') size = p.size;
        else if (p.size === 'fill' && diskSize !== undefined) size = alignDown((lastUsableLba + 1) * S, A) - offset;
        else size = alignUp(need ?? 0, S);
      }
      placed.push({ part: p, offset, size });
      cursor = alignUp(Math.max(cursor, offset + size), A);
    }
    return placed;
  };

  let diskSize: number;
  let placements: Placement[];
  if (typeof spec.size === 'number') {
    diskSize = virtualSize(spec.size);
    placements = placeAll(diskSize);
  } else {
    const provisional = placeAll(undefined);
    let end = 0;
    for (const q of provisional) end = Math.max(end, q.offset + q.size);
    for (const r of spec.raw) end = Math.max(end, r.offset + r.size);
    const usesPartedEnd = spec.partitions.some((p) => p.parted?.end.startsWith('-'));
    // parted's "-1" ends about 1 MB before the end of the disk: leave that room, as NixOS sizing does.
    diskSize = virtualSize(alignUp(end + trailing, A) + (usesPartedEnd ? 1 << 20 : 0));
    // Grow the disk while that grows the partitions that are short (those ending relative to the
    // disk end); a short partition of fixed size (a bootSize) never grows: checkLayout names it.
    let short: Placement[] = [];
    for (;;) {
      placements = placeAll(diskSize);
      const nowShort = placements.filter((q) => q.size < (autoSizes.get(q.part.index) ?? 0));
      if (nowShort.length === 0) break;
      const grew = nowShort.some((q) => q.size > (short.find((o) => o.part === q.part)?.size ?? -1));
      if (!grew) break;
      short = nowShort;
      // Jump by the largest shortfall (aligned) rather than one alignment step at a time.
      const gap = Math.max(...nowShort.map((q) => autoSizes.get(q.part.index)! - q.size));
      diskSize = virtualSize(diskSize + alignUp(gap, A));
    }
  }
  const totalSectors = diskSize / S;
  checkLayout(spec, scheme, area, diskSize, placements, autoSizes);
  const out: DiskLayout = { size: diskSize, placements };
  const gpt = area.gpt?.(totalSectors);
  if (gpt) out.gpt = gpt;
  return out;
}

function checkLayout(spec: ResolvedSpec, scheme: TableScheme, area: TableArea, diskSize: number, placements: Placement[], autoSizes: ReadonlyMap<number, number>): void {
  const S = spec.sectorSize;
  const totalSectors = diskSize / S;
  const reserved = area.reserved(totalSectors);
  const inMbr = new Set(scheme.mbrPartitions(placements));
  for (const q of placements) {
    const p = q.part;
    const end = q.offset + q.size;
    if (end > diskSize) {
      throw new DiskwrightError('E_PAST_END', `partition ${p.name} (offset ${hex(q.offset)}, size ${hex(q.size)}) ends at byte ${end}, past the end of the ${diskSize}-byte disk; make the disk at least ${end + area.trailingSectors * S} bytes or the partition smaller`, { path: `${p.path}.size`, value: q.size });
    }
    if (q.offset < area.firstUsableLba * S || end > (totalSectors - area.trailingSectors) * S) throw area.outsideUsable(q, totalSectors);
    if (inMbr.has(q)) {
      if (q.offset / S > 0xffffffff || q.size / S > 0xffffffff) {
        throw new DiskwrightError('E_MBR_LIMIT', `partition ${p.name} (offset ${q.offset}, size ${q.size}) does not fit the MBR's 32-bit sector fields (${S}-byte sectors: 2 TiB with 512); use table: gpt`, { path: p.path, value: q.size });
      }
    }
    const need = autoSizes.get(p.index);
    if (need !== undefined && q.size < need) {
      throw new DiskwrightError('E_TOO_SMALL', `partition ${p.name} has ${q.size} bytes but its contents need ${need} bytes${typeof spec.size === 'number' ? `; make the disk at least ${diskSize + need - q.size} bytes` : ''}`, { path: `${p.path}.size`, value: q.size });
    }
    if (typeof p.size === 'number' && q.size !== p.size) {
      throw new DiskwrightError('E_SIZE', `partition ${p.name} size ${p.size} could not be kept`, { path: `${p.path}.size`, value: p.size });
    }
  }
  const sorted = placements.slice().sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!, b = sorted[i]!;
    if (b.offset < a.offset + a.size) {
      throw new DiskwrightError('E_OVERLAP', `partition ${b.part.name} (offset ${hex(b.offset)}, size ${hex(b.size)}) overlaps partition ${a.part.name} (offset ${hex(a.offset)}, size ${hex(a.size)}); move ${b.part.name} to offset ${hex(a.offset + a.size)} or later`, { path: `${b.part.path}.offset`, value: b.offset });
    }
  }
  const blobs = spec.raw.slice().sort((a, b) => a.offset - b.offset);
  for (const r of spec.raw) {
    const end = r.offset + r.size;
    if (end > diskSize) throw new DiskwrightError('E_PAST_END', `raw blob ${r.source} (offset ${hex(r.offset)}, size ${hex(r.size)}) ends past the end of the ${diskSize}-byte disk`, { path: `${r.path}.offset`, value: r.offset });
    for (const z of reserved) {
      // Boot code may go into the table's code area at the start of sector 0 (the MBR's 440 bytes, UEFI 2.10 Table 5.1).
      if (z.from === 0 && end <= scheme.bootCodeBytes) continue;
      if (r.offset < z.to && end > z.from) {
        throw new DiskwrightError('E_BLOB_OVERLAP', `raw blob ${r.source} (offset ${hex(r.offset)}, size ${hex(r.size)}) overlaps ${z.what}; ${z.fix}`, { path: `${r.path}.offset`, value: r.offset });
      }
    }
    if (!r.inPartition) {
      for (const q of placements) {
        if (r.offset < q.offset + q.size && end > q.offset) {
          throw new DiskwrightError('E_BLOB_OVERLAP', `raw blob ${r.source} (offset ${hex(r.offset)}, size ${hex(r.size)}) overlaps partition ${q.part.name} (offset ${hex(q.offset)}, size ${hex(q.size)}); move the partition with offset, or set inPartition: true if intended`, { path: `${r.path}.offset`, value: r.offset });
        }
      }
    }
  }
  for (let i = 1; i < blobs.length; i++) {
    const a = blobs[i - 1]!, b = blobs[i]!;
    if (b.offset < a.offset + a.size) throw new DiskwrightError('E_BLOB_OVERLAP', `raw blob ${b.source} (offset ${hex(b.offset)}) overlaps raw blob ${a.source} (offset ${hex(a.offset)}, size ${hex(a.size)})`, { path: `${b.path}.offset`, value: b.offset });
  }
  const fills = spec.partitions.filter((p) => p.size === 'fill');
  if (fills.length > 1) throw new DiskwrightError('E_FILL', 'only one partition can fill the rest of the disk', { path: `${fills[1]!.path}.size`, value: 'fill' });
}
