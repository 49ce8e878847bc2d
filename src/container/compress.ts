import type { Writable } from 'node:stream';

/**
 * Whole-output compression (DESIGN.md §1 compression). A compressor returns a Writable that
 * compresses into `out`; the emit stage writes the container through it.
 */
export interface Compressor {
  readonly name: string;
  /** Usual file suffix: '.zst', '.xz', '.gz', '.bz2'. */
  readonly suffix: string;
  create(out: Writable, level: number | undefined): Writable;
}

export const compressors: Compressor[] = [];

export function compressor(name: string): Compressor | undefined {
  return compressors.find((c) => c.name === name);
}
