import { createHash } from 'node:crypto';

/**
 * Seeded, deterministic pseudo-random bytes for test and benchmark fixtures: the same seed gives
 * the same bytes on every run and host, so a failure reproduces (never `randomBytes`,
 * `Math.random` or `crypto.getRandomValues` in fixtures). The generator is mulberry32 (32-bit
 * state, full period 2^32): fast, not cryptographic, which fixtures do not need.
 *
 * @example
 * const rand = prng(42); // or prng('kernel'): a string seed is hashed to 32 bits
 * writeFileSync('blob.bin', rand.bytes(4096));
 * const n = rand.int(10); // 0..9
 */
export interface Prng {
  /** The next 32-bit unsigned integer. */
  u32(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** `n` bytes. */
  bytes(n: number): Buffer;
}

export function prng(seed: number | string): Prng {
  let s = typeof seed === 'string' ? createHash('sha256').update(seed).digest().readUInt32LE(0) : seed >>> 0;
  const u32 = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    u32,
    int: (n) => Math.floor((u32() / 2 ** 32) * n),
    bytes(n) {
      const b = Buffer.allocUnsafe(n);
      let i = 0;
      for (; i + 4 <= n; i += 4) b.writeUInt32LE(u32(), i);
      if (i < n) { const last = u32(); for (let k = 0; i < n; i++, k++) b[i] = (last >>> (8 * k)) & 0xff; }
      return b;
    },
  };
}
