import { chunks } from '../extent/read.js';
import { yieldToEventLoop } from './sink.js';
import type { ContainerWriter } from './types.js';

/** Raw: the disk bytes as they are; holes stay holes on a seekable sink. */
export const rawWriter: ContainerWriter = {
  async write(disk, sink, opts) {
    let n = 0;
    for (const c of chunks(disk)) {
      if (++n % 32 === 0) await yieldToEventLoop();
      opts.signal?.throwIfAborted();
      if (c.offset > sink.position) await sink.skip(c.offset - sink.position);
      await sink.write(c.data);
      opts.onProgress?.(sink.position, disk.size);
    }
    if (sink.position < disk.size) await sink.skip(disk.size - sink.position);
    opts.onProgress?.(disk.size, disk.size);
  },
};
