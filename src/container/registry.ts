import { qcow2CompressedWriter } from './qcow2/compressed.js';
import { qcow2Writer } from './qcow2/writer.js';
import { rawWriter } from './raw.js';
import type { ContainerWriter } from './types.js';
import { vdiWriter } from './vdi.js';
import { vhdFixedWriter, vhdWriter } from './vhd.js';
import { vmdkWriter } from './vmdk.js';

/** Container writers by format name (explicit array). */
export const containers: readonly ContainerWriter[] = [rawWriter, qcow2Writer, qcow2CompressedWriter, vhdWriter, vhdFixedWriter, vdiWriter, vmdkWriter];

/** Other names of formats (qemu-img's names). */
export const formatAliases: Readonly<Record<string, string>> = { vpc: 'vhd' };

export function containerWriter(format: string): ContainerWriter | undefined {
  const name = formatAliases[format] ?? format;
  return containers.find((c) => c.format === name);
}
