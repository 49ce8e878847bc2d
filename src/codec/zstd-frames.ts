/**
 * A walker over zstd's frame, skippable-frame and block headers (RFC 8878 §3.1), fed the compressed
 * bytes as they pass: it tells where each frame ends, with its content checksum and declared size,
 * so the decoder (which checks neither) can be verified frame by frame.
 */
export interface FrameEnd { end: number; checksum?: number; contentSize?: number }

/** Follows zstd frame, skippable-frame and block headers over the compressed bytes as they pass. */
export class ZstdFrames {
  readonly finished: FrameEnd[] = [];
  /** Bytes collected for the header being read. */
  private head: number[] = [];
  /** What the next bytes are. */
  private state: 'magic' | 'fhd' | 'frameHeader' | 'skipSize' | 'skip' | 'blockHeader' | 'blockBody' | 'checksum' = 'magic';
  private need = 4;
  private hasChecksum = false;
  private contentSize: number | undefined;
  private lastBlock = false;
  private fcsBytes = 0;

  /**
   * How many bytes may go to the decoder at once: headers are handed over alone (so a frame's
   * end is known before it passes), a block body whole, the last one with the frame's checksum.
   * A push never crosses a frame's end.
   */
  untilFrameEnd(): number {
    if (this.state === 'blockBody') return this.need + (this.lastBlock && this.hasChecksum ? 4 : 0);
    if (this.state === 'skip') return this.need;
    return this.need - this.head.length;
  }

  atBoundary(): boolean {
    return this.state === 'magic' && this.head.length === 0;
  }

  feed(b: Uint8Array, at: number): void {
    let i = 0;
    while (i < b.length) {
      if (this.state === 'skip' || this.state === 'blockBody') {
        const k = Math.min(this.need, b.length - i);
        this.need -= k;
        i += k;
        if (this.need === 0) this.next(at + i);
        continue;
      }
      this.head.push(b[i++]!);
      if (this.head.length === this.need) this.next(at + i);
    }
  }

  private next(at: number): void {
    const h = this.head;
    switch (this.state) {
      case 'magic': {
        const m = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
        this.head = [];
        if (m === 0xfd2fb528) { this.state = 'fhd'; this.need = 1; return; }
        if ((m & 0xfffffff0) === 0x184d2a50) { this.state = 'skipSize'; this.need = 4; return; }
        throw new Error(`no zstd frame at compressed byte ${at - 4}`);
      }
      case 'fhd': {
        const fhd = h[0]!;
        this.hasChecksum = ((fhd >> 2) & 1) === 1;
        const single = (fhd >> 5) & 1;
        const fcs = fhd >> 6;
        const size = (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + [single, 2, 4, 8][fcs]!;
        this.contentSize = undefined;
        this.fcsBytes = [single, 2, 4, 8][fcs]!;
        if (size === 0) { this.head = []; this.state = 'blockHeader'; this.need = 3; return; }
        this.state = 'frameHeader'; this.need = size + 1; // keep the FHD byte in head
        return;
      }
      case 'frameHeader': {
        const n = this.fcsBytes;
        if (n > 0) {
          let v = 0;
          for (let k = 0; k < n; k++) v += h[h.length - n + k]! * 2 ** (8 * k);
          this.contentSize = n === 2 ? v + 256 : v;
        }
        this.head = []; this.state = 'blockHeader'; this.need = 3;
        return;
      }
      case 'skipSize': {
        const size = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
        this.head = [];
        if (size === 0) { this.state = 'magic'; this.need = 4; return; }
        this.state = 'skip'; this.need = size;
        return;
      }
      case 'skip':
        this.state = 'magic'; this.need = 4;
        return;
      case 'blockHeader': {
        const v = h[0]! | (h[1]! << 8) | (h[2]! << 16);
        this.head = [];
        this.lastBlock = (v & 1) === 1;
        const type = (v >> 1) & 3;
        if (type === 3) throw new Error(`reserved zstd block type at compressed byte ${at - 3}`);
        const body = type === 1 ? 1 : v >>> 3;
        if (body === 0) { this.afterBlock(at); return; }
        this.state = 'blockBody'; this.need = body;
        return;
      }
      case 'blockBody':
        this.afterBlock(at);
        return;
      case 'checksum': {
        const sum = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
        this.head = [];
        this.endFrame(at, sum);
        return;
      }
    }
  }

  private afterBlock(at: number): void {
    if (!this.lastBlock) { this.state = 'blockHeader'; this.need = 3; return; }
    if (this.hasChecksum) { this.state = 'checksum'; this.need = 4; return; }
    this.endFrame(at, undefined);
  }

  private endFrame(at: number, checksum: number | undefined): void {
    const f: FrameEnd = { end: at };
    if (checksum !== undefined) f.checksum = checksum;
    if (this.contentSize !== undefined) f.contentSize = this.contentSize;
    this.finished.push(f);
    this.state = 'magic'; this.need = 4;
  }
}
