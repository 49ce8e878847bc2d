import type { CAC } from 'cac';
import { DiskwrightError } from '../errors.js';
import type { DiffResult } from '../inspect/diff.js';
import type { InspectResult } from '../inspect/inspect.js';
import { formatSize } from '../util/size.js';

/**
 * Inspect or diff on a worker thread (see inspect-worker.ts): the main thread stays free for
 * SIGINT/SIGTERM however long the partitions take to hash. Errors come back as they were thrown.
 */
function onWorker(op: 'inspect', paths: string[], hash: boolean): Promise<InspectResult>;
function onWorker(op: 'diff', paths: string[], hash: boolean): Promise<DiffResult>;
async function onWorker(op: 'inspect' | 'diff', paths: string[], hash: boolean): Promise<unknown> {
  const { startWorker } = await import('../container/pool.js');
  return new Promise((resolve, reject) => {
    const w = startWorker(new URL('./inspect-worker.js', import.meta.url), { workerData: { op, paths, hash } });
    let settled = false;
    w.once('message', (m: { result?: unknown; error?: { name?: string; message: string; code?: unknown; syscall?: unknown; stack?: string } }) => {
      settled = true;
      if (!m.error) { resolve(m.result); return; }
      const e = m.error;
      if (e.name === 'DiskwrightError' && typeof e.code === 'string') reject(new DiskwrightError(e.code, e.message));
      else reject(Object.assign(new Error(e.message), { code: e.code, ...(e.syscall !== undefined ? { syscall: e.syscall } : {}), stack: e.stack }));
    });
    w.once('error', (e) => { settled = true; reject(e); });
    w.once('exit', (code) => { if (!settled) reject(new Error(`${op} worker exited with code ${code}`)); });
  });
}

/** `diskwright inspect IMG [--json] [--hash]` and `diskwright diff A B`. */
export function registerInspect(cli: CAC): void {
  cli
    .command('inspect <image>', 'Show the partition table, partitions and filesystems (ids, labels) of an image (raw, qcow2, VHD, VDI, VMDK; compressed or not)')
    .option('--json', 'Machine-readable output')
    .option('--hash', 'Include the sha256 of every partition')
    .action(async (image: string, flags: { json?: boolean; hash?: boolean }) => {
      const r = await onWorker('inspect', [image], flags.hash === true);
      if (flags.json) { process.stdout.write(JSON.stringify(r, null, 2) + '\n'); return; }
      const container = r.format && (r.format !== 'raw' || r.compression) ? `${[r.format, r.compression].filter(Boolean).join(' in ')}, ` : '';
      const lines = [`${image}: ${container}${r.table} table, ${r.sectorSize}-byte sectors, ${formatSize(r.size)}${r.diskUuid ? `, disk GUID ${r.diskUuid}` : ''}${r.mbrId ? `, MBR id ${r.mbrId}` : ''}`];
      for (const p of r.partitions) {
        lines.push(`  ${p.number}: ${p.name ?? ''} offset ${p.offset} size ${formatSize(p.size)} type ${p.type}${p.uuid ? ` uuid ${p.uuid}` : ''}${p.bootable ? ' boot' : ''}`);
        lines.push(`     ${p.filesystem.type}${p.filesystem.label ? ` label "${p.filesystem.label}"` : ''}${p.filesystem.uuid ? ` uuid ${p.filesystem.uuid}` : ''}${p.sha256 ? ` sha256 ${p.sha256}` : ''}`);
      }
      if (r.filesystem) lines.push(`  ${r.filesystem.type}${r.filesystem.label ? ` label "${r.filesystem.label}"` : ''}${r.filesystem.uuid ? ` uuid ${r.filesystem.uuid}` : ''}`);
      for (const p of r.problems) lines.push(`  problem: ${p}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
  cli
    .command('diff <a> <b>', 'Compare two images (any container): table, ids, partitions, then each added, removed or changed file; exit 0 when they hold the same, 1 when they differ')
    .option('--json', 'Machine-readable output')
    .action(async (a: string, b: string, flags: { json?: boolean }) => {
      const d = await onWorker('diff', [a, b], false);
      const same = d.lines.length === 0 && d.files.length === 0;
      if (flags.json) process.stdout.write(JSON.stringify({ identical: same, differences: d.lines, files: d.files.flatMap((p) => p.changes.map((c) => ({ partition: p.partition, ...c }))) }, null, 2) + '\n');
      else if (same) process.stdout.write('identical\n');
      else {
        const out = d.lines.map((l) => `${l.what}: ${l.a} != ${l.b}`);
        for (const p of d.files) for (const c of p.changes) out.push(`${p.partition ? `${p.partition} ` : ''}${c.path}: ${c.change}${c.what.length ? `: ${c.what.join(', ')}` : ''}`);
        process.stdout.write(out.join('\n') + '\n');
      }
      if (!same) process.exitCode = 1;
    });
}
