/**
 * Fitting System Use entries into a directory record (SUSP 1.12 §4, §5.1): what fits in the
 * record's System Use field stays there; otherwise the record keeps its fixed entries (SP, PX, TF,
 * PN, CL/PL/RE, ZF) followed by a CE, and the rest (NM, SL, ER) goes to Continuation Areas. An area
 * never crosses a 2048-byte block (Linux reads one block per CE, fs/isofs/rock.c rock_continue),
 * and when the rest does not fit one block, areas are chained by a CE at the end of each.
 *
 * Planning measures (`splitSystemUse` with placeholder locations) and reserves the areas
 * (`CeAllocator`); encoding builds the same entries with the real locations and writes them into
 * the reserved places, so the sizes cannot differ between the two passes.
 *
 * @example
 * const split = splitSystemUse([px, tf], [...nm], 254 - 34);
 * const areas = split.areas.map((a) => ce.alloc(areaLength(split, i)));
 */
import { CE_LENGTH, entryCE } from './rrip.js';
import { SECTOR } from './structs.js';

/** Records are at most 254 bytes (255, rounded down to an even length: ECMA-119 9.1.13). */
export const MAX_RECORD = 254;

export interface SystemUseSplit {
  /** Entries in the record itself, before the CE (if any). */
  record: Uint8Array[];
  /** Continuation areas in order, each a list of entries (without the CE that chains to the next). */
  areas: Uint8Array[][];
}

function total(list: readonly Uint8Array[]): number {
  let n = 0;
  for (const e of list) n += e.length;
  return n;
}

/** Split entries for a record with `room` bytes of System Use field. */
export function splitSystemUse(fixed: Uint8Array[], flow: Uint8Array[], room: number): SystemUseSplit {
  if (total(fixed) + total(flow) <= room) return { record: [...fixed, ...flow], areas: [] };
  if (total(fixed) + CE_LENGTH > room) throw new Error(`iso9660: fixed system use entries (${total(fixed)} bytes) do not fit a record with ${room} bytes`);
  const areas: Uint8Array[][] = [];
  let area: Uint8Array[] = [];
  let len = 0;
  flow.forEach((e, i) => {
    const limit = i === flow.length - 1 ? SECTOR : SECTOR - CE_LENGTH;
    if (len + e.length > limit && area.length) { areas.push(area); area = []; len = 0; }
    area.push(e);
    len += e.length;
  });
  if (area.length) areas.push(area);
  return { record: fixed, areas };
}

/** Bytes of the System Use field in the record (with its CE). */
export function recordSuLength(s: SystemUseSplit): number {
  return total(s.record) + (s.areas.length ? CE_LENGTH : 0);
}

/** Bytes of area `i` (with the CE chaining to the next one). */
export function areaLength(s: SystemUseSplit, i: number): number {
  return total(s.areas[i]!) + (i < s.areas.length - 1 ? CE_LENGTH : 0);
}

/** A reserved Continuation Area: block index among the continuation blocks, offset in it, length. */
export interface AreaPlace {
  block: number;
  offset: number;
  length: number;
}

/** Hands out Continuation Areas packed into 2048-byte blocks, none crossing a block boundary. */
export class CeAllocator {
  blocks = 0;
  private used = SECTOR;
  alloc(length: number): AreaPlace {
    if (this.used + length > SECTOR) { this.blocks++; this.used = 0; }
    const place = { block: this.blocks - 1, offset: this.used, length };
    this.used += length;
    return place;
  }
  /** Reserve the areas of a split. */
  reserve(s: SystemUseSplit): AreaPlace[] {
    return s.areas.map((_, i) => this.alloc(areaLength(s, i)));
  }
}

/**
 * Write a split: the record's System Use field at `sua` (returns its length), and the areas into
 * `ceBuf` (the continuation blocks, block 0 at LBA `ceLba`).
 */
export function writeSystemUse(s: SystemUseSplit, places: readonly AreaPlace[], sua: Uint8Array, suaAt: number, ceBuf: Uint8Array, ceLba: number): number {
  let at = suaAt;
  for (const e of s.record) { sua.set(e, at); at += e.length; }
  if (s.areas.length) {
    if (places.length !== s.areas.length) throw new Error('iso9660: continuation areas changed between planning and encoding');
    const first = places[0]!;
    sua.set(entryCE(ceLba + first.block, first.offset, first.length), at);
    at += CE_LENGTH;
    s.areas.forEach((area, i) => {
      const p = places[i]!;
      if (areaLength(s, i) !== p.length) throw new Error('iso9660: a continuation area changed size between planning and encoding');
      let o = p.block * SECTOR + p.offset;
      for (const e of area) { ceBuf.set(e, o); o += e.length; }
      const next = places[i + 1];
      if (next) ceBuf.set(entryCE(ceLba + next.block, next.offset, next.length), o);
    });
  }
  return at - suaAt;
}
