import { rawWriter } from './raw.js';
import type { ContainerWriter } from './types.js';

/** Container writers by format name (explicit array; aliases resolved by the spec layer). */
export const containers: readonly ContainerWriter[] = [rawWriter];

export function containerWriter(format: string): ContainerWriter | undefined {
  return containers.find((c) => c.format === format);
}
