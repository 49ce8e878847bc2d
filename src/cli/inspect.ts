import type { CAC } from 'cac';
import { openRawImage } from '../inspect/source.js';
import { formatSize } from '../util/size.js';

/** `diskwright inspect IMG [--json] [--hash]` and `diskwright diff A B`. */
export function registerInspect(cli: CAC): void {
  cli
    .command('inspect <image>', 'Show the partition table, partitions and filesystems (ids, labels) of a raw image')
    .option('--json', 'Machine-readable output')
    .option('--hash', 'Include the sha256 of every partition')
    .action(async (image: string, flags: { json?: boolean; hash?: boolean }) => {
      const { inspectImage } = await import('../inspect/inspect.js');
      const src = openRawImage(image);
      try {
        const r = inspectImage(src, { hash: flags.hash === true });
        if (flags.json) { process.stdout.write(JSON.stringify(r, null, 2) + '\n'); return; }
        const lines = [`${image}: ${r.table} table, ${r.sectorSize}-byte sectors, ${formatSize(r.size)}${r.diskUuid ? `, disk GUID ${r.diskUuid}` : ''}${r.mbrId ? `, MBR id ${r.mbrId}` : ''}`];
        for (const p of r.partitions) {
          lines.push(`  ${p.number}: ${p.name ?? ''} offset ${p.offset} size ${formatSize(p.size)} type ${p.type}${p.uuid ? ` uuid ${p.uuid}` : ''}${p.bootable ? ' boot' : ''}`);
          lines.push(`     ${p.filesystem.type}${p.filesystem.label ? ` label "${p.filesystem.label}"` : ''}${p.filesystem.uuid ? ` uuid ${p.filesystem.uuid}` : ''}${p.sha256 ? ` sha256 ${p.sha256}` : ''}`);
        }
        if (r.filesystem) lines.push(`  ${r.filesystem.type}${r.filesystem.label ? ` label "${r.filesystem.label}"` : ''}${r.filesystem.uuid ? ` uuid ${r.filesystem.uuid}` : ''}`);
        for (const p of r.problems) lines.push(`  problem: ${p}`);
        process.stdout.write(lines.join('\n') + '\n');
      } finally {
        src.close();
      }
    });
  cli
    .command('diff <a> <b>', 'Compare two raw images partition by partition (table, ids, content hashes); exit 1 when they differ')
    .action(async (a: string, b: string) => {
      const { diffImages } = await import('../inspect/inspect.js');
      const sa = openRawImage(a), sb = openRawImage(b);
      try {
        const d = diffImages(sa, sb);
        if (d.length === 0) { process.stdout.write('identical\n'); return; }
        for (const l of d) process.stdout.write(`${l.what}: ${l.a} != ${l.b}\n`);
        process.exitCode = 1;
      } finally {
        sa.close(); sb.close();
      }
    });
}
