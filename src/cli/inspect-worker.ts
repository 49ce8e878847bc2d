/**
 * Runs `inspect --hash` and `diff` on a worker thread (cli/inspect.ts): hashing reads whole
 * partitions synchronously, and on the main thread it would hold off SIGINT/SIGTERM until done
 * (a partition entry claiming 2^40 sectors kept it busy for minutes). The main thread only waits,
 * so its signal handlers run at once; process.exit ends this thread with it. Images of every
 * container and compression are opened as virtual disks (container/read/open.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { diffImages } from '../inspect/diff.js';
import { inspectImage } from '../inspect/inspect.js';
import { openDisk } from '../container/read/open.js';
import { diskSource, type ImageSource } from '../inspect/source.js';

const { op, paths, hash } = workerData as { op: 'inspect' | 'diff'; paths: string[]; hash: boolean };
const sources: ImageSource[] = [];
try {
  for (const p of paths) sources.push(diskSource(await openDisk(p)));
  const result = op === 'inspect' ? inspectImage(sources[0]!, { hash }) : diffImages(sources[0]!, sources[1]!, { a: paths[0]!, b: paths[1]! });
  parentPort!.postMessage({ result });
} catch (e) {
  const err = e as Error & { code?: unknown; syscall?: unknown };
  parentPort!.postMessage({ error: { name: err?.name, message: err?.message ?? String(e), code: err?.code, syscall: err?.syscall, stack: err?.stack } });
} finally {
  for (const s of sources) s.close();
}
