/** The codecs: one table (both sides), whole-file decompression, magic-number sniffing, sparse output. */
export { codecs, decoders, decompressFile, fileCodecs, type CodecName, type Decoder, type StreamCodec } from './registry.js';
export { sniffCompression, SNIFF_BYTES } from './sniff.js';
export { HOLE_BLOCK, type Decompressed, type Range } from './output.js';
export type { FileCodec, FrameCodec } from './types.js';
