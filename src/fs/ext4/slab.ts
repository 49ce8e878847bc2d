/**
 * Zeroed blocks carved out of large shared buffers: a tree with 100,000 directories and inodes
 * needs that many small metadata buffers, and one ArrayBuffer each costs allocation and GC time.
 */
export class BlockSlab {
  private slab = new Uint8Array(0);
  private used = 0;
  constructor(private readonly slabSize = 1 << 20) {}

  /** A fresh zeroed `size`-byte buffer (a view into a shared slab). */
  take(size: number): Uint8Array {
    if (size > this.slabSize) return new Uint8Array(size);
    if (this.used + size > this.slab.length) {
      this.slab = new Uint8Array(this.slabSize);
      this.used = 0;
    }
    const out = this.slab.subarray(this.used, this.used + size);
    this.used += size;
    return out;
  }
}
