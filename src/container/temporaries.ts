/**
 * What this process has put on disk and must take away if it is interrupted: temporary outputs
 * (the file a FileSink renames into place, scratch files and directories), the directories made
 * for an output, and the block devices being written in place. Kept apart from sink.ts so that
 * the CLI's signal handlers (src/cli/signals.ts), installed first, load nothing else: no streams,
 * no crypto (docs/ARCHITECTURE.md §6, start-up).
 *
 * @example
 * const forget = registerTemporary(scratch); // removed on SIGINT/SIGTERM or exit
 * forget(); // it was removed (or renamed into place) by its owner
 */
import { rmdirSync, rmSync } from 'node:fs';

/** Temporary outputs alive in this process, removed if the process is interrupted. */
export const liveTemps = new Set<string>();
/** Output directories created for temporaries still alive (each list outermost first). */
export const liveDirs: string[][] = [];
/** Block devices being written in place: an interrupted build leaves them partly overwritten. */
export const devicesInWriting = new Set<string>();

/** Remove directories created for an output, innermost first, stopping at the first not empty. */
export function removeDirs(dirs: readonly string[]): void {
  for (let i = dirs.length - 1; i >= 0; i--) { try { rmdirSync(dirs[i]!); } catch { return; } }
}

/** The output owning `dirs` is complete or removed: its directories are no longer to be removed. */
export function forgetDirs(dirs: string[]): void {
  const i = liveDirs.indexOf(dirs);
  if (i >= 0) liveDirs.splice(i, 1);
}

/** The block devices an interruption now would leave partly written (for the CLI's message). */
export function devicesPartlyWritten(): string[] {
  return [...devicesInWriting];
}

/** Register a temporary file or directory (removed with its contents) for removal on exit or signal. */
export function registerTemporary(path: string): () => void {
  liveTemps.add(path);
  return () => { liveTemps.delete(path); };
}

/** Remove every temporary output of this process (the CLI calls this on SIGINT/SIGTERM). */
export function removeTemporaryOutputs(): void {
  for (const t of liveTemps) { try { rmSync(t, { force: true, recursive: true }); } catch { /* ignore */ } }
  liveTemps.clear();
  for (const dirs of liveDirs) removeDirs(dirs);
  liveDirs.length = 0;
}
process.once('exit', removeTemporaryOutputs);
