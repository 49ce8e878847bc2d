import { DiskwrightError, show } from '../errors.js';

/**
 * GNU parted 3.x position semantics, so the NixOS presets land where make-disk-image's
 * `parted --script ... mkpart` puts them (docs/ARCHITECTURE.md §1 NixOS layouts). The presets
 * (spec/presets.ts) give `parted:` positions; layout.ts places them with these rules. Observed with
 * parted 3.5:
 * - exact units (s, B, KiB, MiB, GiB, TiB) name one sector; an end given in MiB/GiB/TiB is
 *   one sector earlier (parted's _adjust_end_if_iec), KiB and B are not adjusted;
 * - inexact units (kB, MB, GB, TB; "M", "G"; no unit = MB) allow +/- half a unit, and parted
 *   picks the 1 MiB-aligned sector nearest the value inside that range, or, when start or end
 *   cannot be aligned, the nearest free sector to the value;
 * - a negative number counts from the end of the disk ("-1" = 1 MB before the end).
 */
export interface PartedPos {
  /** Preferred sector. */
  v: number;
  lo: number;
  hi: number;
}

const EXACT: Record<string, number> = { s: -1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };
const INEXACT: Record<string, number> = { '': 1e6, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12 };

export function partedPosition(text: string, diskSectors: number, sectorSize: number, isEnd: boolean, path: string): PartedPos {
  const m = /^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) throw new DiskwrightError('E_SIZE', `bad position ${show(text)} (parted units: 512MiB, 256M, 1GiB ...)`, { path, value: text });
  const num = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  const exact = EXACT[unit];
  const inexact = INEXACT[unit];
  if (exact === undefined && inexact === undefined) throw new DiskwrightError('E_SIZE', `bad unit in ${show(text)}`, { path, value: text });
  const unitBytes = exact === -1 ? sectorSize : (exact ?? inexact!);
  const bytes = num * unitBytes;
  let v = num < 0 ? diskSectors + Math.round(bytes / sectorSize) : Math.floor(bytes / sectorSize);
  if (exact !== undefined) {
    if (isEnd && ['mib', 'gib', 'tib'].includes(unit)) v -= 1;
    return { v, lo: v, hi: v };
  }
  const radius = Math.max(0, Math.floor(Math.ceil(unitBytes / sectorSize) / 2) - 1);
  return { v, lo: v - radius, hi: v + radius };
}

/**
 * Place one partition as parted does with optimal (1 MiB) alignment. `free` is the free region
 * [firstFree, lastFree] of sectors the partition must lie in.
 */
export function partedPlace(start: PartedPos, end: PartedPos, firstFree: number, lastFree: number, grain: number): { first: number; last: number } | undefined {
  const sLo = Math.max(start.lo, firstFree), sHi = Math.min(start.hi, lastFree);
  const eLo = Math.max(end.lo, firstFree), eHi = Math.min(end.hi, lastFree);
  if (sLo > sHi || eLo > eHi) return undefined;
  const nearestAligned = (v: number, lo: number, hi: number, off: number): number | undefined => {
    // candidates k*grain + off within [lo, hi], nearest to v
    const below = Math.floor((v - off) / grain) * grain + off;
    const cands = [below, below + grain].filter((c) => c >= lo && c <= hi);
    if (cands.length === 0) {
      const first = Math.ceil((lo - off) / grain) * grain + off;
      return first <= hi ? first : undefined;
    }
    return cands.sort((a, b) => Math.abs(a - v) - Math.abs(b - v) || a - b)[0];
  };
  const s = nearestAligned(start.v, sLo, sHi, 0);
  const e = nearestAligned(end.v, eLo, eHi, grain - 1);
  if (s !== undefined && e !== undefined && s <= e) return { first: s, last: e };
  const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
  const first = clamp(start.v, sLo, sHi);
  const last = clamp(end.v, eLo, eHi);
  return first <= last ? { first, last } : undefined;
}
