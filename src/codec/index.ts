/** Whole-file decompression: the decoder table, magic-number sniffing, sparse output. */
export { decoders, decompressFile, type Decoder, type StreamCodec } from './registry.js';
export { sniffCompression, SNIFF_BYTES } from './sniff.js';
export { HOLE_BLOCK, type Decompressed, type Range } from './output.js';
