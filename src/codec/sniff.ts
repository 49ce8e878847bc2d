import { decoders, type StreamCodec } from './registry.js';

/** The longest magic number: read at least this many bytes to sniff. */
export const SNIFF_BYTES = Math.max(...Object.values(decoders).map((d) => d.magic.length));

/** The codec whose magic number `head` (the file's first bytes) starts with, if any. */
export function sniffCompression(head: Uint8Array): StreamCodec | undefined {
  for (const d of Object.values(decoders)) {
    if (head.length >= d.magic.length && d.magic.every((b, i) => head[i] === b)) return d.name;
  }
  return undefined;
}
