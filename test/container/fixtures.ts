import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveBytes } from '../../src/util/ids.js';
import { VolumeBuilder, type Volume } from '../../src/extent/extent.js';

/** Deterministic pseudo-random bytes, half of each 4 KiB compressible (text), half not. */
export function pattern(length: number, salt: string): Uint8Array {
  const out = new Uint8Array(length);
  let block = 0;
  for (let off = 0; off < length; off += 32, block++) {
    const h = createHash('sha256').update(`${salt}:${block}`).digest();
    if ((off >> 12) & 1) h.fill(0x41 + (block % 26));
    out.set(h.subarray(0, Math.min(32, length - off)), off);
  }
  return out;
}

export interface Fixture { name: string; volume: Volume }

/**
 * Test disks built directly as extent lists: metadata bytes, file ranges, fills and holes, an
 * unaligned size, data at the very end, and a >4 GiB sparse disk.
 */
export function fixtures(dir: string): Fixture[] {
  const file = join(dir, 'input.bin');
  const fileData = pattern(3 << 20, 'file');
  writeFileSync(file, fileData);

  const small = new VolumeBuilder();
  const smallSize = (40 << 20) + 12345;
  small.addBytes(0, pattern(1000, 'mbr'));
  small.addFile((1 << 20) + 100, file, 7, fileData.length - 7, fileData.length);
  small.addFill(10 << 20, 70000, 0xaa);
  small.addBytes((12 << 20) + 65536 - 10, pattern(20, 'straddle'));
  small.addBytes((20 << 20), new Uint8Array(65536)); // an extent of zero bytes
  small.addBytes((30 << 20) + 4000, deriveBytes('fixture', 'incompressible', 200_000)); // clusters that do not shrink
  small.addBytes(smallSize - 777, pattern(777, 'tail'));

  const big = new VolumeBuilder();
  const bigSize = 5 * 1024 * 1024 * 1024 + 4096;
  big.addBytes(0, pattern(4096, 'big-head'));
  big.addFile(4 * 1024 * 1024 * 1024 + 3000, file, 0, 1 << 20, fileData.length);
  big.addBytes(bigSize - 512, pattern(512, 'big-tail'));

  const empty = new VolumeBuilder();
  return [
    { name: 'small', volume: small.finish(smallSize) },
    { name: 'big', volume: big.finish(bigSize) },
    { name: 'empty', volume: empty.finish(8 << 20) },
  ];
}
