import type { BuildReport } from '../build.js';
import { formatSize } from '../util/size.js';

/** The --dry-run layout table. */
export function layoutTable(r: BuildReport): string {
  const lines: string[] = [];
  lines.push(`${r.name}: ${r.table} table, ${r.sectorSize}-byte sectors, ${formatSize(r.size)} (${r.size} bytes), format ${r.format}${r.compression !== 'none' ? ` + ${r.compression}` : ''}`);
  if (r.diskUuid) lines.push(`disk GUID ${r.diskUuid}`);
  if (r.mbrId) lines.push(`MBR id ${r.mbrId}`);
  // GPT and hybrid tables give each partition a unique GUID (what `sgdisk -i N` shows); MBR has none.
  const guids = r.partitions.some((p) => p.uuid !== undefined);
  const rows = [['#', 'name', 'start LBA', 'end LBA', 'offset', 'size', 'type', ...(guids ? ['partition GUID'] : []), 'fs', 'label', 'fs uuid', 'flags']];
  for (const p of r.partitions) {
    rows.push([String(p.number), p.name, String(p.firstLba), String(p.lastLba), String(p.offset), formatSize(p.size), p.type, ...(guids ? [p.uuid ?? ''] : []), p.filesystem, p.label ?? '', p.fsUuid ?? '', p.flags.join(',')]);
  }
  for (const b of r.raw) rows.push(['raw', b.source, '', '', String(b.offset), formatSize(b.size), '', ...(guids ? [''] : []), '', '', '', '']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) lines.push(row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  return lines.join('\n');
}
