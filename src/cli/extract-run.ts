/**
 * What `extract` runs (loaded by its action): the target is written under a temporary name beside
 * it and renamed into place when complete; on any failure or signal it is removed.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pace, registerTemporary } from '../container/sink.js';
import { DiskwrightError } from '../errors.js';
import { extractToDir, extractToTar, type ExtractCounts, type ExtractOptions } from '../inspect/extract.js';
import { fdSink } from '../inspect/tarout.js';
import { openTarget } from './files.js';

export async function runExtract(image: string, path: string, output: string | undefined, quiet: boolean, signal: AbortSignal): Promise<void> {
  if (!output) throw new DiskwrightError('E_USAGE', 'extract needs -o DIR or -o FILE.tar', { path: '--output' });
  const toTar = output === '-' || output.endsWith('.tar');
  const target = output === '-' ? '-' : resolve(output);
  if (target !== '-') {
    let st;
    try { st = statSync(target); } catch { /* does not exist: fine */ }
    if (st && (toTar || !st.isDirectory() || readdirSync(target).length > 0)) {
      throw new DiskwrightError('E_OUTPUT_EXISTS', `${output} exists${st.isDirectory() ? ' and is not empty' : ''}: extract writes a new ${toTar ? 'file' : 'directory'} (remove it or choose another)`, { path: '--output', value: output });
    }
  }
  const t = await openTarget(image, path, true);
  const root = process.getuid?.() === 0;
  const warnings: string[] = [];
  const o: ExtractOptions = { image, owners: root, devices: root, tick: () => pace(signal), onWarning: (m) => warnings.push(m) };
  let counts: ExtractCounts;
  try {
    if (target === '-') counts = await extractToTar(t.fs, t.node, t.name, stdoutSink, o);
    else {
      // A temporary name beside the target, removed on failure or signal.
      const tmpDir = mkdtempSync(join(dirname(target), `.${basename(target)}.`));
      const forget = registerTemporary(tmpDir);
      try {
        const tmp = join(tmpDir, 'out');
        if (toTar) {
          const fd = openSync(tmp, 'wx', 0o644);
          try { counts = await extractToTar(t.fs, t.node, t.name, fdSink(fd), o); } finally { closeSync(fd); }
        } else {
          counts = await extractToDir(t.fs, t.node, t.name, tmp, o);
        }
        try { rmdirSync(target); } catch { /* did not exist */ }
        renameSync(tmp, target);
      } finally {
        rmSync(tmpDir, { recursive: true, force: true });
        forget();
      }
    }
  } finally {
    t.src.close();
  }
  for (const w of warnings.slice(0, 20)) process.stderr.write(`diskwright: warning: ${w}\n`);
  if (warnings.length > 20) process.stderr.write(`diskwright: warning: ${warnings.length - 20} more\n`);
  if (!quiet && target !== '-') {
    process.stderr.write(`extracted ${t.path} from ${t.volume.what} of ${image} to ${output}: ${counts.files} files (${counts.bytes} bytes), ${counts.dirs} directories, ${counts.symlinks} symlinks, ${counts.hardlinks} hard links, ${counts.devices} devices${counts.skipped ? `, ${counts.skipped} skipped` : ''}\n`);
  }
}

/** Standard output, waiting for it to drain (a slow reader holds the extraction back). */
function stdoutSink(b: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => { process.stdout.write(b, (e) => (e ? reject(e) : resolve())); });
}
